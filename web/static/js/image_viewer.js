/**
 * One consult file on screen: a DICOM image or series through dwv (frames, window/level,
 * zoom, pan, lengths in mm), a photo (zoom, pan, rotation, brightness, contrast), a clip
 * in a <video>, a PDF as a link that downloads it.
 *
 * The view is plain data (ViewState), the same shape for every kind, so a follower can
 * show what the presenter shows: apply() sets it without calling back (no echo), onChange
 * reports only what the user did. Its sizes are relative (zoom 1 = fit, pan in fractions
 * of the image) because the screens differ. dwv (600 kB) is fetched only for a DICOM.
 * The current frame, zoom, window and rotation are kept in data-* attributes of the
 * viewer's root and of the container, for tests and for the page.
 *
 * Input: a drag (mouse or one finger) uses the selected tool, two fingers pinch-zoom, the
 * wheel zooms about the pointer (with Shift it changes frame), arrow and Page keys change
 * frame, + and - zoom.
 *
 * This module is the viewer's shell (toolbar, stage, the messages, the input above) and
 * the seam: each kind of file is a View (typedef below) made by makeView, the photo's in
 * viewer/photo_view.js, the DICOM's in viewer/dicom_view.js, a clip's and a PDF's here.
 * @module image_viewer
 */
import { t } from "./i18n.js";
import { STILL, clamp, el, round } from "./viewer/shared.js";
import { photoView } from "./viewer/photo_view.js";
import { dicomView } from "./viewer/dicom_view.js";

/**
 * @typedef {{id:number, kind:"dicom"|"jpeg"|"png"|"mp4"|"webm"|"pdf", url:string, name:string,
 *   frames:number|null, width:number|null, height:number|null, pixel_spacing:number[]|null,
 *   series_uid:string|null, instance_number:number|null}} FileInfo
 * @typedef {{file: number, frame: number, zoom: number, pan: [number, number], rotation: number,
 *   window: [number, number] | null, brightness: number, contrast: number}} ViewState
 *   zoom: 1 = fit to the viewer; pan: offset of the image centre from the viewer's centre,
 *   in fractions of the displayed image's size (so two viewers of different pixel sizes
 *   show the same part); rotation in degrees (0/90/180/270, photos); window: DICOM
 *   [center, width] in the image's own (rescaled) units, null for photos;
 *   brightness/contrast: 1 = unchanged (photos; CSS filter factors).
 * @typedef {"pan"|"zoom"|"window"|"ruler"} ToolName
 * @typedef {[number, number]} Pair
 * @typedef {{
 *   state(): ViewState,
 *   apply(state: ViewState): void,
 *   onChange(cb: (s: ViewState) => void): void,
 *   pointer(p: Pair | null): void,
 *   onPointer(cb: (p: Pair) => void): void,
 *   tool(name: ToolName): void,
 *   frames(): number,
 *   setFrame(i: number): void,
 *   valueAt(p: Pair): number | null,
 *   close(): void,
 * }} Viewer
 *   apply: show exactly that view (a follower); ignored if `file` is not one of ours;
 *   never calls onChange. onChange: the user changed the view (zoom, pan, window, frame,
 *   rotation, brightness), once per gesture step. pointer: draw the other side's pointer
 *   at image fractions (0..1, 0..1), null hides it; onPointer: the user's pointer over the
 *   image, unthrottled. setFrame: as the user's prev/next buttons (reported by onChange).
 *   valueAt: the image's value (rescaled: Hounsfield units for CT) at image fractions in
 *   the current frame, null for photos. close: remove the viewer from its container.
 * @typedef {{tools: ToolName[], state(): ViewState, apply(s: ViewState): void, frames(): number,
 *   setFrame(i: number): void, zoomAt(at: Pair, factor: number): void, toImage(at: Pair): Pair|null,
 *   toDisplay(p: Pair): Pair|null, setTool(name: ToolName): void, rotate?(): void, reset(): void,
 *   resize(): void, valueAt(p: Pair): number|null, close(): void}} View
 *   One kind of file on the stage, behind the shell (the seam: makeView picks one). tools:
 *   the toolbar's tools it takes (none: an inert view). zoomAt, toImage, toDisplay: in
 *   stage pixels; image points in fractions (0..1). rotate: only if it can turn.
 *   resize: the stage changed size. The rest as the Viewer's.
 */

/**
 * Open `files` in `container` (replacing its content): one image, or the files of one
 * DICOM series, whose frames (each file's, in instance order) are scrolled as one.
 * Never rejects: a file that cannot be shown leaves a message in the container.
 * @param {HTMLElement} container sized by the page; the viewer fills it
 * @param {FileInfo[]} files
 * @param {{tool?: ToolName}} [options] the tool selected at first (default "pan")
 * @returns {Promise<Viewer>}
 */
export async function openViewer(container, files, options = {}) {
  const ui = shell(container);
  /** @type {((s: ViewState) => void)[]} */
  const changeListeners = [];
  /** @type {((p: Pair) => void)[]} */
  const pointerListeners = [];
  /** @type {ViewState|null} the last state published (data-* and onChange) */
  let known = null;
  let pending = false;
  let closed = false;
  /** @type {Pair|null} */
  let remote = null;

  /** Publish the view if it changed; `quiet` for apply(), which must not echo. */
  function publish(quiet = false) {
    // dwv already fires events while the view is being made.
    if (closed || !view) return;
    const s = view.state();
    placePointer();
    ui.frameLabel.textContent = t("viewer.frame", { n: s.frame + 1, total: view.frames() });
    if (known && JSON.stringify(s) === JSON.stringify(known)) return;
    known = s;
    for (const node of [ui.root, container]) {
      node.dataset.frame = String(s.frame);
      node.dataset.zoom = String(round(s.zoom, 3));
      node.dataset.window = s.window ? s.window.map((x) => round(x, 2)).join(",") : "";
      node.dataset.rotation = String(s.rotation);
    }
    if (!quiet) for (const cb of changeListeners) cb(s);
  }
  // dwv fires several events for one gesture: report once, after them.
  const changed = () => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      publish();
    });
  };

  function placePointer() {
    const at = remote && view.toDisplay(remote);
    ui.pointer.hidden = !at;
    if (at) ui.pointer.style.transform = `translate(${at[0]}px, ${at[1]}px)`;
  }

  /** @type {View} */
  let view;
  try {
    view = await makeView(ui, files, changed, (length) => {
      ui.measure.textContent = length === null ? "" : t("viewer.length", { value: length.toFixed(1) });
      ui.measure.dataset.mm = length === null ? "" : String(round(length, 3));
    });
    ui.root.dataset.state = "ready";
  } catch (error) {
    view = inertView(files[0]);
    ui.error.textContent = t("viewer.error");
    ui.error.title = String(/** @type {any} */ (error)?.message ?? error);
    ui.error.hidden = false;
    ui.root.dataset.state = "error";
  }
  ui.status.hidden = true;
  ui.stage.dataset.kind = files[0]?.kind ?? "";

  // Toolbar: only what this kind of file can do.
  /** @param {ToolName} name */
  function selectTool(name) {
    if (!view.tools.includes(name)) return;
    view.setTool(name);
    for (const [tool, button] of Object.entries(ui.tools)) button.setAttribute("aria-pressed", String(tool === name));
    ui.root.dataset.tool = name;
  }
  for (const [name, button] of Object.entries(ui.tools)) {
    button.hidden = !view.tools.includes(/** @type {ToolName} */ (name));
    button.addEventListener("click", () => selectTool(/** @type {ToolName} */ (name)));
  }
  if (view.tools.includes("window") && files[0]?.kind !== "dicom") ui.tools.window.textContent = t("viewer.brightness");
  ui.rotate.hidden = !view.rotate;
  ui.reset.hidden = !view.tools.length;
  ui.rotate.addEventListener("click", () => view.rotate?.());
  ui.reset.addEventListener("click", () => view.reset());
  const step = (/** @type {number} */ by) => {
    const n = view.frames();
    if (n > 1) view.setFrame(clamp(view.state().frame + by, 0, n - 1));
  };
  ui.prev.addEventListener("click", () => step(-1));
  ui.next.addEventListener("click", () => step(1));
  for (const node of [ui.prev, ui.next, ui.frameLabel]) node.hidden = view.frames() < 2;
  ui.toolbar.hidden = !view.tools.length;
  selectTool(options.tool && view.tools.includes(options.tool) ? options.tool : "pan");

  /** @param {PointerEvent|WheelEvent} event @returns {Pair} */
  const local = (event) => {
    const box = ui.stage.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  };
  // Capture: dwv's own wheel handlers (scroll, zoom) never see it, one behaviour for all.
  ui.stage.addEventListener(
    "wheel",
    (event) => {
      if (!view.tools.length) return;
      event.preventDefault();
      event.stopPropagation();
      if (event.shiftKey) return step(Math.sign(event.deltaY || event.deltaX));
      // deltaMode 1: lines (Firefox's mouse wheel), about 40 pixels each.
      const dy = event.deltaMode === 1 ? event.deltaY * 40 : event.deltaY;
      view.zoomAt(local(event), Math.exp(-clamp(dy, -100, 100) / 500));
    },
    { capture: true, passive: false },
  );
  ui.stage.addEventListener("pointermove", (event) => {
    const at = view.toImage(local(event));
    if (at) for (const cb of pointerListeners) cb(at);
  });
  ui.root.addEventListener("keydown", (event) => {
    const by = { ArrowLeft: -1, ArrowUp: -1, PageUp: -1, ArrowRight: 1, ArrowDown: 1, PageDown: 1 }[event.key];
    const zoom = { "+": 1.25, "=": 1.25, "-": 0.8 }[event.key];
    if (by) step(by);
    else if (zoom) view.zoomAt([ui.stage.clientWidth / 2, ui.stage.clientHeight / 2], zoom);
    else return;
    event.preventDefault();
  });
  const resizer = new ResizeObserver(() => {
    // A hidden panel has no size to fit to (dwv would throw).
    if (!ui.stage.clientWidth || !ui.stage.clientHeight) return;
    view.resize();
    if (known) view.apply(known);
    publish(true);
  });
  resizer.observe(ui.stage);
  publish(true);

  return {
    state: () => view.state(),
    apply(state) {
      if (!files.some((f) => f.id === state.file)) return;
      view.apply(state);
      publish(true);
    },
    onChange: (cb) => void changeListeners.push(cb),
    pointer(p) {
      remote = p;
      placePointer();
    },
    onPointer: (cb) => void pointerListeners.push(cb),
    tool: selectTool,
    frames: () => view.frames(),
    setFrame: (i) => view.setFrame(clamp(Math.round(i), 0, Math.max(0, view.frames() - 1))),
    valueAt: (p) => view.valueAt(p),
    close() {
      closed = true;
      resizer.disconnect();
      view.close();
      ui.root.remove();
      for (const key of ["frame", "zoom", "window", "rotation"]) delete container.dataset[key];
    },
  };
}

/** The viewer's frame: toolbar, stage, status lines. @param {HTMLElement} container */
function shell(container) {
  const root = el(
    "div",
    { "data-testid": "image-viewer", "data-state": "loading", tabindex: "0", class: "image-viewer" },
    { display: "flex", flexDirection: "column", width: "100%", height: "100%", minHeight: "0", outline: "none" },
  );
  const toolbar = el(
    "div",
    { role: "toolbar", "aria-label": t("viewer.tools"), class: "viewer-toolbar" },
    { display: "flex", flexWrap: "wrap", gap: "4px", alignItems: "center" },
  );
  const button = (/** @type {string} */ id, /** @type {string} */ key) => {
    const b = el("button", { type: "button", "data-testid": id });
    b.textContent = t(key);
    return b;
  };
  const tools = {
    pan: button("viewer-tool-pan", "viewer.pan"),
    zoom: button("viewer-tool-zoom", "viewer.zoom"),
    window: button("viewer-tool-window", "viewer.window"),
    ruler: button("viewer-tool-ruler", "viewer.ruler"),
  };
  const rotate = button("viewer-rotate", "viewer.rotate");
  const reset = button("viewer-reset", "viewer.reset");
  const prev = button("viewer-prev-frame", "viewer.prev_frame");
  const next = button("viewer-next-frame", "viewer.next_frame");
  const frameLabel = el("span", { "data-testid": "viewer-frame-label", "aria-live": "polite" });
  const measure = el("output", { "data-testid": "viewer-measure" });
  toolbar.append(...Object.values(tools), rotate, reset, prev, frameLabel, next, measure);
  const stage = el(
    "div",
    { class: "viewer-stage" },
    // touch-action: our gestures (and dwv's), not the page's scrolling and zooming.
    { position: "relative", flex: "1 1 auto", minHeight: "240px", overflow: "hidden", touchAction: "none", background: "#000" },
  );
  // The other side's pointer: a ring whose centre is the point (the element's top left).
  const pointer = el("div", { "data-testid": "viewer-remote-pointer", "aria-hidden": "true" }, {
    position: "absolute", left: "-9px", top: "-9px", width: "14px", height: "14px", borderRadius: "50%",
    border: "2px solid #ffd400", boxShadow: "0 0 0 1px #000", pointerEvents: "none", zIndex: "10",
  });
  pointer.hidden = true;
  // Messages lie over the stage: showing or hiding one must not resize what dwv fitted.
  const message = { position: "absolute", inset: "0 0 auto 0", margin: "0", padding: "1em", color: "#fff", zIndex: "11" };
  const status = el("p", { role: "status" }, message);
  status.textContent = t("viewer.loading");
  const error = el("p", { role: "alert", "data-testid": "viewer-error" }, message);
  error.hidden = true;
  stage.append(pointer, status, error);
  root.append(toolbar, stage);
  container.replaceChildren(root);
  return { root, toolbar, tools, rotate, reset, prev, next, frameLabel, measure, stage, pointer, status, error };
}

/**
 * @param {ReturnType<typeof shell>} ui
 * @param {FileInfo[]} files
 * @param {() => void} changed called after any change of the view
 * @param {(mm: number|null) => void} measured the length of the last ruler, in mm
 * @returns {Promise<View>}
 */
async function makeView(ui, files, changed, measured) {
  const first = files[0];
  if (!first) throw new Error("no file to show");
  if (first.kind === "dicom") {
    // A series scrolls in instance order (files without a number last, as given).
    const series = files
      .filter((f) => f.kind === "dicom")
      .map((f, i) => ({ f, i }))
      .sort((a, b) => (a.f.instance_number ?? Infinity) - (b.f.instance_number ?? Infinity) || a.i - b.i)
      .map(({ f }) => f);
    return dicomView(ui.stage, series, changed, measured);
  }
  if (first.kind === "jpeg" || first.kind === "png") return photoView(ui.stage, first, changed);
  if (first.kind === "mp4" || first.kind === "webm") {
    const video = el(
      "video",
      { controls: "", preload: "metadata", playsinline: "", src: first.url },
      { width: "100%", height: "100%", objectFit: "contain" },
    );
    ui.stage.append(video);
    return inertView(first, () => video.removeAttribute("src"));
  }
  if (first.kind === "pdf") {
    // Downloaded and opened by the PC's own reader: never shown in the page, where it
    // could run scripts of its own (the server sends it as a download too).
    const link = el(
      "a",
      { href: `${first.url}?download=1`, download: first.name, "data-testid": "viewer-open-pdf" },
      { color: "#fff", display: "block", padding: "1em" },
    );
    link.textContent = t("viewer.open_pdf", { name: first.name });
    ui.stage.append(link);
    return inertView(first);
  }
  throw new Error(`cannot show a file of kind ${first.kind}`);
}

/** A view with nothing to change (clip, PDF, error). @param {FileInfo|undefined} file */
function inertView(file, close = () => {}) {
  return {
    tools: [],
    state: () => ({ file: file?.id ?? 0, frame: 0, ...STILL }),
    apply() {},
    frames: () => 1,
    setFrame() {},
    zoomAt() {},
    toImage: () => null,
    toDisplay: () => null,
    setTool() {},
    reset() {},
    resize() {},
    valueAt: () => null,
    close,
  };
}
