/**
 * The check a clinician runs while their request waits: the room's own pre-join check
 * (camera, microphone, speaker, and a real connection test to the media server), on
 * the clinician's page. When it passes, the page remembers it for a few minutes, and
 * an accept then takes the clinician straight into the call (no second check).
 * @module wait_check
 */
import { runPrejoin } from "./prejoin.js";

const KEY = "consult.checked";
/** A check older than this is done again in the room. */
const FRESH_MS = 5 * 60_000;

/**
 * Whether this consult's clinician passed the check in the last few minutes.
 * @param {string|number} consultId
 */
export function checkedFor(consultId) {
  try {
    const found = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    return Boolean(found && String(found.id) === String(consultId) && found.ok && Date.now() - found.at < FRESH_MS);
  } catch {
    return false;
  }
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
  const media = await runPrejoin(panel, send);
  // The room opens the devices again: nothing stays on while the clinician waits.
  for (const track of media.stream.getTracks()) track.stop();
  const connection = panel.querySelector('[data-testid="prejoin-connection"]');
  const result = connection instanceof HTMLElement ? connection.dataset.result : "";
  const ok = (result === "direct" || result === "relay") && media.missing.length === 0;
  sessionStorage.setItem(KEY, JSON.stringify({ id: consultId, at: Date.now(), ok }));
  done.hidden = !ok;
  return ok;
}
