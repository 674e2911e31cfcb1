/**
 * A room (consult or teaching session): join with the token, connect media, show each
 * remote publisher, mute / camera off / hang up. Teaching viewers only receive. A socket reconnect rebuilds the peer (session
 * resumption: aiortc has no ICE restart).
 * @module room
 */
import { errorText, t } from "./i18n.js";
import { connect } from "./live.js";
import { openMedia } from "./devices.js";
import { connectPeer } from "./negotiation.js";
import { setUpInvite } from "./invite.js";

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

/** @param {"connecting"|"connected"|"ended"|"refused"} state @param {string} [detail] */
function setState(state, detail) {
  statusEl.dataset.state = state;
  statusEl.textContent = t("room.state." + state);
  if (detail !== undefined) showNotice(detail);
}

/** @param {string} text */
function showNotice(text) {
  notice.textContent = text;
  notice.hidden = !text;
}

/** @param {string} event @param {object} payload */
async function send(event, payload) {
  const reply = await socket.timeout(15000).emitWithAck(event, { ...payload, token });
  if (reply?.error) throw reply.error;
  return reply;
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
    const caption = document.createElement("figcaption");
    figure.append(video, caption);
    videos.append(figure);
  }
  return figure;
}

function renderRemotes() {
  remotes.forEach((person, index) => {
    const figure = tile(index);
    figure.dataset.userId = String(person.user_id);
    figure.dataset.present = String(person.present);
    const flags = [
      person.present ? "" : t("room.waiting_for"),
      person.audio ? "" : t("room.muted"),
      person.video ? "" : t("room.camera_is_off"),
    ].filter(Boolean);
    const caption = figure.querySelector("figcaption");
    if (caption) caption.textContent = [person.name, ...flags].join(" · ");
  });
}

/** @param {number} index @param {MediaStreamTrack} track */
function onRemoteTrack(index, track) {
  tile(index);
  const stream = remoteStreams[index];
  for (const old of stream.getTracks().filter((t) => t.kind === track.kind)) stream.removeTrack(old);
  stream.addTrack(track);
}

async function startMedia() {
  pc?.close();
  negotiated = Math.max(1, remotes.length);
  pc = await connectPeer({
    stream: local,
    remotes: negotiated,
    send,
    onRemoteTrack,
    onState: (state) => {
      if (finished) return;
      if (state === "connected") setState("connected", "");
      else if (state === "failed" || state === "disconnected") setState("connecting", t("room.reconnecting"));
    },
  });
}

async function join() {
  try {
    const { room } = await send("room:join", {});
    applyRoomState(room);
    await startMedia();
  } catch (error) {
    const err = /** @type {any} */ (error);
    if (["not_a_participant", "token_invalid", "token_expired", "room_closed", "room_ended"].includes(err?.code)) {
      finish("refused", errorText(err));
    } else {
      showNotice(errorText(err));
    }
  }
}

/** @param {any} room the server's room state */
function applyRoomState(room) {
  const byId = new Map(room.participants.map((/** @type {any} */ p) => [p.user_id, p]));
  remotes = room.publishers.filter((/** @type {number} */ id) => id !== selfId()).map((/** @type {number} */ id) => byId.get(id));
  renderRemotes();
  if (viewersEl) viewersEl.textContent = room.viewers ? t("room.viewers", { n: room.viewers }) : "";
  const recording = root.querySelector('[data-testid="recording-indicator"]');
  if (recording instanceof HTMLElement) recording.hidden = !room.recording;
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
  const home = document.createElement("a");
  home.href = "/";
  home.className = "button";
  home.textContent = t("nav.home");
  notice.append(" ", home);
  socket.disconnect();
}

/** @param {HTMLButtonElement} button @param {"audio"|"video"} kind @param {string} onKey @param {string} offKey */
function toggle(button, kind, onKey, offKey) {
  const tracks = local.getTracks().filter((tr) => tr.kind === kind);
  const off = button.getAttribute("aria-pressed") !== "true";
  for (const track of tracks) track.enabled = !off;
  button.setAttribute("aria-pressed", String(off));
  button.textContent = t(off ? offKey : onKey);
  sendMediaState();
}

function sendMediaState() {
  const enabled = (/** @type {string} */ kind) => local.getTracks().some((tr) => tr.kind === kind && tr.enabled);
  send("room:media", { audio: enabled("audio"), video: enabled("video") }).catch(() => {});
}

micButton?.addEventListener("click", () => toggle(micButton, "audio", "room.mute", "room.unmute"));
camButton?.addEventListener("click", () => toggle(camButton, "video", "room.camera_off", "room.camera_on"));
hangUpButton.addEventListener("click", async () => {
  await send("room:leave", {}).catch(() => {});
  finish("ended", t("room.you_left"));
});

const invitePanel = root.querySelector('[data-testid="invite-panel"]');
if (invitePanel instanceof HTMLElement) setUpInvite(invitePanel, root.dataset.consultId ?? "");

if (publishing) {
  const media = await openMedia();
  local = media.stream;
  if (localVideo) localVideo.srcObject = local;
  if (media.missing.length) {
    showNotice(t("room.missing_devices", { what: media.missing.map((k) => t("device." + k)).join(", ") }));
  }
}

// Test and support hook (docs/testing.md): the peer's statistics.
Object.assign(window, {
  consultRoom: { stats: async () => (pc ? [...(await pc.getStats()).values()] : []) },
});

const socket = connect({ join_token: token });
socket.on("connect", join);
socket.on("connect_error", (/** @type {any} */ error) => {
  const data = error?.data;
  if (data?.code) finish("refused", errorText(data));
});
socket.on("room:state", (/** @type {any} */ room) => {
  applyRoomState(room);
  // Someone was invited: rebuild the peer with a transceiver pair for them.
  if (pc && remotes.length > negotiated) startMedia().catch((e) => showNotice(errorText(e)));
});
socket.on("room:ended", () => finish("ended", t("room.ended")));
socket.on("room:replaced", () => finish("ended", t("room.replaced")));

