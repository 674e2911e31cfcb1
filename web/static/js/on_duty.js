/**
 * A page on duty (the specialist's queue): open is at work, so the login goes on while
 * it is open (it ends only at `security.session_hours`), and new requests keep arriving
 * with their sound, title count and notification.
 *
 * The shared-PC rule still holds: after the idle limit without a key or a click, the
 * screen locks. The server is told (it then serves nothing of a patient to this login
 * until it is unlocked), the page hides every patient detail, and the lock shows only
 * how many requests wait and how many are emergencies, ringing for each new one. The
 * owner's password unlocks it; anyone else signs out.
 * @module on_duty
 */
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";

/** The login is kept alive this often (and more often for a short idle limit). */
const KEEPALIVE_MS = 4 * 60_000;
const ACTIVITY = ["pointerdown", "keydown", "wheel", "touchstart"];

/**
 * @param {{screen: HTMLElement, content: HTMLElement, counts: () => {waiting: number, emergencies: number}}} page
 *   screen: the lock screen (`[data-testid="lock-screen"]`); content: what it hides;
 *   counts: the requests waiting now
 */
export function goOnDuty({ screen, content, counts }) {
  const form = /** @type {HTMLFormElement} */ (screen.querySelector("form"));
  const password = /** @type {HTMLInputElement} */ (screen.querySelector('[data-testid="unlock-password"]'));
  const error = /** @type {HTMLElement} */ (screen.querySelector('[data-testid="unlock-error"]'));
  const summary = /** @type {HTMLElement} */ (screen.querySelector('[data-testid="lock-counts"]'));
  let idleMs = 30 * 60_000;
  let lastUse = Date.now();
  let locked = false;

  function showCounts() {
    const { waiting, emergencies } = counts();
    summary.textContent = waiting
      ? t("lock.waiting", { n: waiting }) + (emergencies ? " · " + t("lock.emergencies", { n: emergencies }) : "")
      : t("lock.none_waiting");
  }

  /** @param {boolean} on */
  function show(on) {
    locked = on;
    screen.hidden = !on;
    content.hidden = on;
    content.inert = on;
    document.documentElement.dataset.locked = String(on);
    if (on) {
      showCounts();
      password.value = "";
      password.focus();
    }
  }

  async function lock() {
    if (locked) return;
    show(true);
    try {
      await api("/api/session/lock", { method: "POST" });
    } catch (failure) {
      if (/** @type {any} */ (failure)?.status === 401) window.location.assign("/login?reason=ended");
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try {
      await api("/api/session/unlock", { method: "POST", body: { password: password.value } });
      lastUse = Date.now();
      show(false);
    } catch (failure) {
      const err = /** @type {any} */ (failure);
      if (err?.status === 401) window.location.assign("/login?reason=ended");
      error.textContent = errorText(err);
      error.hidden = false;
      password.select();
    }
  });

  for (const kind of ACTIVITY) {
    document.addEventListener(kind, () => {
      if (!locked) lastUse = Date.now();
    }, { passive: true, capture: true });
  }

  async function start() {
    try {
      const state = await api("/api/session");
      idleMs = (state.idle_seconds ?? 1800) * 1000;
      if (state.locked) show(true);
    } catch {
      // The first keepalive or the next look will tell.
    }
    setInterval(() => {
      if (!locked && Date.now() - lastUse >= idleMs) lock();
    }, 1000);
    // On duty: the login goes on while this page is open, locked or not.
    setInterval(() => {
      api("/api/session/keepalive", { method: "POST" }).catch((failure) => {
        if (/** @type {any} */ (failure)?.status === 401) window.location.assign("/login?reason=ended");
      });
    }, Math.min(KEEPALIVE_MS, idleMs / 3));
  }
  start();

  return {
    /** @returns {boolean} */
    locked: () => locked,
    /** The requests changed: the lock's counts follow. */
    changed() {
      if (locked) showCounts();
    },
  };
}
