/**
 * A presenter's shared screen (slides, an ECG, the image viewer): a second picture, sent
 * on a peer connection of its own so the camera's is never renegotiated. The server
 * forwards it to every viewer after the people (signaling/screens.py). It stops when the
 * presenter says so, when the browser's own "stop sharing" ends it, or with the call;
 * after a rejoin the room state no longer holds it and it is sent again.
 * @module screen_share
 */
import { gatheringComplete } from "./negotiation.js";

/**
 * @param {{
 *   send: (event: string, payload: object) => Promise<any>,
 *   ice: () => {ice_servers: RTCIceServer[], policy: RTCIceTransportPolicy},
 *   onChange: (track: MediaStreamTrack|null) => void,
 * }} deps  send: a room message with the join token; ice: the call's last ICE servers;
 *   onChange: sharing started (the screen's track, for the presenter's own preview) or
 *   stopped (null).
 */
export function createScreenShare({ send, ice, onChange }) {
  /** @type {MediaStreamTrack|null} */
  let track = null;
  /** @type {RTCPeerConnection|null} */
  let pc = null;
  /** An offer is on its way: a room state meanwhile does not send another. */
  let sending = false;

  /** Offer the screen on a new peer connection; the server answers. */
  async function publish() {
    if (!track || sending) return;
    sending = true;
    try {
      pc?.close();
      const { ice_servers, policy } = ice();
      const built = new RTCPeerConnection({ iceServers: ice_servers, iceTransportPolicy: policy });
      pc = built;
      built.addTransceiver(track, { direction: "sendonly", streams: [new MediaStream([track])] });
      await built.setLocalDescription(await built.createOffer());
      await gatheringComplete(built);
      const answer = await send("room:screen", { type: "offer", sdp: built.localDescription?.sdp });
      if (pc === built) await built.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    } finally {
      sending = false;
    }
  }

  function release() {
    track?.stop();
    track = null;
    pc?.close();
    pc = null;
  }

  return {
    /** Whether this browser can share a screen at all (phones cannot). */
    available: () => Boolean(navigator.mediaDevices && "getDisplayMedia" in navigator.mediaDevices),
    /** @returns {boolean} */
    sharing: () => track !== null,
    /** Ask the browser for a screen or window, then send it. A cancelled choice is no error. */
    async start() {
      if (track) return;
      let stream;
      try {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 15 } }, audio: false });
      } catch (error) {
        if (/** @type {any} */ (error)?.name === "NotAllowedError") return; // they chose nothing
        throw error;
      }
      track = stream.getVideoTracks()[0];
      // Text and lines stay sharp: the encoder keeps resolution before frame rate.
      track.contentHint = "detail";
      track.addEventListener("ended", () => this.stop());
      onChange(track);
      try {
        await publish();
      } catch (error) {
        release();
        onChange(null);
        throw error;
      }
    },
    /** Stop sharing, and tell the room. */
    async stop() {
      if (!track) return;
      release();
      onChange(null);
      await send("room:screen_stop", {}).catch(() => {});
    },
    /**
     * The room's state arrived: a screen we share that it no longer holds (our rejoin,
     * its own link lost) is sent again.
     * @param {{publishers: number[]}} room @param {number} me
     */
    roomState(room, me) {
      if (track && !sending && !room.publishers.includes(-me)) publish().catch((e) => console.warn("screen", e));
    },
    /** The call is over: the screen goes with it. */
    end: release,
  };
}
