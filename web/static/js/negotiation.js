/**
 * One RTCPeerConnection to the server. The browser always offers; the server answers.
 * It offers one audio and one video transceiver per remote participant: the first
 * pair also sends our camera and microphone, the others only receive.
 * @module negotiation
 */

const GATHER_TIMEOUT_MS = 3000;

/**
 * The camera's layers when sending simulcast: half and full size. Two, not three: the
 * browser allows three only from 960x540 up, and cameras here are 640x480.
 */
const SIMULCAST = [
  { rid: "l", scaleResolutionDownBy: 2, maxBitrate: 150_000 },
  { rid: "h", scaleResolutionDownBy: 1, maxBitrate: 1_300_000 },
];

/** Resolves when ICE gathering is complete, or after 3 s. @param {RTCPeerConnection} pc */
export function gatheringComplete(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      if (pc.iceGatheringState !== "complete") return;
      pc.removeEventListener("icegatheringstatechange", done);
      resolve(undefined);
    };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

/**
 * @typedef {{
 *   stream: MediaStream,
 *   remotes: number,
 *   onRemoteTrack: (index: number, track: MediaStreamTrack) => void,
 *   onState: (state: RTCPeerConnectionState) => void,
 *   send: (event: string, payload: object) => Promise<any>,
 *   ice?: {ice_servers: RTCIceServer[], policy: RTCIceTransportPolicy},
 *   simulcast?: boolean,
 * }} PeerOptions  `ice` comes with the page (and every join reply): TURN servers with
 *   short-lived credentials (none unless configured: nothing outside the health service is
 *   used). `simulcast`: send the camera in two qualities (SIMULCAST), lowest first; the
 *   server forwards each viewer the one its link carries.
 */

/**
 * A peer connection with its offer made and its candidates gathered, not yet sent: the
 * offer goes with the room's join, or on its own as `room:offer` (call.js).
 * @param {PeerOptions} options
 * @returns {Promise<{pc: RTCPeerConnection, offer: {type: "offer", sdp: string}}>}
 */
export async function offerPeer({ stream, remotes, send, onRemoteTrack, onState, ice, simulcast }) {
  const pc = new RTCPeerConnection({
    iceServers: ice?.ice_servers ?? [],
    iceTransportPolicy: ice?.policy ?? "all",
  });
  for (const kind of ["audio", "video"]) {
    const track = stream.getTracks().find((t) => t.kind === kind);
    /** @type {RTCRtpTransceiverInit} */
    const init = { direction: track ? "sendrecv" : "recvonly", streams: [stream] };
    if (simulcast && kind === "video" && track) init.sendEncodings = SIMULCAST.map((layer) => ({ ...layer }));
    pc.addTransceiver(track ?? kind, init);
    for (let i = 1; i < Math.max(1, remotes); i++) pc.addTransceiver(kind, { direction: "recvonly" });
  }
  pc.addEventListener("track", (event) => {
    const ofKind = pc.getTransceivers().filter((t) => t.receiver.track.kind === event.track.kind);
    onRemoteTrack(ofKind.indexOf(event.transceiver), event.track);
  });
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected") performance.mark("room:connected");
    onState(pc.connectionState);
  });
  pc.addEventListener("icecandidate", (event) => {
    // aiortc cannot trickle; late candidates and the end-of-candidates mark still go.
    if (pc.remoteDescription) send("room:candidate", { candidate: event.candidate?.toJSON() ?? null });
  });
  await pc.setLocalDescription(await pc.createOffer());
  await gatheringComplete(pc);
  performance.mark("room:offer");
  return { pc, offer: { type: "offer", sdp: pc.localDescription?.sdp ?? "" } };
}
