/**
 * The clinician's page: file a request, follow every request's status live: where it
 * went and who is on duty there, its escalations and the time left (waiting.js); an
 * expired one rings and can be filed again as it was. An accepted request's way into
 * the room is the first thing on the page (on a phone too).
 * @module clinician
 */
import { uploadFile } from "./upload.js";
import { api } from "./api.js";
import { errorText, sizeText, t } from "./i18n.js";
import { connect } from "./live.js";
import { joinButton, recordButton, refreshWaits, syncClock, upsert } from "./consults_view.js";
import { notify, setUpNotifications } from "./notify.js";
import { watchBookings } from "./booking_reminders.js";
import { redraw, refreshReach, watchWaits } from "./waiting.js";
import { checkRequired, clearFieldErrors, showFieldErrors, unmarkWhenChanged } from "./forms.js";
import { checkedFor, runWaitCheck } from "./wait_check.js";
import { fetchRoomAhead, prefetchNext } from "./prefetch.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("new-consult"));
const list = /** @type {HTMLElement} */ (document.getElementById("my-consults"));
const formError = /** @type {HTMLElement} */ (form.querySelector('[data-testid="form-error"]'));
const ready = /** @type {HTMLElement} */ (document.querySelector('[data-testid="ready-banner"]'));
/** "Gửi lại" is offered on a request that expired or was cancelled within this long. */
const REFILE_WITHIN_S = 24 * 3600;
/** The API's names for the request's fields, as the form names them. */
const FIELDS = /** @type {Record<string, string>} */ ({
  specialty: "specialty",
  urgency: "urgency",
  patient: "patient_name",
  "patient.name": "patient_name",
  "patient.birth_year": "patient_age_or_year",
  "patient.age": "patient_age_or_year",
  "patient.sex": "patient_sex",
  "patient.national_id": "patient_national_id",
  "patient.insurance_number": "patient_insurance_number",
  "patient.record_number": "patient_record_number",
  summary: "summary",
  consent: "consent",
});
const waitCheck = /** @type {HTMLElement} */ (document.querySelector('[data-testid="wait-check"]'));
/** The request the check while waiting is for (one per page). */
let checking = 0;

/**
 * A request of ours waits: run the call's check now, so an accept can take us in.
 * @param {number} id
 */
async function checkWhileWaiting(id) {
  if (checking) return;
  const reach = await refreshReach(list, id);
  if (!reach?.check_token || checking) return;
  checking = id;
  runWaitCheck(waitCheck, { socket, consultId: id, token: reach.check_token }).catch((e) => console.warn("check", e));
}

/** The joinable consults (accepted or in session), by id: the banner shows the newest. */
const joinable = new Map();

/** @param {HTMLElement} actions @param {any} consult */
function actionsFor(actions, consult) {
  if (consult.can_join) actions.append(joinButton(consult.id));
  if (consult.mine) actions.append(recordButton(consult.id));
  // A request nobody took today can be filed again as it was (not last month's).
  const recent = Date.now() / 1000 - consult.created_at < REFILE_WITHIN_S;
  if (consult.mine && recent && (consult.state === "expired" || consult.state === "cancelled")) {
    const again = document.createElement("button");
    again.className = consult.state === "expired" ? "primary" : "";
    again.textContent = t("request.refile");
    again.dataset.testid = "refile-request";
    again.addEventListener("click", () => refile(consult.id, again));
    actions.append(again);
  }
  if (consult.state === "requested" || consult.state === "accepted") {
    const cancel = document.createElement("button");
    cancel.textContent = t("consult.cancel");
    cancel.dataset.testid = "cancel-consult";
    cancel.addEventListener("click", () => cancelConsult(consult.id));
    actions.append(cancel);
  }
}

/** @param {number} id */
async function cancelConsult(id) {
  try {
    const { consult } = await api(`/api/consults/${id}/cancel`, { method: "POST" });
    show(consult);
  } catch (error) {
    showError(errorText(/** @type {any} */ (error)));
  }
}

/** File a request nobody took again, as it was. @param {number} id @param {HTMLButtonElement} button */
async function refile(id, button) {
  button.disabled = true;
  try {
    const { consult } = await api(`/api/consults/${id}/refile`, { method: "POST" });
    show(consult).focus();
  } catch (error) {
    showError(errorText(/** @type {any} */ (error)));
    button.disabled = false;
  }
}

/**
 * Draw a consult in the list (and what is known of its reach), and keep the way into
 * an accepted one at the top of the page.
 * @param {any} consult
 */
function show(consult) {
  const li = upsert(list, consult, actionsFor);
  // An older copy than the one shown (a slow reply after a live update, on 3G) changes
  // nothing: it once took the accepted request out of the banner.
  if (Number(li.dataset.version) !== Number(consult.version)) return li;
  redraw(li, consult);
  if (consult.can_join && !consult.gone) joinable.set(consult.id, consult);
  else joinable.delete(consult.id);
  showReady();
  return li;
}

function showReady() {
  const newest = [...joinable.values()].sort((a, b) => b.id - a.id)[0];
  ready.hidden = !newest;
  if (!newest) return;
  const text = document.createElement("span");
  text.textContent = t("ready.accepted", { id: newest.id, name: newest.specialist ?? "" });
  ready.replaceChildren(text, " ", joinButton(newest.id));
  fetchRoomAhead(`/consults/${newest.id}/room`);
}

/** @param {string} text */
function showError(text) {
  formError.textContent = text;
  formError.hidden = !text;
}

/**
 * The patient's fields as the API takes them: one box holds a year of birth (4 digits)
 * or an age (fewer), as a clinician would write either.
 * @param {FormData} data
 */
function patientOf(data) {
  const text = (/** @type {string} */ (data.get("patient_age_or_year") ?? "")).trim();
  const when = text.length === 4 ? { birth_year: text } : { age: text };
  return {
    name: data.get("patient_name"),
    sex: data.get("patient_sex"),
    ...when,
    national_id: data.get("patient_national_id"),
    insurance_number: data.get("patient_insurance_number"),
    record_number: data.get("patient_record_number"),
  };
}

/**
 * The images chosen with the request, sent once it is filed (one after another, with
 * progress: the link may be slow). A file that fails is said so; the request stands
 * and the file can be sent again from the room.
 * @param {number} consultId @param {File[]} chosen
 */
async function sendFiles(consultId, chosen) {
  const status = /** @type {HTMLElement} */ (form.querySelector('[data-testid="attach-status"]'));
  const failed = [];
  for (const file of chosen) {
    status.textContent = t("files.uploading", { name: file.name, percent: 0 });
    try {
      await uploadFile(consultId, file, (fraction) => {
        status.textContent = t("files.uploading", { name: file.name, percent: Math.round(fraction * 100) });
      });
    } catch (error) {
      failed.push(t("files.failed", { name: file.name, reason: errorText(/** @type {any} */ (error), { size: sizeText(file.size) }) }));
    }
  }
  status.textContent = failed.join(" ") || (chosen.length ? t("files.sent", { name: chosen.map((f) => f.name).join(", ") }) : "");
}

/**
 * Everything the page can see is wrong, at once: empty required fields, and files
 * larger than a file may be (their name, size and the limit).
 * @param {FormData} data @returns {Record<string, string>}
 */
function checkHere(data) {
  const found = checkRequired(form);
  const input = /** @type {HTMLInputElement} */ (form.querySelector('[data-testid="attach-file"]'));
  const limit = Number(input.dataset.maxMib) * 1024 * 1024;
  const tooLarge = /** @type {File[]} */ (data.getAll("files")).filter((f) => f instanceof File && limit && f.size > limit);
  if (tooLarge.length) {
    found.files = tooLarge
      .map((f) => t("files.failed", {
        name: f.name,
        reason: errorText({ code: "file_too_large", params: { limit: `${input.dataset.maxMib} MiB` } }, { size: sizeText(f.size) }),
      }))
      .join(" ");
  }
  return found;
}

async function submitRequest(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  showError("");
  const data = new FormData(form);
  const here = checkHere(data);
  if (Object.keys(here).length) {
    showError(showFieldErrors(form, here).join(" "));
    return;
  }
  clearFieldErrors(form);
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
  button.disabled = true;
  try {
    const { consult } = await api("/api/consults", {
      method: "POST",
      body: {
        specialty: data.get("specialty"),
        urgency: data.get("urgency"),
        summary: data.get("summary"),
        patient: patientOf(data),
        consent: data.get("consent") === "on",
      },
    });
    const li = show(consult);
    checkWhileWaiting(consult.id);
    const chosen = /** @type {File[]} */ (data.getAll("files")).filter((f) => f instanceof File && f.size > 0);
    form.reset();
    await sendFiles(consult.id, chosen);
    // Focus stays with what was just filed (it would fall to <body> with the button).
    li.focus();
  } catch (error) {
    const err = /** @type {any} */ (error);
    if (err?.fields) {
      /** @type {Record<string, any>} */
      const byName = {};
      for (const [name, problem] of Object.entries(err.fields)) byName[FIELDS[name] ?? name] = problem;
      showError(showFieldErrors(form, byName).join(" "));
    } else {
      showError(errorText(err));
    }
  } finally {
    button.disabled = false;
  }
}

async function load() {
  const { consults, server_now } = await api("/api/consults");
  syncClock(server_now);
  const waiting = consults.filter((c) => c.state === "requested" && c.mine).sort((a, b) => b.id - a.id);
  for (const consult of consults.reverse()) show(consult);
  // The newest waiting request's reach comes with its check (one request, not two).
  for (const consult of waiting.slice(1)) refreshReach(list, consult.id);
  if (waiting[0]) {
    if (checking) refreshReach(list, waiting[0].id);
    else checkWhileWaiting(waiting[0].id);
  }
}

form.addEventListener("submit", submitRequest);
unmarkWhenChanged(form);
// Disabled in the page until this script runs: the form never submits natively.
/** @type {HTMLButtonElement} */ (form.querySelector('[data-testid="consult-submit"]')).disabled = false;
const socket = connect();
watchBookings(socket, document.querySelector('[data-testid="booking-reminders"]'));
socket.on("consult:update", ({ consult, server_now }) => {
  syncClock(server_now);
  const before = list.querySelector(`[data-consult-id="${consult.id}"]`);
  const was = before instanceof HTMLElement ? before.dataset.state : undefined;
  const tier = before instanceof HTMLElement ? Number(before.dataset.tier ?? 0) : 0;
  if (!consult.gone) show(consult);
  if (was === "requested" && consult.state === "accepted") {
    notify(t("notify.accepted"));
    // Checked a few minutes ago while waiting: straight into the call.
    if (consult.mine && checkedFor(consult.id, { chosen: true })) window.location.assign(`/consults/${consult.id}/room`);
  }
  if (was === "requested" && consult.state === "expired") notify(t("notify.expired"));
  if (consult.state === "requested" && consult.mine) {
    // An escalation reached further: say so, and show where.
    if (before && consult.tier > tier) notify(t("notify.escalated"));
    refreshReach(list, consult.id);
  }
});
watchWaits(list);
setUpNotifications(document.querySelector('[data-testid="notify-enable"]'));
socket.on("connect", load);
setInterval(() => refreshWaits(list), 1000);
prefetchNext();
