/**
 * Signed-in pages on a shared reception PC: the login ends after a while without use
 * (security.idle_minutes). Two minutes before (half the time, for a shorter limit), the
 * page says so with a button to go on;
 * at the end it goes to the sign-in page, so the next person at the PC does not find
 * the last one's patients on screen. Asking the server when the login ends is not a
 * use of it; the button and being in a call are.
 * @module idle
 */
import { api } from "./api.js";
import { t } from "./i18n.js";

/** The warning shows this long before the end (half the idle time, if that is less). */
const WARN_SECONDS = 120;
/** The page asks at least this often (a call elsewhere may have kept the login alive). */
const CHECK_MS = 30_000;
const banner = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="idle-warning"]'));
const text = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="idle-warning-text"]'));
/** @type {ReturnType<typeof setInterval>|null} */
let countdown = null;
/** @type {ReturnType<typeof setTimeout>|null} */
let nextCheck = null;
/** The login's idle limit, once the server has said it. */
let idleSeconds = 0;

/** Whether the last look found the login ending for want of use (not at its end). */
let endsIdle = true;

/** To the sign-in page, which says why the login ended. @param {string} [reason] */
function signIn(reason = endsIdle ? "idle" : "ended") {
  const next = encodeURIComponent(window.location.pathname);
  window.location.assign(`/login?next=${next}&reason=${reason}`);
}

/** Past the end by this much before leaving: the server must have ended the login by
 * then (arriving a moment early, the sign-in page would send us back to this one). */
const MARGIN_MS = 2000;

/** @param {number} endsAt the login's end on this page's clock (ms) */
function warn(endsAt) {
  if (!banner || !text) return;
  banner.hidden = false;
  const tick = () => {
    const left = endsAt - Date.now();
    text.textContent = t("idle.warning", { seconds: Math.max(0, Math.round(left / 1000)) });
    if (left <= -MARGIN_MS) signIn();
  };
  tick();
  if (countdown) clearInterval(countdown);
  countdown = setInterval(tick, 1000);
}

function calm() {
  if (countdown) clearInterval(countdown);
  countdown = null;
  if (banner) banner.hidden = true;
}

function warnLead() {
  return idleSeconds > 0 ? Math.min(WARN_SECONDS, idleSeconds / 2) : WARN_SECONDS;
}

/** Ask again when the warning is due (``left`` seconds from now the login ends), and
 * at least every CHECK_MS. @param {number} left */
function schedule(left) {
  if (nextCheck) clearTimeout(nextCheck);
  const due = Math.max(1000, (left - warnLead()) * 1000);
  nextCheck = setTimeout(check, Math.min(CHECK_MS, due));
}

async function check() {
  try {
    const state = await api("/api/session");
    idleSeconds = state.idle_seconds ?? 0;
    endsIdle = state.expires_at < state.ends_at;
    const left = Math.min(state.expires_at, state.ends_at) - state.server_now;
    if (left <= 0) signIn();
    else if (left <= warnLead()) warn(Date.now() + left * 1000);
    else calm();
    schedule(left);
  } catch (error) {
    if (/** @type {any} */ (error)?.status === 401) signIn();
    else schedule(CHECK_MS / 1000 + warnLead());
  }
}

/** The person is here: the login goes on (the button; a call in progress). */
export async function stillHere() {
  try {
    await api("/api/session/keepalive", { method: "POST" });
    calm();
    if (idleSeconds > 0) schedule(idleSeconds);
  } catch (error) {
    if (/** @type {any} */ (error)?.status === 401) signIn("ended");
  }
}

banner?.querySelector('[data-testid="idle-stay"]')?.addEventListener("click", stillHere);
check();
