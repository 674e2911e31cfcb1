/**
 * A room (consult or teaching session): the page's wiring. It reads the page, opens the
 * socket first (everything else sends through it or listens to it), then builds the
 * call (call.js: the peer connection and keeping it alive), the remote tiles (tiles.js)
 * and the side panels (chat, files, shared viewer, note, invite), and connects them:
 * the pre-join check, then into the room; mute / camera off / low data / leave.
 * Teaching viewers only receive.
 *
 * The room's status and notices are said here, in words, in live regions. Leaving,
 * the room's end and a refusal finish the page (with a way back in after leaving).
 * This module holds constants only (the page's elements, the socket): what changes lives
 * in the objects the call, the tiles and the panels return.
 * @module room
 */
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";
import { connect } from "./live.js";
import { openMedia } from "./devices.js";
import { setUpInvite } from "./invite.js";
import { setUpChat } from "./chat.js";
import { setUpFiles } from "./files.js";
import { setUpNote } from "./note.js";
import { setUpSharing } from "./share.js";
import { runPrejoin } from "./prejoin.js";
import { chooseLowData, lowDataChosen } from "./quality.js";
import { createCall } from "./call.js";
import { createScreenShare } from "./screen_share.js";
import { createTiles, showQuality } from "./tiles.js";
import { setUpSidePanel } from "./side_panel.js";
import { setUpQuestions } from "./qa.js";
import { checkedFor, forgetCheck } from "./wait_check.js";
import { followRoom } from "./room_place.js";

const root = /** @type {HTMLElement} */ (document.getElementById("room"));
const token = root.dataset.joinToken ?? "";
const consultId = root.dataset.consultId ?? "";
/** Our own user id: the server lists everyone, we show the others. */
const me = Number(root.dataset.userId);
const statusEl = /** @type {HTMLElement} */ (root.querySelector('[data-testid="room-status"]'));
const notice = /** @type {HTMLElement} */ (root.querySelector('[data-testid="room-notice"]'));
const videos = /** @type {HTMLElement} */ (document.getElementById("videos"));
const publishing = root.dataset.publish === "true";
const teaching = root.dataset.kind === "teaching";
const viewersEl = root.querySelector('[data-testid="room-viewers"]');
const localVideo = /** @type {HTMLVideoElement|null} */ (root.querySelector('[data-testid="local-video"]'));
const micButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="toggle-mic"]'));
const camButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="toggle-camera"]'));
const lowDataButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="low-data"]'));
const hangUpButton = /** @type {HTMLButtonElement} */ (root.querySelector('[data-testid="hang-up"]'));
const ownQuality = /** @type {HTMLElement|null} */ (root.querySelector('[data-testid="quality-self"]'));
/** The room itself (videos, controls), shown after the pre-join check. */
const body = /** @type {HTMLElement} */ (root.querySelector("[data-room-body]"));
const chatPanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="chat"]'));
const filesPanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="files"]'));
const viewerPanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="viewer-panel"]'));
const notePanel = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="note"]'));
const invitePanel = root.querySelector('[data-testid="invite-panel"]');
const sidePanel = /** @type {HTMLElement|null} */ (root.querySelector('[data-testid="side-panel"]'));
const controls = /** @type {HTMLElement} */ (root.querySelector(".controls"));
const shareButton = /** @type {HTMLButtonElement|null} */ (root.querySelector('[data-testid="share-screen"]'));
const REJOIN_KEY = "consult.rejoin";
/** Being in a call is using the login: it must not end for "inactivity" mid-consult. */
const KEEPALIVE_MS = 5 * 60_000;

// The socket first: the call, the panels and the pre-join check send through it.
/** @type {import("./live.js").SocketPlace} */
const place = JSON.parse(root.dataset.socket || "{}");
const socket = connect({ join_token: token }, place);
const roomPlace = followRoom(socket, token, place);

/**
 * @param {"checking"|"connecting"|"waiting"|"live"|"peer_reconnecting"|"peer_left"|"connected"|"reconnecting"|"ended"|"refused"} state
 * @param {string} [detail]
 */
function setState(state, detail) {
  // A teaching session's presenter alone on the stage is live, not waiting for others.
  if (teaching && publishing && state === "waiting") state = "live";
  if (statusEl.dataset.state !== state) {
    statusEl.dataset.state = state;
    statusEl.textContent = t("room.state." + state);
  }
  if (detail !== undefined) showNotice(detail);
}

/** @type {ReturnType<typeof setTimeout>|undefined} */
let noticeTimer;

/**
 * A line in the room's live region (screen readers hear it); "" clears it.
 * @param {string} text
 * @param {{brief?: boolean}} [options] brief: cleared after a few seconds (someone came in)
 */
function showNotice(text, { brief = false } = {}) {
  clearTimeout(noticeTimer);
  if (brief) noticeTimer = setTimeout(() => showNotice(""), 6000);
  notice.replaceChildren();
  if (text) {
    const line = document.createElement("p");
    line.textContent = text;
    notice.append(line);
  }
  notice.hidden = !text;
}

/** @param {string} event @param {object} payload */
async function send(event, payload) {
  // Only on a live socket: nothing is queued while it is down, so a stale offer can
  // never reach the server after the reconnect and replace the fresh peer. Not
  // socket.io's "volatile" for that: a volatile packet is also dropped while the
  // transport is busy writing, as it is right after connecting, and the join sent from
  // the connect handler was lost that way (the call then waited for its 15 s timeout).
  if (!socket.connected) throw { message: t("room.reconnecting") };
  const reply = await socket.timeout(15000).emitWithAck(event, { ...payload, token });
  if (reply?.error) throw reply.error;
  return reply;
}

/** `send`, once the socket is up (the pre-join check starts with the page). @param {string} event @param {object} payload */
async function sendConnected(event, payload) {
  if (!socket.connected) await new Promise((resolve) => socket.once("connect", resolve));
  return send(event, payload);
}

const tiles = createTiles(videos, { me, announce: showNotice });
const chat = chatPanel ? setUpChat(chatPanel, { consultId, me: root.dataset.userId ?? "", send, socket }) : null;
const files = filesPanel
  ? setUpFiles(filesPanel, {
      consultId,
      canAttach: true,
      socket,
      // Only ever called on a click, once `sharing` below exists.
      onOpen: (group) => sharing?.openOwn(group).catch((e) => showNotice(errorText(e))),
    })
  : null;
const sharing = viewerPanel && files ? setUpSharing(viewerPanel, { me, send, socket, files }) : null;
const note = notePanel
  ? setUpNote(notePanel, {
      consultId,
      me,
      canWrite: Boolean(notePanel.querySelector('[data-testid="note-editor"]')),
      socket,
    })
  : null;
if (invitePanel instanceof HTMLElement) setUpInvite(invitePanel, consultId);
const qaSection = /** @type {HTMLElement|null} */ (root.querySelector('[data-testid="qa"]'));
const questions = qaSection ? setUpQuestions(qaSection, { presenting: publishing, me: root.dataset.userId ?? "", send, socket }) : null;
if (sidePanel) setUpSidePanel(sidePanel, controls);

const call = createCall({
  send,
  online: () => socket.connected,
  publishing,
  remotes: tiles,
  onRemoteTrack: tiles.attach,
  onJoined: (room) => {
    applyRoomState(room);
    // What was said, sent and signed meanwhile (a reconnect, a rejoin, another tab).
    chat?.refresh();
    files?.refresh();
    note?.refresh();
    questions?.refresh();
  },
  onRefused: (error) => finish("refused", errorText(error)),
  onStatus: (status) => setState(status),
  notice: showNotice,
  onVideo: showVideoPaused,
  onQuality: (level) => {
    if (ownQuality) showQuality(ownQuality, level);
  },
  onWatch: tiles.render, // the seat countdowns
  hint: JSON.parse(root.dataset.call || "{}"),
});

const screen = shareButton
  ? createScreenShare({
      send,
      ice: () => call.ice(),
      onChange: (track) => {
        shareButton.setAttribute("aria-pressed", String(Boolean(track)));
        showNotice(track ? t("room.screen_sharing") : "", { brief: true });
        showOwnScreen(track);
      },
    })
  : null;
if (shareButton && screen?.available()) {
  shareButton.hidden = false;
  shareButton.addEventListener("click", () => {
    const action = screen.sharing() ? screen.stop() : screen.start();
    action.catch((e) => showNotice(t("room.screen_failed", { reason: errorText(e) })));
  });
}

/**
 * What we share, large on our own stage (our camera stays small in its corner).
 * @param {MediaStreamTrack|null} track
 */
function showOwnScreen(track) {
  videos.querySelector(".tile.local-screen")?.remove();
  videos.classList.toggle("sharing", Boolean(track));
  if (!track) return;
  const figure = document.createElement("figure");
  figure.className = "tile local-screen";
  const video = document.createElement("video");
  video.dataset.testid = "local-screen";
  video.autoplay = video.muted = video.playsInline = true;
  video.srcObject = new MediaStream([track]);
  const caption = document.createElement("figcaption");
  caption.textContent = t("room.screen_yours");
  figure.append(video, caption);
  videos.prepend(figure);
}

/** @param {any} room the server's room state */
function applyRoomState(room) {
  tiles.update(room);
  screen?.roomState(room, me);
  if (viewersEl) viewersEl.textContent = room.viewers ? t("room.viewers", { n: room.viewers }) : "";
  const recording = root.querySelector('[data-testid="recording-indicator"]');
  if (recording instanceof HTMLElement) recording.hidden = !room.recording;
  sharing?.roomState(room);
  call.refreshStatus();
}

/** Our video paused for the link's sake (with a button to try now), or sent again. @param {boolean} active */
function showVideoPaused(active) {
  if (active) {
    showNotice("");
    return;
  }
  showNotice(t("room.video_paused_self"));
  const retry = document.createElement("button");
  retry.dataset.testid = "video-retry";
  retry.textContent = t("room.video_retry");
  retry.addEventListener("click", () => call.retryVideo());
  notice.lastElementChild?.append(" ", retry);
}

/**
 * The call is over (we left, it ended, another window took it, or we were refused): say
 * so above everything, with the ways on, and let nothing claim a live link any more.
 * @param {"ended"|"refused"} state @param {string} text
 */
function finish(state, text) {
  call.end();
  screen?.end();
  tiles.end();
  if (ownQuality) showQuality(ownQuality, null);
  root.classList.add("finished");
  setState(state, text);
  for (const button of [micButton, camButton, lowDataButton, shareButton, hangUpButton]) if (button) button.disabled = true;
  const recording = root.querySelector('[data-testid="recording-indicator"]');
  if (recording instanceof HTMLElement) recording.hidden = true;
  const ways = document.createElement("p");
  ways.className = "ways-on";
  if (state === "ended" && text === t("room.you_left")) {
    // Leaving is not ending: whoever left may come back while the room runs.
    const rejoin = document.createElement("button");
    rejoin.className = "primary";
    rejoin.dataset.testid = "rejoin";
    rejoin.textContent = t("room.rejoin");
    rejoin.addEventListener("click", () => {
      // Back in at once: the devices were checked a minute ago.
      sessionStorage.setItem(REJOIN_KEY, consultId);
      window.location.reload();
    });
    ways.append(rejoin);
  }
  const home = document.createElement("a");
  home.href = "/";
  home.className = "button" + (ways.childElementCount ? "" : " primary");
  home.textContent = t("nav.home");
  ways.append(home);
  if (consultId) {
    const record = document.createElement("a");
    record.href = `/consults/${consultId}`;
    record.className = "button";
    record.dataset.testid = "open-record";
    record.textContent = t("room.open_record");
    ways.append(record);
  }
  notice.append(ways);
  socket.disconnect();
}

/** @param {HTMLButtonElement} button @param {"audio"|"video"} kind */
function toggle(button, kind) {
  // One label; the pressed state says whether it is on (WAI-ARIA toggle button).
  const off = button.getAttribute("aria-pressed") !== "true";
  button.setAttribute("aria-pressed", String(off));
  call.setEnabled(kind, !off);
}

/** Our camera and microphone (after the pre-join check), then into the room. */
async function enter() {
  if (publishing) {
    const panel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="prejoin"]'));
    // Back in after leaving, or checked while waiting a few minutes ago: no second check.
    const rejoining = sessionStorage.getItem(REJOIN_KEY) === consultId || checkedFor(consultId);
    sessionStorage.removeItem(REJOIN_KEY);
    forgetCheck();
    setState("checking");
    const media = rejoining ? { ...(await openMedia()), speaker: "" } : await runPrejoin(panel, sendConnected);
    performance.mark("room:media");
    call.setLocal(media.stream);
    tiles.setSpeaker(media.speaker);
    call.setLowData(lowDataChosen());
    lowDataButton?.setAttribute("aria-pressed", String(call.lowData()));
    if (localVideo) localVideo.srcObject = media.stream;
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
  document.body.classList.add("in-call");
  call.enter();
  setState("connecting");
  if (socket.connected) await call.join();
}

lowDataButton?.setAttribute("aria-pressed", String(call.lowData()));
lowDataButton?.addEventListener("click", () => {
  const on = !call.lowData();
  chooseLowData(on);
  lowDataButton.setAttribute("aria-pressed", String(on));
  call.setLowData(on);
});
micButton?.addEventListener("click", () => toggle(micButton, "audio"));
camButton?.addEventListener("click", () => toggle(camButton, "video"));
// Alt+M: microphone, Alt+V: camera (as in the buttons' titles), wherever the focus is.
document.addEventListener("keydown", (event) => {
  if (!event.altKey || event.ctrlKey || event.metaKey || !call.hasEntered() || call.hasEnded()) return;
  const button = event.code === "KeyM" ? micButton : event.code === "KeyV" ? camButton : null;
  if (!button || button.disabled) return;
  event.preventDefault();
  button.click();
});
hangUpButton.addEventListener("click", async () => {
  await send("room:leave", {}).catch(() => {});
  finish("ended", t("room.you_left"));
});

// Test and support hook (docs/testing.md): the peer's statistics, where the room's socket is.
Object.assign(window, { consultRoom: { stats: () => call.stats(), place: () => roomPlace.current() } });

socket.on("connect", () => {
  performance.mark("room:socket");
  call.reconnected();
});
socket.on("disconnect", () => call.refreshStatus());
socket.on("connect_error", (/** @type {any} */ error) => {
  if (roomPlace.refused(error)) return;
  const data = error?.data;
  if (data?.code) finish("refused", errorText(data));
});
socket.on("room:state", (/** @type {any} */ room) => {
  applyRoomState(room);
  // Someone was invited: rebuild the peer with a transceiver pair for them.
  call.remotesChanged();
});
socket.on("room:ended", () => finish("ended", t("room.ended")));
socket.on("room:replaced", () => finish("ended", t("room.replaced")));

setInterval(() => {
  if (call.hasEntered() && !call.hasEnded()) api("/api/session/keepalive", { method: "POST" }).catch(() => {});
}, KEEPALIVE_MS);
enter().catch((e) => showNotice(errorText(e)));
// Closing the page is leaving (not a dropped link that keeps a seat for minutes).
window.addEventListener("pagehide", (event) => {
  if (!event.persisted && !call.hasEnded() && socket.connected) socket.emit("room:leave", { token });
});
