/**
 * The room's image viewer and "show to everyone".
 *
 * Whoever shows an image sends its view (file, frame, zoom, pan, window/level…) when it
 * changes and where they point, each at most every 100 ms with the latest value always
 * sent last; the others' viewers open the same files and follow. The server keeps the
 * current view, so a late joiner or a reconnect (room:state) picks it up; updates carry
 * a sequence number and an older one is never applied over a newer one.
 * @module share
 */
import { errorText, t } from "./i18n.js";
import { showMismatch } from "./patient_warning.js";

/** Milliseconds between two view (or pointer) messages from the presenter. */
const THROTTLE_MS = 100;

/**
 * The latest value, sent at most every `ms` (the last one always goes out).
 * @template T
 * @param {(value: T) => void} sendNow
 * @param {number} ms
 * @returns {(value: T) => void}
 */
function throttled(sendNow, ms) {
  let last = 0;
  /** @type {ReturnType<typeof setTimeout>|null} */
  let timer = null;
  /** @type {{value: T}|null} */
  let pending = null;
  return (value) => {
    pending = { value };
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      if (pending) sendNow(pending.value);
      pending = null;
    }, wait);
  };
}

/**
 * @param {HTMLElement} panel the <section data-testid="viewer-panel">
 * @param {{me: number, send: (event: string, payload: object) => Promise<any>, socket: any,
 *   files: {ensure: (ids: number[]) => Promise<any[]>}}} room
 */
export function setUpSharing(panel, { me, send, socket, files }) {
  const stage = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-stage"]'));
  const title = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-title"]'));
  const showButton = /** @type {HTMLButtonElement} */ (panel.querySelector('[data-testid="show-to-all"]'));
  const stopButton = /** @type {HTMLButtonElement} */ (panel.querySelector('[data-testid="stop-showing"]'));
  const closeButton = /** @type {HTMLButtonElement} */ (panel.querySelector('[data-testid="viewer-close"]'));
  const shareStatus = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="share-status"]'));
  /** @type {any} */
  let viewer = null;
  /** @type {any[]} */
  let group = [];
  let presenting = false;
  /** The newest presentation update applied (room:shown / room:view / room:state). */
  let seq = 0;
  let openedKey = "";

  const sendView = throttled((/** @type {any} */ view) => {
    if (presenting) send("room:view", { view }).catch(() => {});
  }, THROTTLE_MS);
  const sendPointer = throttled((/** @type {any} */ at) => {
    if (presenting) send("room:pointer", { at }).catch(() => {});
  }, THROTTLE_MS);

  function render() {
    showButton.hidden = presenting || !viewer;
    stopButton.hidden = !presenting;
    panel.dataset.presenting = String(presenting);
  }

  /** @param {any[]} chosen the files of one image or one series */
  async function open(chosen) {
    const key = chosen.map((f) => f.id).join(",");
    if (viewer && key === openedKey) return viewer;
    viewer?.close();
    viewer = null;
    group = chosen;
    openedKey = key;
    panel.hidden = false;
    title.textContent = chosen.length > 1 ? `${chosen[0].modality ?? "DICOM"} · ${chosen.length}` : chosen[0].name;
    showMismatch(panel, chosen);
    stage.replaceChildren();
    const { openViewer } = await import("./image_viewer.js");
    const opened = await openViewer(stage, chosen, {});
    if (openedKey !== key) {
      opened.close();
      return viewer;
    }
    viewer = opened;
    opened.onChange((/** @type {any} */ view) => sendView(view));
    opened.onPointer((/** @type {any} */ at) => sendPointer(at));
    render();
    return opened;
  }

  /**
   * Open a file the person chose: while they show everyone, everyone moves to it (and
   * a late joiner gets it, not the file before).
   * @param {any[]} chosen
   */
  async function openOwn(chosen) {
    const showing = presenting;
    const opened = await open(chosen);
    if (!showing || !opened || !presenting) return opened;
    try {
      const reply = await send("room:show", { files: chosen.map((f) => f.id), view: opened.state() });
      seq = reply.seq;
    } catch (error) {
      shareStatus.textContent = errorText(/** @type {any} */ (error));
    }
    return opened;
  }

  /** @param {any} shown a presentation from the server, or null when it ended */
  async function follow(shown) {
    if (!shown) {
      // The server counts afresh for the next presentation.
      seq = 0;
      presenting = false;
      shareStatus.textContent = "";
      panel.dataset.presenter = "";
      render();
      return;
    }
    if (shown.seq < seq && panel.dataset.presenter === String(shown.presenter)) return;
    seq = shown.seq;
    panel.dataset.presenter = String(shown.presenter);
    if (shown.presenter === me) {
      shareStatus.textContent = t("files.you_show");
      return;
    }
    presenting = false;
    shareStatus.textContent = t("files.showing", { name: shown.name });
    try {
      const chosen = await files.ensure(shown.files);
      if (!chosen.length) return;
      const opened = await open(chosen);
      if (seq === shown.seq) opened?.apply(shown.view);
    } catch (error) {
      shareStatus.textContent = errorText(/** @type {any} */ (error));
    }
    render();
  }

  // When a gesture ends, the view as it stands is sent once more: on a loaded PC the
  // viewer's last change event can come after the throttle's last send.
  stage.addEventListener("pointerup", () => {
    setTimeout(() => {
      if (presenting && viewer) sendView(viewer.state());
    }, 150);
  });

  showButton.addEventListener("click", async () => {
    if (!viewer) return;
    try {
      const reply = await send("room:show", { files: group.map((f) => f.id), view: viewer.state() });
      seq = reply.seq;
      presenting = true;
      panel.dataset.presenter = String(me);
      shareStatus.textContent = t("files.you_show");
    } catch (error) {
      shareStatus.textContent = errorText(/** @type {any} */ (error));
    }
    render();
  });
  stopButton.addEventListener("click", async () => {
    presenting = false;
    render();
    await send("room:unshow", {}).catch(() => {});
    shareStatus.textContent = "";
  });
  closeButton.addEventListener("click", async () => {
    if (presenting) await send("room:unshow", {}).catch(() => {});
    presenting = false;
    viewer?.close();
    viewer = null;
    openedKey = "";
    panel.hidden = true;
    render();
  });

  socket.on("room:shown", (/** @type {any} */ message) => follow(message.shown));
  socket.on("room:view", (/** @type {any} */ message) => {
    if (presenting || message.seq <= seq) return;
    seq = message.seq;
    viewer?.apply(message.view);
  });
  socket.on("room:pointer", (/** @type {any} */ message) => {
    if (!presenting) viewer?.pointer(message.at);
  });
  render();
  return {
    open,
    openOwn,
    /** A room:state (join, rejoin): pick up what is being shown. @param {any} room */
    roomState(room) {
      if (room.shown && room.shown.seq > seq) follow(room.shown);
      else if (!room.shown && panel.dataset.presenter) follow(null);
    },
  };
}
