/**
 * A room (consult or teaching session): join with the token, connect media, show each
 * remote publisher, mute / camera off / leave. Teaching viewers only receive.
 *
 * Reconnect, don't reload: a watchdog notices a dead peer connection (failed, ICE
 * disconnected for a few seconds, or no media at all for 8 s while someone is there) and
 * rebuilds it by itself with backoff (aiortc has no ICE restart, so a new peer
 * connection takes the same seat); a socket reconnect does the same. Someone whose link
 * dropped is shown as reconnecting, with the time their seat is kept, never as a frozen
 * picture presented as live.
 * @module room
 */
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";
import { connect } from "./live.js";
import { canChooseSpeaker, openMedia } from "./devices.js";
import { connectPeer } from "./negotiation.js";
import { setUpInvite } from "./invite.js";
import { setUpChat } from "./chat.js";
import { setUpFiles } from "./files.js";
import { setUpNote } from "./note.js";
import { setUpSharing } from "./share.js";
import { runPrejoin } from "./prejoin.js";
import { applySendPolicy, chooseLowData, lowDataChosen, watchQuality } from "./quality.js";

const root = /** @type {HTMLElement} */ (document.getElementById("room"));
const token = root.dataset.joinToken ?? "";
const statusEl = /** @type {HTMLElement} */ (root.querySelector('[data-testid="room-status"]'));
const notice = /** @type {HTMLElement} */ (root.querySelector('[data-testid="room-notice"]'));
const videos = /** @type {HTMLElement} */ (document.getElementById("videos"));
const publishing = root.dataset.publish === "true";
const viewersEl = root.querySelector('[data-testid="room-viewers"]');
const localVideo = /** @type {HTMLVideoElement|null} */ (root.querySelector('[data-testid="local-video"]'));
const micButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="toggle-mic"]'));
const camButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="toggle-camera"]'));
const hangUpButton = /** @type {HTMLButtonElement} */ (root.querySelector('[data-testid="hang-up"]'));
/** The room itself (videos, controls), shown after the pre-join check. */
const body = /** @type {HTMLElement} */ (root.querySelector("[data-room-body]"));

/** @type {RTCPeerConnection|null} */
let pc = null;
/** @type {MediaStream} */
let local = new MediaStream();
/** The other publishers, in the order the server sends their media.
 * @type {{user_id: number, name: string, present: boolean, audio: boolean, video: boolean}[]} */
let remotes = [];
/** How many remote publishers the current peer connection was built for. */
let negotiated = 0;
/** @type {MediaStream[]} */
const remoteStreams = [];
let finished = false;
/** Past the pre-join check: (re)connecting the socket (re)joins the room. */
let entered = false;
/** The speaker chosen in the pre-join check ("" for the default). */
let speaker = "";
/** ICE servers and policy from the last join reply (TURN credentials expire). */
/** @type {{ice_servers: RTCIceServer[], policy: RTCIceTransportPolicy}} */
let ice = { ice_servers: [], policy: "all" };
/** Low-data mode (the user's choice, remembered on this PC). */
let lowData = lowDataChosen();
/** False while our video is paused because the link cannot carry it. */
let videoActive = true;
/** Our link as judged from the browser's statistics. @type {string|null} */
let quality = null;
/** Server clock minus ours, ms (for the seat countdowns). */
let clockSkew = 0;
/** A rebuild of the peer connection is under way. */
let building = false;
/** Each join counts up: a join overtaken by a newer one (a socket reconnect) gives up. */
let generation = 0;
let rebuildAttempts = 0;
let lastRebuild = 0;
/** Since when ICE has been "disconnected" (0: it is not). */
let disconnectedSince = 0;
/** Inbound media bytes at the last watchdog look, and since when they stopped growing. */
let inboundBytes = 0;
let inboundStalledSince = 0;
const REJOIN_KEY = "consult.rejoin";
const BACKOFF_MS = [0, 1000, 2000, 4000, 8000, 15000];
const ICE_DISCONNECTED_MS = 3000;
/** A new connection not up after this long is built again. */
const SETUP_LIMIT_MS = 40000;
// Long enough that a congested link trickling packets is not mistaken for a dead one.
const MEDIA_STALLED_MS = 8000;

/** @param {"checking"|"connecting"|"waiting"|"connected"|"reconnecting"|"ended"|"refused"} state @param {string} [detail] */
function setState(state, detail) {
  if (statusEl.dataset.state !== state) {
    statusEl.dataset.state = state;
    statusEl.textContent = t("room.state." + state);
  }
  if (detail !== undefined) showNotice(detail);
}

/** The room's status from the socket, our peer connection and who else is here. */
function updateStatus() {
  if (finished || !entered) return;
  const others = remotes.some((p) => p?.status === "present");
  if (!socket.connected || building || pc?.connectionState === "failed" || disconnectedSince) {
    setState("reconnecting");
  } else if (pc?.connectionState !== "connected") {
    setState("connecting");
  } else {
    setState(others ? "connected" : "waiting");
  }
}

/** @param {string} text */
function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

/** @param {string} event @param {object} payload */
async function send(event, payload) {
  // Volatile: nothing is queued while the socket is down, so a stale offer can never
  // reach the server after the reconnect and replace the fresh peer.
  const reply = await socket.volatile.timeout(15000).emitWithAck(event, { ...payload, token });
  if (reply?.error) throw reply.error;
  return reply;
}

/** `send`, once the socket is up (the pre-join check starts with the page). @param {string} event @param {object} payload */
async function sendConnected(event, payload) {
  if (!socket.connected) await new Promise((resolve) => socket.once("connect", resolve));
  return send(event, payload);
}

/** @param {number} index */
function tile(index) {
  let figure = /** @type {HTMLElement|null} */ (videos.querySelector(`[data-remote-index="${index}"]`));
  if (!figure) {
    figure = document.createElement("figure");
    figure.className = "tile remote";
    figure.dataset.remoteIndex = String(index);
    const video = document.createElement("video");
    video.dataset.testid = "remote-video";
    video.autoplay = true;
    video.playsInline = true;
    remoteStreams[index] = remoteStreams[index] ?? new MediaStream();
    video.srcObject = remoteStreams[index];
    if (speaker && canChooseSpeaker) /** @type {any} */ (video).setSinkId(speaker).catch(() => {});
    const caption = document.createElement("figcaption");
    figure.append(video, caption, qualityBadge());
    videos.append(figure);
  }
  return figure;
}

/** The 3-level connection indicator shown on a tile. */
function qualityBadge() {
  const badge = document.createElement("span");
  badge.className = "quality";
  badge.dataset.testid = "quality";
  badge.hidden = true;
  return badge;
}

/** @param {HTMLElement} badge @param {string|null|undefined} level */
function showQuality(badge, level) {
  badge.hidden = !level;
  if (!level) return;
  badge.dataset.level = level;
  badge.textContent = t("room.quality." + level);
  badge.title = t("room.quality_hint");
}

/** @param {number} ms */
function minutesSeconds(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}

function renderRemotes() {
  remotes.forEach((person, index) => {
    if (!person) return;
    const figure = tile(index);
    figure.dataset.userId = String(person.user_id);
    figure.dataset.present = String(person.status === "present");
    figure.dataset.status = person.status;
    let away = "";
    if (person.status === "dropped" && person.seat_until) {
      const left = person.seat_until * 1000 - (Date.now() + clockSkew);
      away = t("room.peer_reconnecting", { time: minutesSeconds(left) });
    } else if (person.status === "away") {
      away = t("room.waiting_for");
    }
    const flags = [
      away,
      person.audio ? "" : t("room.muted"),
      !person.video ? t("room.camera_is_off") : person.video_paused ? t("room.video_paused_peer") : "",
    ].filter(Boolean);
    const caption = figure.querySelector("figcaption");
    if (caption) caption.textContent = [person.name, ...flags].join(" · ");
    const badge = /** @type {HTMLElement|null} */ (figure.querySelector('[data-testid="quality"]'));
    if (badge) showQuality(badge, person.status === "present" ? person.quality : null);
  });
}

/** @param {number} index @param {MediaStreamTrack} track */
function onRemoteTrack(index, track) {
  tile(index);
  const stream = remoteStreams[index];
  for (const old of stream.getTracks().filter((t) => t.kind === track.kind)) stream.removeTrack(old);
  stream.addTrack(track);
}

/** @param {number} [mine] the join this belongs to (stale ones close what they built) */
async function startMedia(mine = generation) {
  pc?.close();
  disconnectedSince = 0;
  inboundStalledSince = 0;
  inboundBytes = 0;
  negotiated = Math.max(1, remotes.length);
  const built = await connectPeer({
    stream: local,
    remotes: negotiated,
    send,
    onRemoteTrack,
    ice,
    onState: (state) => {
      if (finished || built !== pc) return;
      if (state === "connected") {
        rebuildAttempts = 0;
        if (videoActive) showNotice(""); // a paused-video notice keeps its retry button
        applySendPolicy(built, { lowData, videoActive });
      }
      updateStatus();
    },
  });
  if (mine !== generation || finished) {
    built.close();
    return;
  }
  pc = built;
  built.addEventListener("iceconnectionstatechange", () => {
    if (built !== pc) return;
    const state = built.iceConnectionState;
    disconnectedSince = state === "disconnected" ? disconnectedSince || Date.now() : 0;
    updateStatus();
  });
  updateStatus();
}

/** Join (or take our seat back) and build a new peer connection. */
async function join() {
  if (finished) return;
  const mine = ++generation;
  building = true;
  lastRebuild = Date.now();
  updateStatus();
  try {
    const reply = await send("room:join", {});
    if (mine !== generation) return;
    const room = reply.room;
    if (reply.ice) ice = reply.ice;
    applyRoomState(room);
    // What was said, sent and signed meanwhile (a reconnect, a rejoin, another tab).
    chat?.refresh();
    files?.refresh();
    note?.refresh();
    // Our state again on every (re)join: a missing device, a paused video and the
    // link's quality may have been sent on a socket that has since dropped.
    if (publishing) sendMediaState();
    await startMedia(mine);
  } catch (error) {
    if (mine !== generation) return;
    const err = /** @type {any} */ (error);
    if (["not_a_participant", "token_invalid", "token_expired", "room_closed", "room_ended"].includes(err?.code)) {
      finish("refused", errorText(err));
    } else {
      showNotice(err?.code ? errorText(err) : t("room.reconnecting"));
    }
  } finally {
    if (mine === generation) {
      building = false;
      updateStatus();
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

/** Once a second: rebuild a peer connection that died, with backoff. */
async function watchdog() {
  if (finished || building || !pc) return;
  const now = Date.now();
  const others = remotes.some((p) => p?.status === "present");
  const total = await inboundTotal();
  // Media can only stall on a connection that is up: one still being set up (ICE and
  // DTLS over an Edge-class link take 10 s or more) has its own, longer limit.
  const connected = pc.connectionState === "connected";
  if (total > inboundBytes || !others || !connected) inboundStalledSince = 0;
  else if (!inboundStalledSince) inboundStalledSince = now;
  inboundBytes = total;
  const dead =
    pc.connectionState === "failed" ||
    (!connected && now - lastRebuild >= SETUP_LIMIT_MS) ||
    (disconnectedSince && now - disconnectedSince >= ICE_DISCONNECTED_MS) ||
    (inboundStalledSince && now - inboundStalledSince >= MEDIA_STALLED_MS);
  renderRemotes(); // the countdowns
  if (!dead || !socket.connected) return; // without the socket, its reconnect rejoins
  const wait = BACKOFF_MS[Math.min(rebuildAttempts, BACKOFF_MS.length - 1)];
  if (now - lastRebuild < wait) return;
  rebuildAttempts += 1;
  console.info("rebuilding the peer connection", { attempt: rebuildAttempts });
  showNotice(t("room.reconnecting"));
  await join();
}

/** @param {any} room the server's room state */
function applyRoomState(room) {
  if (typeof room.server_now === "number") clockSkew = room.server_now * 1000 - Date.now();
  const byId = new Map(room.participants.map((/** @type {any} */ p) => [p.user_id, p]));
  remotes = room.publishers.filter((/** @type {number} */ id) => id !== selfId()).map((/** @type {number} */ id) => byId.get(id));
  renderRemotes();
  if (viewersEl) viewersEl.textContent = room.viewers ? t("room.viewers", { n: room.viewers }) : "";
  const recording = root.querySelector('[data-testid="recording-indicator"]');
  if (recording instanceof HTMLElement) recording.hidden = !room.recording;
  sharing?.roomState(room);
  updateStatus();
}

/** Our own user id: the server lists everyone, we show the others. */
function selfId() {
  return Number(root.dataset.userId);
}

/** @param {"ended"|"refused"} state @param {string} text */
function finish(state, text) {
  finished = true;
  pc?.close();
  pc = null;
  for (const track of local.getTracks()) track.stop();
  setState(state, text);
  for (const button of [micButton, camButton, hangUpButton]) if (button) button.disabled = true;
  const recording = root.querySelector('[data-testid="recording-indicator"]');
  if (recording instanceof HTMLElement) recording.hidden = true;
  if (state === "ended" && text === t("room.you_left")) {
    // Leaving is not ending: whoever left may come back while the room runs.
    const rejoin = document.createElement("button");
    rejoin.className = "primary";
    rejoin.dataset.testid = "rejoin";
    rejoin.textContent = t("room.rejoin");
    rejoin.addEventListener("click", () => {
      // Back in at once: the devices were checked a minute ago.
      sessionStorage.setItem(REJOIN_KEY, root.dataset.consultId ?? "");
      window.location.reload();
    });
    notice.append(" ", rejoin);
  }
  const home = document.createElement("a");
  home.href = "/";
  home.className = "button";
  home.textContent = t("nav.home");
  notice.append(" ", home);
  socket.disconnect();
}

/** @param {HTMLButtonElement} button @param {"audio"|"video"} kind */
function toggle(button, kind) {
  // One label; the pressed state says whether it is on (WAI-ARIA toggle button).
  const tracks = local.getTracks().filter((tr) => tr.kind === kind);
  const off = button.getAttribute("aria-pressed") !== "true";
  for (const track of tracks) track.enabled = !off;
  button.setAttribute("aria-pressed", String(off));
  sendMediaState();
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

/** Pause our video for the link's sake (false) or send it again (true), and say so. */
function setVideoActive(active) {
  if (active === videoActive || !publishing) return;
  videoActive = active;
  if (pc) applySendPolicy(pc, { lowData, videoActive });
  if (active) {
    showNotice("");
  } else {
    showNotice(t("room.video_paused_self"));
    const retry = document.createElement("button");
    retry.dataset.testid = "video-retry";
    retry.textContent = t("room.video_retry");
    retry.addEventListener("click", () => monitor.retryVideo());
    notice.append(" ", retry);
  }
  sendMediaState();
}

const monitor = watchQuality({
  getPc: () => pc,
  onLevel: (level) => {
    quality = level;
    const own = /** @type {HTMLElement|null} */ (root.querySelector('[data-testid="quality-self"]'));
    if (own) showQuality(own, level);
    if (publishing) sendMediaState();
  },
  onVideo: setVideoActive,
});

const lowDataButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="low-data"]'));
lowDataButton?.setAttribute("aria-pressed", String(lowData));
lowDataButton?.addEventListener("click", () => {
  lowData = !lowData;
  chooseLowData(lowData);
  lowDataButton.setAttribute("aria-pressed", String(lowData));
  if (pc) applySendPolicy(pc, { lowData, videoActive });
});

micButton?.addEventListener("click", () => toggle(micButton, "audio"));
camButton?.addEventListener("click", () => toggle(camButton, "video"));
hangUpButton.addEventListener("click", async () => {
  await send("room:leave", {}).catch(() => {});
  finish("ended", t("room.you_left"));
});

const invitePanel = root.querySelector('[data-testid="invite-panel"]');
if (invitePanel instanceof HTMLElement) setUpInvite(invitePanel, root.dataset.consultId ?? "");

// Test and support hook (docs/testing.md): the peer's statistics.
Object.assign(window, {
  consultRoom: { stats: async () => (pc ? [...(await pc.getStats()).values()] : []) },
});

const socket = connect({ join_token: token });
const chatPanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="chat"]'));
const chat = chatPanel
  ? setUpChat(chatPanel, { consultId: root.dataset.consultId ?? "", me: root.dataset.userId ?? "", send, socket })
  : null;
const filesPanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="files"]'));
const viewerPanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="viewer-panel"]'));
/** @type {ReturnType<typeof setUpSharing>|null} */
let sharing = null;
const files = filesPanel
  ? setUpFiles(filesPanel, {
      consultId: root.dataset.consultId ?? "",
      canAttach: true,
      socket,
      onOpen: (group) => sharing?.open(group).catch((e) => showNotice(errorText(e))),
    })
  : null;
sharing = viewerPanel && files ? setUpSharing(viewerPanel, { me: selfId(), send, socket, files }) : null;
const notePanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="note"]'));
const note = notePanel
  ? setUpNote(notePanel, {
      consultId: root.dataset.consultId ?? "",
      me: selfId(),
      canWrite: Boolean(notePanel.querySelector('[data-testid="note-editor"]')),
      socket,
    })
  : null;
socket.on("connect", () => {
  if (entered) join();
});
socket.on("disconnect", () => updateStatus());
/** Our camera and microphone (after the pre-join check), then into the room. */
async function enter() {
  if (publishing) {
    const panel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="prejoin"]'));
    const rejoining = sessionStorage.getItem(REJOIN_KEY) === (root.dataset.consultId ?? "");
    sessionStorage.removeItem(REJOIN_KEY);
    setState("checking");
    const media = rejoining ? { ...(await openMedia()), speaker: "" } : await runPrejoin(panel, sendConnected);
    local = media.stream;
    speaker = media.speaker;
    lowData = lowDataChosen();
    lowDataButton?.setAttribute("aria-pressed", String(lowData));
    if (localVideo) localVideo.srcObject = local;
    if (media.missing.length) {
      showNotice(t("room.missing_devices", { what: media.missing.map((k) => t("device." + k)).join(", ") }));
    }
    // A control that cannot work is disabled, and says why.
    for (const [button, kind] of /** @type {const} */ ([[micButton, "audio"], [camButton, "video"]])) {
      if (button && media.missing.includes(kind)) {
        button.disabled = true;
        button.setAttribute("aria-pressed", "true");
        button.title = t("device.missing_" + kind);
      }
    }
  }
  body.hidden = false;
  entered = true;
  setState("connecting");
  if (socket.connected) await join();
}

setInterval(() => watchdog().catch((e) => console.warn("watchdog", e)), 1000);
// Being in a call is using the login: it must not end for "inactivity" mid-consult.
setInterval(() => {
  if (entered && !finished) api("/api/session/keepalive", { method: "POST" }).catch(() => {});
}, 5 * 60_000);
enter().catch((e) => showNotice(errorText(e)));
// Closing the page is leaving (not a dropped link that keeps a seat for minutes).
window.addEventListener("pagehide", (event) => {
  if (!event.persisted && !finished && socket.connected) socket.emit("room:leave", { token });
});
socket.on("connect_error", (/** @type {any} */ error) => {
  const data = error?.data;
  if (data?.code) finish("refused", errorText(data));
});
socket.on("room:state", (/** @type {any} */ room) => {
  applyRoomState(room);
  // Someone was invited: rebuild the peer with a transceiver pair for them.
  if (pc && !building && remotes.length > negotiated) startMedia().catch((e) => showNotice(errorText(e)));
});
socket.on("room:ended", () => finish("ended", t("room.ended")));
socket.on("room:replaced", () => finish("ended", t("room.replaced")));

