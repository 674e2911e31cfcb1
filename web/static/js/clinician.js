/**
 * The clinician's page: file a request, follow every request's status live.
 * @module clinician
 */
import { uploadFile } from "./upload.js";
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";
import { connect } from "./live.js";
import { joinButton, recordButton, refreshWaits, syncClock, upsert } from "./consults_view.js";
import { notify, setUpNotifications } from "./notify.js";
import { watchBookings } from "./booking_reminders.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("new-consult"));
const list = /** @type {HTMLElement} */ (document.getElementById("my-consults"));
const formError = /** @type {HTMLElement} */ (form.querySelector('[data-testid="form-error"]'));

/** @param {HTMLElement} actions @param {any} consult */
function actionsFor(actions, consult) {
  if (consult.can_join) actions.append(joinButton(consult.id));
  if (consult.mine) actions.append(recordButton(consult.id));
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
    upsert(list, consult, actionsFor);
  } catch (error) {
    showError(errorText(/** @type {any} */ (error)));
  }
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
      failed.push(t("files.failed", { name: file.name, reason: errorText(/** @type {any} */ (error)) }));
    }
  }
  status.textContent = failed.join(" ") || (chosen.length ? t("files.sent", { name: chosen.map((f) => f.name).join(", ") }) : "");
}

async function submitRequest(/** @type {SubmitEvent} */ event) {
  event.preventDefault();
  showError("");
  const data = new FormData(form);
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
    const li = upsert(list, consult, actionsFor);
    const chosen = /** @type {File[]} */ (data.getAll("files")).filter((f) => f instanceof File && f.size > 0);
    form.reset();
    await sendFiles(consult.id, chosen);
    // Focus stays with what was just filed (it would fall to <body> with the button).
    li.focus();
  } catch (error) {
    showError(errorText(/** @type {any} */ (error)));
  } finally {
    button.disabled = false;
  }
}

async function load() {
  const { consults, server_now } = await api("/api/consults");
  syncClock(server_now);
  for (const consult of consults.reverse()) upsert(list, consult, actionsFor);
}

form.addEventListener("submit", submitRequest);
// Disabled in the page until this script runs: the form never submits natively.
/** @type {HTMLButtonElement} */ (form.querySelector('[data-testid="consult-submit"]')).disabled = false;
const socket = connect();
watchBookings(socket, document.querySelector('[data-testid="booking-reminders"]'));
socket.on("consult:update", ({ consult, server_now }) => {
  syncClock(server_now);
  const before = list.querySelector(`[data-consult-id="${consult.id}"]`);
  const was = before instanceof HTMLElement ? before.dataset.state : undefined;
  if (!consult.gone) upsert(list, consult, actionsFor);
  if (was === "requested" && consult.state === "accepted") notify(t("notify.accepted"));
});
setUpNotifications(document.querySelector('[data-testid="notify-enable"]'));
socket.on("connect", load);
setInterval(() => refreshWaits(list), 1000);
