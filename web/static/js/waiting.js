/**
 * The clinician's wait, told: for each request still waiting, which facilities it
 * reached (names and levels, never a person) with how many specialists of its
 * specialty are on duty there, and the time left before it expires. The server is
 * asked when the request changes (an escalation reaches further) and every 15 s (who
 * is on duty changes); the time left ticks here.
 * @module waiting
 */
import { api } from "./api.js";
import { t } from "./i18n.js";

const REFRESH_MS = 15_000;

/** What the server said of each waiting request, by id. @type {Map<number, any>} */
const reaches = new Map();
/** Server clock minus ours, ms. */
let skew = 0;

/** @param {number} ms */
function minutesSeconds(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

/** The reach of one request, as lines under it. @param {HTMLElement} li @param {any} reach */
function render(li, reach) {
  let targets = /** @type {HTMLElement|null} */ (li.querySelector('[data-testid="request-targets"]'));
  let expires = /** @type {HTMLElement|null} */ (li.querySelector('[data-testid="request-expires"]'));
  if (!targets || !expires) {
    targets = document.createElement("p");
    targets.dataset.testid = "request-targets";
    targets.className = "reach";
    expires = document.createElement("p");
    expires.dataset.testid = "request-expires";
    expires.className = "muted";
    li.querySelector(".wait")?.after(targets, expires);
  }
  const where = reach.reached.map((/** @type {any} */ r) => {
    const duty = r.on_duty ? t("request.on_duty", { n: r.on_duty }) : t("request.none_on_duty");
    return `${r.facility} (${t("tier." + r.level)}, ${duty})`;
  });
  targets.textContent = t("request.sent_to", { where: where.join("; ") });
  expires.dataset.expiresAt = String(reach.expires_at);
  tick(expires);
}

/** @param {HTMLElement} el */
function tick(el) {
  const left = Number(el.dataset.expiresAt) * 1000 - (Date.now() + skew);
  el.textContent = t("request.expires_in", { time: minutesSeconds(left) });
}

/**
 * Ask where a waiting request is now, and show it under its item.
 * @param {HTMLElement} list @param {number} id
 * @returns {Promise<any>} what the server said (null when it could not be asked)
 */
export async function refreshReach(list, id) {
  try {
    const reach = await api(`/api/consults/${id}/reach`);
    skew = reach.server_now * 1000 - Date.now();
    if (reach.state !== "requested") {
      reaches.delete(id);
      return reach;
    }
    reaches.set(id, reach);
    const li = list.querySelector(`[data-consult-id="${id}"]`);
    if (li instanceof HTMLElement && li.dataset.state === "requested") render(li, reach);
    return reach;
  } catch {
    // Asked again in 15 s; the list still shows the request and its wait.
    return null;
  }
}

/**
 * An item was (re)drawn: put back what is known of its reach at once.
 * @param {HTMLElement} li @param {any} consult
 */
export function redraw(li, consult) {
  const known = reaches.get(consult.id);
  if (consult.state === "requested" && known) render(li, known);
  if (consult.state !== "requested") reaches.delete(consult.id);
}

/** The time left ticks; every 15 s the reach is asked again. @param {HTMLElement} list */
export function watchWaits(list) {
  setInterval(() => {
    for (const el of list.querySelectorAll('[data-testid="request-expires"]')) tick(/** @type {HTMLElement} */ (el));
  }, 1000);
  setInterval(() => {
    for (const id of reaches.keys()) refreshReach(list, id);
  }, REFRESH_MS);
}
