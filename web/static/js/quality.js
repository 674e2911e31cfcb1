/**
 * Audio first, video as the link allows. Once a peer connection is up:
 * - audio gets the higher send priority (and Opus FEC, which the server's answer
 *   enables); video degrades by resolution and frame rate together ("balanced");
 * - low-data mode (the user's choice, remembered on this PC) caps video at 150 kbit/s,
 *   half resolution and 15 frames per second (with simulcast: only its smallest layer);
 * - every 2 s the link is judged from the browser's own statistics (loss, round trip,
 *   the bitrate its congestion control allows) as good, fair or poor;
 * - when that bitrate stays too low to carry video next to audio, or the link stays
 *   overflowing (30 % loss, a round trip over 1.5 s) while video is sent, video is paused
 *   (so the sound stays clear) and tried again a minute later, or at once by the user.
 * @module quality
 */

const LOW_DATA_KEY = "consult.lowData";
const LOW_DATA = { maxBitrate: 150_000, scaleResolutionDownBy: 2, maxFramerate: 15 };
/** Below this (bits/s) for PAUSE_AFTER_MS the link cannot carry video next to audio. */
const VIDEO_NEEDS = 90_000;
const PAUSE_AFTER_MS = 10_000;
/** Loss (0..1) at which video is only making audio worse: the link is overflowing. */
const HEAVY_LOSS = 0.3;
const RETRY_AFTER_MS = 60_000;

/** @returns {boolean} */
export function lowDataChosen() {
  return localStorage.getItem(LOW_DATA_KEY) === "true";
}

/** @param {boolean} on */
export function chooseLowData(on) {
  localStorage.setItem(LOW_DATA_KEY, String(on));
}

/**
 * Send priorities, degradation and the low-data cap on the senders of `pc`.
 * @param {RTCPeerConnection} pc
 * @param {{lowData: boolean, videoActive: boolean}} options
 */
export async function applySendPolicy(pc, { lowData, videoActive }) {
  for (const sender of pc.getSenders()) {
    const kind = sender.track?.kind;
    if (!kind) continue;
    const params = sender.getParameters();
    if (!params.encodings?.length) continue;
    for (const encoding of params.encodings) {
      if (kind === "audio") {
        encoding.priority = "high";
        encoding.networkPriority = "high";
        continue;
      }
      encoding.priority = "low";
      encoding.networkPriority = "low";
      encoding.active = videoActive;
      if (encoding.rid) {
        // A simulcast layer keeps its size and cap (negotiation.js); low-data mode
        // sends only the smallest.
        if (lowData && encoding.rid !== params.encodings[0].rid) encoding.active = false;
      } else if (lowData) Object.assign(encoding, LOW_DATA);
      else {
        delete encoding.maxBitrate;
        delete encoding.maxFramerate;
        encoding.scaleResolutionDownBy = 1;
      }
    }
    if (kind === "video") params.degradationPreference = "balanced";
    try {
      await sender.setParameters(params);
    } catch (error) {
      console.warn("setParameters", kind, error);
    }
  }
}

/**
 * Judge the link from two getStats() snapshots 2 s apart.
 * @param {RTCStatsReport} before @param {RTCStatsReport} after
 * @returns {{level: "good"|"fair"|"poor", rtt: number, loss: number, outgoing: number|null}}
 */
export function judge(before, after) {
  let rtt = 0;
  let outgoing = null;
  let received = 0;
  let lost = 0;
  let sentLoss = 0;
  for (const report of after.values()) {
    if (report.type === "transport" && report.selectedCandidatePairId) {
      const pair = after.get(report.selectedCandidatePairId);
      rtt = pair?.currentRoundTripTime ?? rtt;
      outgoing = pair?.availableOutgoingBitrate ?? outgoing;
    } else if (report.type === "inbound-rtp") {
      // What reaches us: packets received and lost since the last look.
      const earlier = before.get(report.id);
      received += (report.packetsReceived ?? 0) - (earlier?.packetsReceived ?? 0);
      lost += Math.max(0, (report.packetsLost ?? 0) - (earlier?.packetsLost ?? 0));
    } else if (report.type === "remote-inbound-rtp") {
      // What we send, as the server's receiver reports see it.
      sentLoss = Math.max(sentLoss, report.fractionLost ?? 0);
    }
  }
  const loss = Math.max(sentLoss, received + lost > 0 ? lost / (received + lost) : 0);
  let level = /** @type {"good"|"fair"|"poor"} */ ("good");
  if (loss > 0.1 || rtt > 1.0 || (outgoing !== null && outgoing < VIDEO_NEEDS)) level = "poor";
  else if (loss > 0.02 || rtt > 0.3 || (outgoing !== null && outgoing < 1.5 * VIDEO_NEEDS)) level = "fair";
  return { level, rtt, loss, outgoing };
}

/**
 * Watch `getPc()` every 2 s; call `onLevel` when the level changes and `onVideo` when
 * video should pause (false) or may go again (true).
 * @param {{
 *   getPc: () => RTCPeerConnection|null,
 *   onLevel: (level: "good"|"fair"|"poor") => void,
 *   onVideo: (active: boolean) => void,
 * }} options
 * @returns {{retryVideo: () => void}}
 */
export function watchQuality({ getPc, onLevel, onVideo }) {
  /** @type {RTCStatsReport|null} */
  let previous = null;
  /** @type {RTCPeerConnection|null} */
  let previousPc = null;
  let level = "";
  let starvedSince = 0;
  let pausedAt = 0;

  async function look() {
    const pc = getPc();
    if (!pc || pc.connectionState !== "connected") {
      previous = null;
      return;
    }
    const stats = await pc.getStats();
    if (previous && previousPc === pc) {
      const verdict = judge(previous, stats);
      if (verdict.level !== level) {
        level = verdict.level;
        console.info("link", verdict);
        onLevel(verdict.level);
      }
      const now = Date.now();
      // Not for loss alone: a link losing 10 % at random still has room for video
      // (FEC, retransmissions and the browser's own rate control cope with it).
      const starved =
        (verdict.outgoing !== null && verdict.outgoing < VIDEO_NEEDS) ||
        verdict.loss > HEAVY_LOSS ||
        verdict.rtt > 1.5;
      starvedSince = starved ? starvedSince || now : 0;
      if (!pausedAt && starvedSince && now - starvedSince >= PAUSE_AFTER_MS) {
        pausedAt = now;
        onVideo(false);
      } else if (pausedAt && now - pausedAt >= RETRY_AFTER_MS) {
        pausedAt = 0;
        starvedSince = 0;
        onVideo(true);
      }
    }
    previous = stats;
    previousPc = pc;
  }

  setInterval(() => look().catch((e) => console.warn("quality", e)), 2000);
  return {
    retryVideo() {
      pausedAt = 0;
      starvedSince = 0;
      onVideo(true);
    },
  };
}
