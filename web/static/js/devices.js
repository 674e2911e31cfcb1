/**
 * Camera and microphone: ask for both, and when that fails ask for each alone, so a
 * clinician with a broken webcam can still talk, and we know why each one failed
 * (denied, missing, busy in another program). The devices chosen in the pre-join check
 * are remembered on this PC and asked for first.
 * @module devices
 */

const KEY = "consult.devices";
const VIDEO = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 25 } };

/** @typedef {{camera?: string, microphone?: string, speaker?: string}} DeviceChoice */

/** @returns {DeviceChoice} */
export function chosenDevices() {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    return stored && typeof stored === "object" ? stored : {};
  } catch {
    return {};
  }
}

/** @param {DeviceChoice} choice */
export function chooseDevices(choice) {
  try {
    localStorage.setItem(KEY, JSON.stringify(choice));
  } catch {
    // Private mode or full storage: the choice lasts for this page only.
  }
}

/**
 * The chosen device first (exactly), then any: an unplugged webcam falls back to the
 * default one instead of failing.
 * @param {string|undefined} id @param {object} base
 */
function wanted(id, base) {
  return id ? [{ ...base, deviceId: { exact: id } }, base] : [base];
}

/** @param {MediaStreamConstraints} constraints */
function ask(constraints) {
  return navigator.mediaDevices.getUserMedia(constraints);
}

/**
 * @param {DeviceChoice} [choice]
 * @returns {Promise<{stream: MediaStream, missing: ("audio"|"video")[], errors: Record<string, string>}>}
 *   `errors` holds the DOMException name per kind that failed (NotAllowedError: denied;
 *   NotFoundError: no such device; NotReadableError: in use elsewhere).
 */
export async function openMedia(choice = chosenDevices()) {
  const audio = wanted(choice.microphone, { echoCancellation: true, noiseSuppression: true });
  const video = wanted(choice.camera, VIDEO);
  /** @type {Record<string, string>} */
  const errors = {};
  if (!navigator.mediaDevices?.getUserMedia) {
    // Not a secure origin, or a browser too old for video calls.
    return { stream: new MediaStream(), missing: ["audio", "video"], errors: { audio: "NotSupported", video: "NotSupported" } };
  }
  // The chosen devices, then any (once only when nothing was chosen).
  const both = [[audio[0], video[0]]];
  if (audio.length > 1 || video.length > 1) both.push([audio.at(-1), video.at(-1)]);
  for (const [a, v] of both) {
    try {
      return { stream: await ask({ audio: a, video: v }), missing: [], errors };
    } catch (error) {
      console.warn("getUserMedia (both) failed", error);
    }
  }
  const stream = new MediaStream();
  /** @type {("audio"|"video")[]} */
  const missing = [];
  for (const [kind, options] of /** @type {const} */ ([["audio", audio], ["video", video]])) {
    let got = false;
    for (const option of options) {
      try {
        const alone = await ask({ [kind]: option });
        for (const track of alone.getTracks()) stream.addTrack(track);
        got = true;
        break;
      } catch (error) {
        errors[kind] = /** @type {any} */ (error)?.name ?? "Error";
      }
    }
    if (got) delete errors[kind];
    else missing.push(kind);
  }
  return { stream, missing, errors };
}

/** The cameras, microphones and speakers the browser lists (labels once allowed). */
export async function listDevices() {
  const all = navigator.mediaDevices?.enumerateDevices ? await navigator.mediaDevices.enumerateDevices() : [];
  return {
    camera: all.filter((d) => d.kind === "videoinput"),
    microphone: all.filter((d) => d.kind === "audioinput"),
    speaker: all.filter((d) => d.kind === "audiooutput"),
  };
}

/** Whether this browser can send sound to a chosen speaker. */
export const canChooseSpeaker = typeof HTMLMediaElement !== "undefined" && "setSinkId" in HTMLMediaElement.prototype;
