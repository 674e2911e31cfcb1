/**
 * The call: our one peer connection to the server, from joining the room to hanging up.
 *
 * Reconnect, don't reload: a watchdog notices a dead peer connection (failed, ICE
 * disconnected for a few seconds, not up long after it was built, or no media at all for
 * 8 s while someone is there) and rebuilds it by itself with backoff (aiortc has no ICE
 * restart, so a new peer connection takes the same seat). A socket reconnect takes the
 * seat back and keeps the peer connection if it is up and the server still has its end
 * (only the socket dropped: its pings lost on a saturated uplink), else rebuilds. Each
 * join counts up, and a join overtaken by a newer one gives up and closes what it built.
 * The link's quality is watched (quality.js): our video pauses when the link
 * cannot carry it, and the others are told our state (muted, camera off, paused, quality)
 * on every change and every join.
 *
 * The call holds no page: it reports through the callbacks it is given (the room's status,
 * a notice, remote tracks, the room state of a join) and sends through `send`.
 * @module call
 */
import { errorText, t } from "./i18n.js";
import { offerPeer } from "./negotiation.js";
import { applySendPolicy, lowDataChosen, watchQuality } from "./quality.js";

const BACKOFF_MS = [0, 1000, 2000, 4000, 8000, 15000];
const ICE_DISCONNECTED_MS = 3000;
/** A new connection not up after this long is built again. */
const SETUP_LIMIT_MS = 40000;
// Long enough that a congested link trickling packets is not mistaken for a dead one.
const MEDIA_STALLED_MS = 8000;
const WATCHDOG_MS = 1000;
/** Join errors that trying again cannot mend: the call is over. */
const REFUSALS = ["not_a_participant", "token_invalid", "token_expired", "room_closed", "room_ended"];

/**
 * @typedef {"connecting"|"waiting"|"peer_reconnecting"|"peer_left"|"connected"|"reconnecting"} CallStatus
 * @typedef {"good"|"fair"|"poor"} Level
 * @typedef {{
 *   send: (event: string, payload: object) => Promise<any>,
 *   online: () => boolean,
 *   publishing: boolean,
 *   remotes: {count(): number, anyonePresent(): boolean, absence(): "waiting"|"peer_reconnecting"|"peer_left"},
 *   onRemoteTrack: (index: number, track: MediaStreamTrack) => void,
 *   onJoined: (room: any) => void,
 *   onRefused: (error: any) => void,
 *   onStatus: (status: CallStatus) => void,
 *   notice: (text: string) => void,
 *   onVideo: (active: boolean) => void,
 *   onQuality: (level: Level) => void,
 *   onWatch: () => void,
 *   hint: {ice?: {ice_servers: RTCIceServer[], policy: RTCIceTransportPolicy}, pairs?: number, simulcast?: boolean},
 * }} CallDeps
 *   send: a room message with the join token, resolving with the server's reply (it
 *   rejects with the reply's error). online: whether the socket is connected (without it,
 *   the socket's reconnect rejoins, not the watchdog). publishing: we send camera and
 *   microphone (false for a teaching viewer). remotes: the other publishers (the tiles),
 *   for how many transceiver pairs to offer and whether media should be flowing.
 *   onRemoteTrack: a remote publisher's track, by their place in the room state.
 *   onJoined: the room state of a (re)join, before the peer connection is built.
 *   onRefused: the server refused the join for good (the error has a stable code).
 *   onStatus: the room's status changed or may have. notice: a line for the user ("" to
 *   clear it). onVideo: our video was paused for the link's sake (false) or sends again
 *   (true). onQuality: our link's level changed. onWatch: each watchdog look at a live
 *   call, once a second (the tiles' seat countdowns). hint: from the page, what the
 *   join will say (ICE servers, how many others, layers), so that the first offer is
 *   built while the socket connects and goes with the join.
 *
 * @typedef {{pc: RTCPeerConnection, offer: {type: "offer", sdp: string}, pairs: number, simulcast: boolean}} Offered
 */

/**
 * Create the room's call. Its watchdog (every second) and the quality monitor (every
 * 2 s) start at once and idle until there is a peer connection; nothing is sent before
 * `join()`.
 * @param {CallDeps} deps
 */
export function createCall(deps) {
  const { send, publishing } = deps;
  /** @type {RTCPeerConnection|null} */
  let pc = null;
  /** Our camera and microphone (none for a teaching viewer). */
  let local = new MediaStream();
  /** How many remote publishers the current peer connection was built for. */
  let negotiated = 0;
  /** Past the pre-join check: (re)connecting the socket (re)joins the room. */
  let entered = false;
  let finished = false;
  /** ICE servers and policy from the last join reply (TURN credentials expire). */
  /** @type {{ice_servers: RTCIceServer[], policy: RTCIceTransportPolicy}} */
  let ice = deps.hint.ice ?? { ice_servers: [], policy: "all" };
  /** The server asks for the camera in layers (a lesson's presenter, a room of three or more). */
  let simulcast = deps.hint.simulcast === true;
  /** The first offer, built from the page's hint as soon as we are past the check. @type {Promise<Offered>|null} */
  let early = null;
  /** Low-data mode (the user's choice, remembered on this PC). */
  let lowData = lowDataChosen();
  /** False while our video is paused because the link cannot carry it. */
  let videoActive = true;
  /** Our link as judged from the browser's statistics. @type {string|null} */
  let quality = null;
  /** A rebuild of the peer connection is under way. */
  let building = false;
  /** Each join counts up: a join overtaken by a newer one (a socket reconnect) gives up. */
  let generation = 0;
  let rebuildAttempts = 0;
  let lastRebuild = 0;
  /** Since when ICE has been "disconnected" (0: it is not). */
  let disconnectedSince = 0;
  /** This page's call has been connected once: a later loss is "reconnecting". */
  let everConnected = false;
  /** Inbound media bytes at the last watchdog look, and since when they stopped growing. */
  let inboundBytes = 0;
  let inboundStalledSince = 0;

  /** The room's status from the socket, our peer connection and who else is here. */
  function refreshStatus() {
    if (finished || !entered) return;
    const others = deps.remotes.anyonePresent();
    if (!deps.online() || building || pc?.connectionState === "failed" || disconnectedSince) {
      // The first connection is "connecting", not "reconnecting" (it once said so while
      // an Edge link took its seconds to join).
      deps.onStatus(everConnected ? "reconnecting" : "connecting");
    } else if (pc?.connectionState !== "connected") {
      deps.onStatus("connecting");
    } else {
      deps.onStatus(others ? "connected" : deps.remotes.absence());
    }
  }

  /** Transceiver pairs for the others as the room is now (one at least). */
  const pairsNow = () => Math.max(1, deps.remotes.count());

  /**
   * A new peer connection, offered but not yet answered.
   * @param {number} pairs transceiver pairs (one per other publisher)
   * @param {boolean} layered send the camera in layers
   * @returns {Promise<Offered>}
   */
  async function offer(pairs, layered) {
    /** @type {RTCPeerConnection|null} */
    let made = null;
    const { pc: built, offer: description } = await offerPeer({
      stream: local,
      remotes: pairs,
      simulcast: layered,
      send,
      onRemoteTrack: deps.onRemoteTrack,
      ice,
      onState: (state) => {
        if (finished || made !== pc) return;
        if (state === "connected") {
          everConnected = true;
          rebuildAttempts = 0;
          if (videoActive) deps.notice(""); // a paused-video notice keeps its retry button
          applySendPolicy(made, { lowData, videoActive });
        }
        refreshStatus();
      },
    });
    made = built;
    return { pc: built, offer: description, pairs, simulcast: layered };
  }

  /**
   * Put a new peer connection in place of ours: `offered` with the answer the join
   * brought, or one offered now on its own.
   * @param {number} [mine] the join this belongs to (stale ones close what they built)
   * @param {Offered} [offered] @param {string} [answer]
   */
  async function startMedia(mine = generation, offered, answer) {
    pc?.close();
    disconnectedSince = 0;
    inboundStalledSince = 0;
    inboundBytes = 0;
    negotiated = offered ? offered.pairs : pairsNow();
    const made = offered ?? (await offer(negotiated, simulcast));
    try {
      const sdp = answer ?? (await send("room:offer", made.offer)).sdp;
      performance.mark("room:answer");
      if (mine !== generation || finished) throw new Error("stale");
      await made.pc.setRemoteDescription({ type: "answer", sdp });
    } catch (error) {
      made.pc.close();
      if (mine !== generation || finished) return;
      throw error;
    }
    pc = made.pc;
    const built = made.pc;
    built.addEventListener("iceconnectionstatechange", () => {
      if (built !== pc) return;
      const state = built.iceConnectionState;
      if (state === "connected") performance.mark("room:ice");
      disconnectedSince = state === "disconnected" ? disconnectedSince || Date.now() : 0;
      refreshStatus();
    });
    refreshStatus();
  }

  /**
   * Join (or take our seat back) and build a new peer connection; with `keep` (only the
   * socket dropped), keep the one we have if it is up and the server still has its end.
   * A new connection's offer goes with the join (one round trip less), and is used if
   * the join's reply agrees with what it was built for.
   * @param {{keep?: boolean}} [options]
   */
  async function join({ keep = false } = {}) {
    if (finished) return;
    const mine = ++generation;
    building = true;
    lastRebuild = Date.now();
    refreshStatus();
    /** @type {Offered|null} */
    let offered = null;
    try {
      // Ours may go on (a socket that dropped alone): then no offer, which would replace it.
      const mayKeep = keep && pc?.connectionState === "connected";
      const ahead = early; // taken at once: a join that overtakes this one builds its own
      early = null;
      if (!mayKeep) offered = await (ahead ?? offer(pairsNow(), simulcast));
      else ahead?.then((unused) => unused.pc.close()).catch(() => {});
      if (mine !== generation) {
        offered?.pc.close();
        return;
      }
      performance.mark("room:join");
      const reply = await send("room:join", offered ? { offer: offered.offer } : {});
      performance.mark("room:joined");
      if (mine !== generation) {
        offered?.pc.close();
        return;
      }
      if (reply.ice) ice = reply.ice;
      simulcast = reply.simulcast === true;
      deps.onJoined(reply.room);
      // Our state again on every (re)join: a missing device, a paused video and the
      // link's quality may have been sent on a socket that has since dropped.
      if (publishing) sendMediaState();
      const intact =
        keep && reply.media === true && pc?.connectionState === "connected" && deps.remotes.count() <= negotiated;
      const fits =
        offered && reply.answer && offered.simulcast === simulcast && deps.remotes.count() <= offered.pairs;
      if (intact) {
        console.info("socket back: the peer connection goes on");
        offered?.pc.close();
      } else if (fits && offered) {
        performance.mark("room:answered-with-join");
        await startMedia(mine, offered, reply.answer.sdp);
      } else {
        offered?.pc.close();
        await startMedia(mine);
      }
    } catch (error) {
      offered?.pc.close();
      if (mine !== generation) return;
      const err = /** @type {any} */ (error);
      if (REFUSALS.includes(err?.code)) {
        deps.onRefused(err);
      } else {
        deps.notice(err?.code ? errorText(err) : t("room.reconnecting"));
      }
    } finally {
      if (mine === generation) {
        building = false;
        refreshStatus();
      }
    }
  }

  /** Sum of the media bytes received so far (0 without a peer connection). */
  async function inboundTotal() {
    if (!pc) return 0;
    let total = 0;
    for (const report of (await pc.getStats()).values()) {
      if (report.type === "inbound-rtp") total += report.bytesReceived ?? 0;
    }
    return total;
  }

  /**
   * Why our peer connection counts as dead now ("" while it does not).
   * @param {number} now @param {boolean} connected
   */
  function deadBecause(now, connected) {
    if (pc?.connectionState === "failed") return "failed";
    if (!connected && now - lastRebuild >= SETUP_LIMIT_MS) return "not up";
    if (disconnectedSince && now - disconnectedSince >= ICE_DISCONNECTED_MS) return "ice disconnected";
    if (inboundStalledSince && now - inboundStalledSince >= MEDIA_STALLED_MS) return "no media";
    return "";
  }

  /** Once a second: rebuild a peer connection that died, with backoff. */
  async function watchdog() {
    if (finished || building || !pc) return;
    const now = Date.now();
    const others = deps.remotes.anyonePresent();
    const total = await inboundTotal();
    // Media can only stall on a connection that is up: one still being set up (ICE and
    // DTLS over an Edge-class link take 10 s or more) has its own, longer limit.
    const connected = pc.connectionState === "connected";
    if (total > inboundBytes || !others || !connected) inboundStalledSince = 0;
    else if (!inboundStalledSince) inboundStalledSince = now;
    inboundBytes = total;
    const dead = deadBecause(now, connected);
    deps.onWatch();
    if (!dead || !deps.online()) return; // without the socket, its reconnect rejoins
    const wait = BACKOFF_MS[Math.min(rebuildAttempts, BACKOFF_MS.length - 1)];
    if (now - lastRebuild < wait) return;
    rebuildAttempts += 1;
    console.info("rebuilding the peer connection", { attempt: rebuildAttempts, reason: dead });
    deps.notice(t("room.reconnecting"));
    await join();
  }

  function sendMediaState() {
    const enabled = (/** @type {string} */ kind) => local.getTracks().some((tr) => tr.kind === kind && tr.enabled);
    send("room:media", {
      audio: enabled("audio"),
      video: enabled("video"),
      video_paused: !videoActive,
      quality,
    }).catch(() => {});
  }

  /** Pause our video for the link's sake (false) or send it again (true), and say so. @param {boolean} active */
  function setVideoActive(active) {
    if (active === videoActive || !publishing) return;
    videoActive = active;
    if (pc) applySendPolicy(pc, { lowData, videoActive });
    deps.onVideo(active);
    sendMediaState();
  }

  const monitor = watchQuality({
    getPc: () => pc,
    onLevel: (level) => {
      quality = level;
      deps.onQuality(level);
      if (publishing) sendMediaState();
    },
    onVideo: setVideoActive,
  });
  setInterval(() => watchdog().catch((e) => console.warn("watchdog", e)), WATCHDOG_MS);

  return {
    /**
     * Send this stream (the pre-join check's camera and microphone) from the next join on.
     * @param {MediaStream} stream
     */
    setLocal(stream) {
      local = stream;
    },
    /**
     * Past the pre-join check: from now on a socket (re)connect (re)joins. The first
     * offer is built now, while the socket may still be connecting.
     */
    enter() {
      entered = true;
      early = offer(Math.max(1, deps.hint.pairs ?? 1), simulcast);
      early.catch(() => {}); // a failure shows when the join awaits it
    },
    join,
    /** The socket (re)connected: take our seat again if we were in the room. */
    reconnected() {
      if (entered) join({ keep: true });
    },
    /** The room state changed: someone invited needs a transceiver pair, so rebuild. */
    remotesChanged() {
      if (pc && !building && deps.remotes.count() > negotiated) {
        startMedia().catch((e) => deps.notice(errorText(e)));
      }
    },
    refreshStatus,
    /**
     * Our microphone or camera on or off, and the others told.
     * @param {"audio"|"video"} kind @param {boolean} on
     */
    setEnabled(kind, on) {
      for (const track of local.getTracks().filter((tr) => tr.kind === kind)) track.enabled = on;
      sendMediaState();
    },
    /** @returns {boolean} whether low-data mode is on */
    lowData: () => lowData,
    /**
     * Low-data mode on or off (applied to the live peer connection at once).
     * @param {boolean} on
     */
    setLowData(on) {
      lowData = on;
      if (pc) applySendPolicy(pc, { lowData, videoActive });
    },
    /** The user asks for our paused video to be sent again now. */
    retryVideo: () => monitor.retryVideo(),
    /** The peer connection's getStats() entries (none without one). @returns {Promise<any[]>} */
    stats: async () => (pc ? [...(await pc.getStats()).values()] : []),
    /** The ICE servers and policy of the last join (a shared screen's connection uses them). */
    ice: () => ice,
    /** @returns {boolean} past the pre-join check */
    hasEntered: () => entered,
    /** @returns {boolean} left, ended, replaced or refused */
    hasEnded: () => finished,
    /** Hang up for good: close the peer connection and release camera and microphone. */
    end() {
      finished = true;
      pc?.close();
      pc = null;
      for (const track of local.getTracks()) track.stop();
    },
  };
}
