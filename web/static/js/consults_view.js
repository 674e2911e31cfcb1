/**
 * Rendering consult requests as list items, shared by the clinician's list and the
 * specialist's queue. Waiting times tick locally against the server's clock.
 * @module consults_view
 */
import { t } from "./i18n.js";

let clockSkew = 0;

/** @param {number} serverNow seconds since the epoch, from the server */
export function syncClock(serverNow) {
  clockSkew = serverNow * 1000 - Date.now();
}

/** @param {number} since seconds since the epoch */
export function waited(since) {
  const seconds = Math.max(0, Math.floor((Date.now() + clockSkew) / 1000 - since));
  const minutes = Math.floor(seconds / 60);
  return minutes >= 1 ? t("time.minutes", { n: minutes }) : t("time.seconds", { n: seconds });
}

/**
 * Build or update the <li> for a consult.
 * @param {HTMLElement} list
 * @param {any} consult
 * @param {(li: HTMLElement, consult: any) => void} addActions
 */
export function upsert(list, consult, addActions) {
  let li = /** @type {HTMLElement|null} */ (list.querySelector(`[data-consult-id="${consult.id}"]`));
  // On a lossy link the reply to "send" or "accept" can arrive after the live update
  // of a later change: an older copy never replaces a newer one.
  if (li && Number(consult.version) < Number(li.dataset.version ?? -1)) return li;
  if (!li) {
    li = document.createElement("li");
    li.dataset.consultId = String(consult.id);
    li.dataset.testid = "consult-item";
    li.tabIndex = -1; // focusable by script (after filing or accepting), not a tab stop
    // Newest first, whatever order they arrive in (a reply, a live update, a reload).
    const older = [...list.children].find((other) => Number(/** @type {HTMLElement} */ (other).dataset.consultId) < Number(consult.id));
    list.insertBefore(li, older ?? null);
  }
  li.replaceChildren();
  li.className = `consult urgency-${consult.urgency} state-${consult.state}`;
  li.dataset.state = consult.state;
  li.dataset.version = String(consult.version);
  li.dataset.tier = String(consult.tier ?? 0);
  li.dataset.createdAt = String(consult.created_at);
  const head = document.createElement("div");
  head.className = "consult-head";
  const title = document.createElement("strong");
  title.textContent = `#${consult.id} · ${consult.specialty_name} · ${t("urgency." + consult.urgency)}`;
  const status = document.createElement("span");
  status.className = "badge";
  status.dataset.testid = "consult-status";
  status.dataset.state = consult.state;
  status.textContent = t("state." + consult.state);
  head.append(title, status);
  const meta = document.createElement("div");
  meta.className = "muted";
  const who = consult.specialist ? ` · ${t("consult.accepted_by", { name: consult.specialist })}` : "";
  const invited = consult.invited ? ` · ${t("consult.invited")}` : "";
  meta.textContent = `${consult.clinician} · ${consult.facility}${who}${invited}`;
  const wait = document.createElement("div");
  wait.className = "wait";
  wait.dataset.waitedSince = String(consult.created_at);
  const patient = document.createElement("p");
  patient.className = "patient";
  patient.dataset.testid = "consult-patient";
  patient.textContent = patientText(consult.patient);
  patient.hidden = consult.gone === true;
  const summary = document.createElement("p");
  summary.className = "summary";
  summary.textContent = consult.summary ?? "";
  const actions = document.createElement("div");
  actions.className = "actions";
  li.append(head, meta, patient, wait, summary, actions);
  addActions(actions, consult);
  refreshWaits(list);
  updateEmpty(list);
  return li;
}

/** @param {HTMLElement} list @param {number} id */
export function remove(list, id) {
  list.querySelector(`[data-consult-id="${id}"]`)?.remove();
  updateEmpty(list);
}

/** @param {HTMLElement} list */
export function refreshWaits(list) {
  for (const el of list.querySelectorAll("[data-waited-since]")) {
    const li = el.closest("li");
    const open = li?.dataset.state === "requested";
    el.textContent = open ? t("consult.waiting", { time: waited(Number(el.dataset.waitedSince)) }) : "";
  }
}

/** @param {HTMLElement} list */
function updateEmpty(list) {
  const empty = list.parentElement?.querySelector("[data-empty]");
  if (empty instanceof HTMLElement) empty.hidden = list.children.length > 0;
}

/**
 * A link-styled button to the consult's room.
 * @param {number} id
 */
export function joinButton(id) {
  const a = document.createElement("a");
  a.className = "button primary";
  a.href = `/consults/${id}/room`;
  a.dataset.testid = "join-room";
  a.textContent = t("consult.join");
  return a;
}

/**
 * A link to the consult's record (files, what was said, the note), in any state.
 * @param {number} id
 */
export function recordButton(id) {
  const a = document.createElement("a");
  a.className = "button";
  a.href = `/consults/${id}`;
  a.dataset.testid = "consult-record";
  a.textContent = t("consult.record");
  return a;
}

/**
 * "Nguyễn Thị Hoa · Nữ · 56 tuổi · BHYT DN40…": who the consult is about, as a line.
 * @param {any} patient
 */
export function patientText(patient) {
  if (!patient) return t("patient.none");
  const parts = [patient.name, t("patient.sex." + patient.sex), t("patient.age", { age: patient.age })];
  for (const key of ["national_id", "insurance_number", "record_number"]) {
    if (patient[key]) parts.push(`${t("patient.ids." + key)} ${patient[key]}`);
  }
  return parts.join(" · ");
}
