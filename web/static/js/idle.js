/**
 * Signed-in pages on a shared reception PC: the login ends after a while without use
 * (security.idle_minutes). Two minutes before, the page says so with a button to go on;
 * at the end it goes to the sign-in page, so the next person at the PC does not find
 * the last one's patients on screen. Asking the server when the login ends is not a
 * use of it; the button and being in a call are.
 * @module idle
 */
import { api } from "./api.js";
import { t } from "./i18n.js";

const WARN_SECONDS = 120;
const CHECK_MS = 30_000;
const banner = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="idle-warning"]'));
const text = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="idle-warning-text"]'));
/** @type {ReturnType<typeof setInterval>|null} */
let countdown = null;

function signIn() {
  window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
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

async function check() {
  try {
    const state = await api("/api/session");
    const left = Math.min(state.expires_at, state.ends_at) - state.server_now;
    if (left <= 0) signIn();
    else if (left <= WARN_SECONDS) warn(Date.now() + left * 1000);
    else calm();
  } catch (error) {
    if (/** @type {any} */ (error)?.status === 401) signIn();
  }
}

/** The person is here: the login goes on (the button; a call in progress). */
export async function stillHere() {
  try {
    await api("/api/session/keepalive", { method: "POST" });
    calm();
  } catch (error) {
    if (/** @type {any} */ (error)?.status === 401) signIn();
  }
}

banner?.querySelector('[data-testid="idle-stay"]')?.addEventListener("click", stillHere);
setInterval(check, CHECK_MS);
check();
