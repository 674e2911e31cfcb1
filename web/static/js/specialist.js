/**
 * The specialist's queue: requests arrive live with their waiting time; the first
 * to accept gets the consult and the others see it taken. The page is on duty
 * (on_duty.js): it keeps the login while open and locks its screen when nobody uses
 * it, still ringing; an emergency rings again every few seconds until someone sees it.
 * @module specialist
 */
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";
import { connect } from "./live.js";
import { joinButton, recordButton, refreshWaits, remove, syncClock, upsert } from "./consults_view.js";
import { askForSound, notify, ring, setUpNotifications } from "./notify.js";
import { goOnDuty } from "./on_duty.js";
import { watchBookings } from "./booking_reminders.js";
import { prefetchNext } from "./prefetch.js";

const queue = /** @type {HTMLElement} */ (document.getElementById("queue"));
/** An emergency rings again this often until someone at the page has seen it. */
const EMERGENCY_REPEAT_MS = 10_000;
/** Emergency requests nobody at the page has seen yet (by id). */
const unseenEmergencies = new Set();

const duty = goOnDuty({
  screen: /** @type {HTMLElement} */ (document.querySelector('[data-testid="lock-screen"]')),
  content: /** @type {HTMLElement} */ (document.querySelector("[data-on-duty]")),
  counts: () => ({
    waiting: queue.querySelectorAll('li[data-state="requested"]').length,
    emergencies: queue.querySelectorAll('li.urgency-emergency[data-state="requested"]').length,
  }),
});

/** @param {HTMLElement} actions @param {any} consult */
function actionsFor(actions, consult) {
  if (consult.state === "requested") {
    const accept = document.createElement("button");
    accept.className = "primary";
    accept.dataset.testid = "accept-consult";
    accept.textContent = t("consult.accept");
    accept.addEventListener("click", () => acceptConsult(consult.id, accept));
    actions.append(accept);
  }
  if (consult.can_join) actions.append(joinButton(consult.id));
  if (consult.mine) actions.append(recordButton(consult.id));
  if (consult.state === "accepted" && consult.mine) {
    const cancel = document.createElement("button");
    cancel.textContent = t("consult.cancel");
    cancel.addEventListener("click", () => cancelConsult(consult.id));
    actions.append(cancel);
  }
}

/** @param {number} id @param {HTMLButtonElement} button */
async function acceptConsult(id, button) {
  button.disabled = true;
  try {
    const { consult } = await api(`/api/consults/${id}/accept`, { method: "POST" });
    const li = upsert(queue, consult, actionsFor);
    // The accept button is gone: keep the keyboard on the next step (join the room).
    /** @type {HTMLElement|null} */ (li.querySelector('[data-testid="join-room"]') ?? li)?.focus();
  } catch (error) {
    const err = /** @type {any} */ (error);
    const li = queue.querySelector(`[data-consult-id="${id}"]`);
    const note = document.createElement("p");
    note.className = "error";
    note.dataset.testid = "consult-taken";
    note.textContent = errorText(err);
    li?.querySelector(".actions")?.replaceChildren(note);
  }
}

/** @param {number} id */
async function cancelConsult(id) {
  const { consult } = await api(`/api/consults/${id}/cancel`, { method: "POST" });
  upsert(queue, consult, actionsFor);
}

/** Show a consult someone else took, then let it fade from the queue. @param {any} consult */
function markTaken(consult) {
  const li = queue.querySelector(`[data-consult-id="${consult.id}"]`);
  if (!(li instanceof HTMLElement)) return;
  li.dataset.state = consult.state;
  const status = li.querySelector('[data-testid="consult-status"]');
  if (status instanceof HTMLElement) {
    status.dataset.state = consult.state === "accepted" ? "taken" : consult.state;
    status.textContent = consult.state === "accepted" ? t("state.taken") : t("state." + consult.state);
  }
  li.querySelector(".actions")?.replaceChildren();
  setTimeout(() => remove(queue, consult.id), 15000);
}

async function load() {
  const { consults, server_now } = await api("/api/consults");
  syncClock(server_now);
  for (const consult of consults.reverse()) upsert(queue, consult, actionsFor);
}

const socket = connect();
watchBookings(
  socket,
  document.querySelector('[data-testid="booking-reminders"]'),
  document.querySelector('[data-testid="booking-today"]'),
);
socket.on("consult:update", ({ consult, server_now }) => {
  syncClock(server_now);
  const known = queue.querySelector(`[data-consult-id="${consult.id}"]`);
  if (consult.gone) markTaken(consult);
  else upsert(queue, consult, actionsFor);
  if (!known && consult.state === "requested") notify(t("notify.new_request"));
  else if (!known && consult.invited) notify(t("notify.invited"));
  if (consult.state === "requested" && consult.urgency === "emergency" && !consult.gone) {
    if (!known) unseenEmergencies.add(consult.id);
  } else {
    unseenEmergencies.delete(consult.id);
  }
  duty.changed();
});
// Seen: someone used the unlocked page.
for (const kind of ["pointerdown", "keydown"]) {
  document.addEventListener(kind, () => {
    if (!duty.locked()) unseenEmergencies.clear();
  });
}
setInterval(() => {
  if (unseenEmergencies.size) ring();
}, EMERGENCY_REPEAT_MS);
askForSound(document.querySelector('[data-testid="sound-enable"]'));
setUpNotifications(document.querySelector('[data-testid="notify-enable"]'));
socket.on("connect", load);
setInterval(() => refreshWaits(queue), 1000);
prefetchNext();
