/**
 * The check before entering a room: see yourself, see the microphone move, hear a test
 * tone, pick the devices, and learn whether media reaches the server (directly, or only
 * through the TURN relay) and how slow the link is, with plain advice when something is
 * missing or was refused. Choices are remembered on this PC. It resolves with the
 * camera and microphone stream the room then uses (nothing is asked for twice).
 *
 * The connection test is a real one: a peer connection to the media server with one
 * data channel, the same ICE set-up as the call, answered by the server's echo
 * (media/probe.py); ten pings give the round trip and the share lost.
 * @module prejoin
 */
import { errorText, t } from "./i18n.js";
import { canChooseSpeaker, chooseDevices, chosenDevices, listDevices, openMedia } from "./devices.js";
import { gatheringComplete } from "./negotiation.js";
import { chooseLowData, lowDataChosen } from "./quality.js";

const PROBE_OPEN_MS = 15000;
const PINGS = 10;
const PING_WAIT_MS = 2000;
/** Above this round trip the link is slow: low-data mode is suggested. */
const SLOW_RTT_MS = 600;
/** At this share of pings lost, too. */
const LOSSY_PCT = 20;

/** @typedef {{stream: MediaStream, missing: ("audio"|"video")[], errors: Record<string, string>, speaker: string}} Prepared */

/** Which browser's menus to describe in the advice. */
function browserFamily() {
  const ua = navigator.userAgent;
  if (/Firefox\//.test(ua)) return "firefox";
  if (/Chrome\/|Chromium\/|coc_coc_browser|Edg\//.test(ua)) return "chromium";
  if (/Safari\//.test(ua)) return "safari";
  return "other";
}

/** @param {string} name a getUserMedia error's name @param {string} kind */
function adviceFor(name, kind) {
  const what = t("device." + kind);
  if (name === "NotAllowedError" || name === "SecurityError") {
    return t("prejoin.advice.denied." + browserFamily(), { what });
  }
  if (name === "NotReadableError" || name === "AbortError") return t("prejoin.advice.busy", { what });
  if (name === "NotSupported") return t("prejoin.advice.unsupported");
  return t("prejoin.advice.missing", { what });
}

/** A one-second 440 Hz tone as a WAV blob, made here (nothing is fetched). */
function toneUrl() {
  const rate = 16000;
  const samples = rate;
  const view = new DataView(new ArrayBuffer(44 + samples * 2));
  const text = (/** @type {number} */ at, /** @type {string} */ s) => [...s].forEach((c, i) => view.setUint8(at + i, c.charCodeAt(0)));
  text(0, "RIFF");
  view.setUint32(4, 36 + samples * 2, true);
  text(8, "WAVEfmt ");
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, rate, true);
  view.setUint32(28, rate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, "data");
  view.setUint32(40, samples * 2, true);
  for (let i = 0; i < samples; i++) {
    const fade = Math.min(1, i / 800, (samples - i) / 800);
    view.setInt16(44 + i * 2, Math.sin((2 * Math.PI * 440 * i) / rate) * 9000 * fade, true);
  }
  return URL.createObjectURL(new Blob([view], { type: "audio/wav" }));
}

/** @param {number[]} values */
function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** @param {RTCDataChannel} channel */
function opened(channel) {
  return new Promise((resolve, reject) => {
    if (channel.readyState === "open") return resolve(undefined);
    const timer = setTimeout(() => reject(new Error("timeout")), PROBE_OPEN_MS);
    channel.addEventListener("open", () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
}

/**
 * Ten pings, 100 ms apart, on an unreliable channel (a lost one is not resent, so it
 * counts as lost instead of stalling the rest); waits up to 2 s for the last echo.
 * @param {RTCDataChannel} channel
 * @returns {Promise<{rtts: number[], lost: number}>}
 */
async function pings(channel) {
  /** @type {Map<string, number>} */
  const sent = new Map();
  /** @type {number[]} */
  const rtts = [];
  const onMessage = (/** @type {MessageEvent} */ event) => {
    const at = sent.get(event.data);
    if (at !== undefined) rtts.push(performance.now() - at);
  };
  channel.addEventListener("message", onMessage);
  for (let n = 0; n < PINGS; n++) {
    // Closed under us (the user went into the room, which ends the test): stop here.
    if (channel.readyState !== "open") break;
    sent.set(`ping ${n}`, performance.now());
    channel.send(`ping ${n}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const deadline = performance.now() + PING_WAIT_MS;
  while (rtts.length < PINGS && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  channel.removeEventListener("message", onMessage);
  return { rtts, lost: PINGS - rtts.length };
}

/** "relay" when the working pair goes through TURN, else "direct". @param {RTCPeerConnection} pc */
async function route(pc) {
  const stats = [...(await pc.getStats()).values()];
  const transport = stats.find((s) => s.type === "transport");
  const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId) ?? stats.find((s) => s.type === "candidate-pair" && s.nominated);
  const local = stats.find((s) => s.id === pair?.localCandidateId);
  return local?.candidateType === "relay" ? "relay" : "direct";
}

/**
 * The connection test: the socket's round trip, then media to the server.
 * @param {(event: string, payload: object) => Promise<any>} send
 * @returns {Promise<{result: "direct"|"relay"|"failed", rtt?: number, loss?: number}>}
 */
export async function testConnection(send) {
  const { ice } = await send("net:ice", {});
  const pc = new RTCPeerConnection({ iceServers: ice.ice_servers, iceTransportPolicy: ice.policy });
  try {
    const channel = pc.createDataChannel("probe", { ordered: false, maxRetransmits: 0 });
    await pc.setLocalDescription(await pc.createOffer());
    await gatheringComplete(pc);
    const answer = await send("net:probe", { type: "offer", sdp: pc.localDescription?.sdp });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await opened(channel);
    const { rtts, lost } = await pings(channel);
    if (!rtts.length) return { result: "failed" };
    return { result: await route(pc), rtt: Math.round(median(rtts)), loss: Math.round((100 * lost) / PINGS) };
  } catch (error) {
    console.warn("connection test failed", error);
    // The server refused (busy, a bad token): its message is shown, not "no media".
    if (/** @type {any} */ (error)?.code) throw error;
    return { result: "failed" };
  } finally {
    pc.close();
  }
}

/**
 * Show the check in `panel` and resolve when the user presses "join".
 * @param {HTMLElement} panel
 * @param {(event: string, payload: object) => Promise<any>} send
 * @returns {Promise<Prepared>}
 */
export function runPrejoin(panel, send) {
  const $ = (/** @type {string} */ id) => /** @type {any} */ (panel.querySelector(`[data-testid="${id}"]`));
  const preview = /** @type {HTMLVideoElement} */ ($("prejoin-preview"));
  const pickers = { camera: $("prejoin-camera"), microphone: $("prejoin-microphone"), speaker: $("prejoin-speaker") };
  const meter = /** @type {HTMLMeterElement} */ ($("prejoin-mic-level"));
  const advice = /** @type {HTMLElement} */ ($("prejoin-advice"));
  const connection = /** @type {HTMLElement} */ ($("prejoin-connection"));
  const speakerTest = /** @type {HTMLButtonElement} */ ($("prejoin-speaker-test"));
  const retry = /** @type {HTMLButtonElement} */ ($("prejoin-retry"));
  const retest = /** @type {HTMLButtonElement} */ ($("prejoin-connection-retry"));
  const lowData = /** @type {HTMLInputElement} */ ($("prejoin-low-data"));
  const enter = /** @type {HTMLButtonElement} */ ($("prejoin-continue"));
  panel.hidden = false;
  /** @type {Prepared} */
  let media = { stream: new MediaStream(), missing: ["audio", "video"], errors: {}, speaker: "" };
  /** @type {AudioContext|null} */
  let audio = null;
  let levelTimer = 0;
  const choice = chosenDevices();

  /** The microphone meter, from the stream's own samples. */
  function watchLevel() {
    clearInterval(levelTimer);
    audio?.close().catch(() => {});
    audio = null;
    meter.value = 0;
    meter.dataset.peak = "0";
    if (!media.stream.getAudioTracks().length) return;
    audio = new AudioContext();
    const analyser = audio.createAnalyser();
    analyser.fftSize = 1024;
    audio.createMediaStreamSource(media.stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    levelTimer = window.setInterval(() => {
      // Autoplay rules keep an AudioContext suspended until the user touches the page.
      if (audio?.state === "suspended") audio.resume().catch(() => {});
      analyser.getFloatTimeDomainData(samples);
      const rms = Math.sqrt(samples.reduce((sum, s) => sum + s * s, 0) / samples.length);
      meter.value = Math.min(1, rms * 5);
      meter.dataset.peak = String(Math.max(Number(meter.dataset.peak), meter.value));
    }, 100);
  }

  async function fillPickers() {
    const devices = await listDevices();
    for (const kind of /** @type {const} */ (["camera", "microphone", "speaker"])) {
      const select = pickers[kind];
      const current = kind === "speaker" ? choice.speaker : media.stream.getTracks().find((tr) => tr.kind === (kind === "camera" ? "video" : "audio"))?.getSettings().deviceId;
      select.replaceChildren(
        ...devices[kind].map((device, i) => {
          const option = new Option(device.label || t("prejoin.device_n", { n: i + 1 }), device.deviceId);
          option.selected = device.deviceId === current;
          return option;
        }),
      );
      select.disabled = devices[kind].length < 2 && kind !== "speaker";
      if (kind === "speaker") {
        select.closest("label").hidden = !canChooseSpeaker || !devices.speaker.length;
      }
    }
  }

  async function open() {
    enter.disabled = true;
    try {
      await reopen();
    } finally {
      enter.disabled = false;
    }
  }

  async function reopen() {
    for (const track of media.stream.getTracks()) track.stop();
    const opened = await openMedia(choice);
    media = { ...opened, speaker: choice.speaker ?? "" };
    preview.srcObject = media.stream;
    const notes = Object.entries(media.errors).map(([kind, name]) => adviceFor(name, kind));
    advice.replaceChildren(...notes.map((note) => Object.assign(document.createElement("p"), { textContent: note })));
    advice.hidden = !notes.length;
    retry.hidden = !notes.length;
    panel.dataset.missing = media.missing.join(" ");
    watchLevel();
    await fillPickers().catch((e) => console.warn("devices", e));
  }

  async function check() {
    retest.disabled = true;
    connection.dataset.result = "checking";
    connection.textContent = t("prejoin.connection.checking");
    try {
      const { result, rtt, loss } = await testConnection(send);
      connection.dataset.result = result;
      connection.dataset.rtt = String(rtt ?? "");
      connection.dataset.loss = String(loss ?? "");
      let text = t("prejoin.connection." + result, { rtt: rtt ?? "" });
      if (loss) text += " " + t("prejoin.connection.loss", { loss });
      if ((rtt ?? 0) > SLOW_RTT_MS || (loss ?? 0) >= LOSSY_PCT) text += " " + t("prejoin.connection.slow");
      connection.textContent = text;
    } catch (error) {
      connection.dataset.result = "error";
      connection.textContent = errorText(/** @type {any} */ (error));
    } finally {
      retest.disabled = false;
    }
  }

  for (const kind of /** @type {const} */ (["camera", "microphone"])) {
    pickers[kind].addEventListener("change", () => {
      choice[kind] = pickers[kind].value;
      chooseDevices(choice);
      open().catch((e) => console.warn("devices", e));
    });
  }
  pickers.speaker.addEventListener("change", () => {
    choice.speaker = pickers.speaker.value;
    media.speaker = choice.speaker;
    chooseDevices(choice);
  });
  let tone = "";
  speakerTest.addEventListener("click", async () => {
    tone = tone || toneUrl();
    const player = new Audio(tone);
    speakerTest.dataset.played = "playing";
    player.addEventListener("ended", () => (speakerTest.dataset.played = "true"), { once: true });
    try {
      if (choice.speaker && canChooseSpeaker) await /** @type {any} */ (player).setSinkId(choice.speaker);
      await player.play();
    } catch (error) {
      speakerTest.dataset.played = "failed";
      console.warn("speaker test", error);
    }
  });
  retry.addEventListener("click", () => open().catch((e) => console.warn("devices", e)));
  retest.addEventListener("click", () => check());
  lowData.checked = lowDataChosen();
  lowData.addEventListener("change", () => chooseLowData(lowData.checked));

  check();
  return new Promise((resolve) => {
    open().catch((e) => console.warn("devices", e));
    enter.addEventListener("click", () => {
      clearInterval(levelTimer);
      audio?.close().catch(() => {});
      preview.srcObject = null;
      panel.hidden = true;
      resolve(media);
    });
  });
}
