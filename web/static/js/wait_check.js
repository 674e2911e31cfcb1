/**
 * The check a clinician runs while their request waits: the room's own pre-join check
 * (camera, microphone, speaker, and a real connection test to the media server), on
 * the clinician's page. When it passes, the page remembers it for a few minutes: the
 * room then skips its own check, and if the clinician said so ("done, take me straight
 * in") an accept takes them into the call by itself.
 * @module wait_check
 */
import { runPrejoin } from "./prejoin.js";

const KEY = "consult.checked";
/** A check older than this is done again in the room. */
const FRESH_MS = 5 * 60_000;

/** How often a running check is looked at, to remember it once it has passed. */
const LOOK_MS = 500;

/**
 * Whether this consult's clinician passed the check in the last few minutes (`chosen`:
 * and asked to be taken straight in on an accept).
 * @param {string|number} consultId @param {{chosen?: boolean}} [options]
 */
export function checkedFor(consultId, { chosen = false } = {}) {
  try {
    const found = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    const fresh = found && String(found.id) === String(consultId) && found.ok && Date.now() - found.at < FRESH_MS;
    return Boolean(fresh && (!chosen || found.chosen));
  } catch {
    return false;
  }
}

/** @param {string|number} consultId @param {boolean} ok @param {boolean} chosen */
function remember(consultId, ok, chosen) {
  sessionStorage.setItem(KEY, JSON.stringify({ id: consultId, at: Date.now(), ok, chosen }));
}

/** The check was used (or the call began): the next call checks again. */
export function forgetCheck() {
  sessionStorage.removeItem(KEY);
}

/**
 * Run the check for a waiting request in `card` (once per page).
 * @param {HTMLElement} card the `[data-testid="wait-check"]` section
 * @param {{socket: any, consultId: number, token: string}} request
 */
export async function runWaitCheck(card, { socket, consultId, token }) {
  /** @param {string} event @param {object} payload */
  const send = async (event, payload) => {
    if (!socket.connected) await new Promise((resolve) => socket.once("connect", resolve));
    const reply = await socket.timeout(15000).emitWithAck(event, { ...payload, token });
    if (reply?.error) throw reply.error;
    return reply;
  };
  card.hidden = false;
  const panel = /** @type {HTMLElement} */ (card.querySelector('[data-testid="prejoin"]'));
  const done = /** @type {HTMLElement} */ (card.querySelector('[data-testid="wait-check-done"]'));
  const connection = panel.querySelector('[data-testid="prejoin-connection"]');
  const passed = () => {
    const result = connection instanceof HTMLElement ? connection.dataset.result : "";
    return (result === "direct" || result === "relay") && panel.dataset.missing === "";
  };
  // Passed, even before "done" is pressed: a clinician who goes into the room from the
  // "accepted" banner is not checked twice.
  const looking = setInterval(() => {
    if (!passed()) return;
    remember(consultId, true, false);
    clearInterval(looking);
  }, LOOK_MS);
  const media = await runPrejoin(panel, send);
  clearInterval(looking);
  // The room opens the devices again: nothing stays on while the clinician waits.
  for (const track of media.stream.getTracks()) track.stop();
  const ok = passed() && media.missing.length === 0;
  remember(consultId, ok, true);
  done.hidden = !ok;
  return ok;
}
