/**
 * One consult file on screen: a DICOM image or series through dwv (frames, window/level,
 * zoom, pan, lengths in mm), a photo (zoom, pan, rotation, brightness, contrast), a clip
 * in a <video>, a PDF as a link that opens it in a new tab.
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
 * @module image_viewer
 */
import { t } from "./i18n.js";

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
 */

const DWV = "../vendor/dwv/dwv.min.js";
const STILL = { zoom: 1, pan: /** @type {Pair} */ ([0, 0]), rotation: 0, window: null, brightness: 1, contrast: 1 };
/** Display pixels of drag for a factor e (zoom, brightness, contrast). */
const DRAG_SCALE = 150;

/** @param {string} tag @param {Record<string, string>} [attrs] @param {Partial<CSSStyleDeclaration>} [style] */
function el(tag, attrs = {}, style = {}) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  Object.assign(node.style, style);
  return node;
}

const round = (/** @type {number} */ x, digits = 4) => Number(x.toFixed(digits));
const clamp = (/** @type {number} */ x, /** @type {number} */ lo, /** @type {number} */ hi) => Math.min(hi, Math.max(lo, x));

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
    // Opened by the browser in a tab of its own, never embedded here.
    const link = el(
      "a",
      { href: first.url, target: "_blank", rel: "noopener", "data-testid": "viewer-open-pdf" },
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

/**
 * A photo: an <img> (the browser applies its EXIF orientation) moved by CSS transforms,
 * brightness and contrast as a CSS filter.
 * @param {HTMLElement} stage @param {FileInfo} file @param {() => void} changed
 * @returns {Promise<View>}
 */
async function photoView(stage, file, changed) {
  const img = /** @type {HTMLImageElement} */ (
    el(
      "img",
      { alt: file.name, draggable: "false", src: file.url },
      { position: "absolute", transformOrigin: "50% 50%", maxWidth: "none", userSelect: "none", pointerEvents: "none" },
    )
  );
  await img.decode();
  stage.append(img);
  const s = { ...STILL, pan: /** @type {Pair} */ ([0, 0]) };
  /** @type {ToolName} */
  let tool = "pan";
  const w = img.naturalWidth;
  const h = img.naturalHeight;

  // Display size of the (rotated) picture at zoom 1, and the scale from image pixels.
  function layout() {
    const turned = s.rotation % 180 !== 0;
    const [bw, bh] = turned ? [h, w] : [w, h];
    const scale = Math.min(stage.clientWidth / bw, stage.clientHeight / bh) * s.zoom;
    return { bw: bw * scale, bh: bh * scale, scale, cx: stage.clientWidth / 2, cy: stage.clientHeight / 2 };
  }
  function render() {
    const { bw, bh, scale } = layout();
    img.style.left = `${(stage.clientWidth - w) / 2}px`;
    img.style.top = `${(stage.clientHeight - h) / 2}px`;
    img.style.transform = `translate(${s.pan[0] * bw}px, ${s.pan[1] * bh}px) rotate(${s.rotation}deg) scale(${scale})`;
    img.style.filter = `brightness(${s.brightness}) contrast(${s.contrast})`;
  }
  const update = () => {
    render();
    changed();
  };
  /** Image pixels → display, and back (rotation about the image's centre). */
  const angle = () => (s.rotation * Math.PI) / 180;
  /** @param {number} dx @param {number} dy @param {number} a @returns {Pair} */
  const turn = (dx, dy, a) => [dx * Math.cos(a) - dy * Math.sin(a), dx * Math.sin(a) + dy * Math.cos(a)];
  /** @param {Pair} at @param {number} factor */
  function zoomAt(at, factor) {
    const before = layout();
    const zoom = clamp(s.zoom * factor, 0.1, 40);
    const f = zoom / s.zoom;
    // The image point under `at` stays there.
    const px = (1 - f) * (at[0] - before.cx) + f * s.pan[0] * before.bw;
    const py = (1 - f) * (at[1] - before.cy) + f * s.pan[1] * before.bh;
    s.zoom = zoom;
    const after = layout();
    s.pan = [px / after.bw, py / after.bh];
    update();
  }

  // Pointer gestures: one finger or the mouse uses the tool, two fingers pinch-zoom.
  /** @type {Map<number, Pair>} */
  const down = new Map();
  /** @type {Pair} where the gesture started (the zoom tool zooms about it) */
  let from = [0, 0];
  /** @param {PointerEvent} e @returns {Pair} */
  const at = (e) => {
    const box = stage.getBoundingClientRect();
    return [e.clientX - box.left, e.clientY - box.top];
  };
  const spread = () => {
    const [a, b] = [...down.values()];
    return Math.hypot(a[0] - b[0], a[1] - b[1]);
  };
  /** @param {PointerEvent} e */
  function onDown(e) {
    stage.setPointerCapture(e.pointerId);
    if (!down.size) from = at(e);
    down.set(e.pointerId, at(e));
  }
  /** @param {PointerEvent} e */
  function onMove(e) {
    const last = down.get(e.pointerId);
    if (!last) return;
    const now = at(e);
    if (down.size === 2) {
      const before = spread();
      down.set(e.pointerId, now);
      const [a, b] = [...down.values()];
      if (before > 0) zoomAt([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], spread() / before);
      return;
    }
    down.set(e.pointerId, now);
    const [dx, dy] = [now[0] - last[0], now[1] - last[1]];
    const { bw, bh } = layout();
    if (tool === "pan") s.pan = [s.pan[0] + dx / bw, s.pan[1] + dy / bh];
    else if (tool === "zoom") return zoomAt(from, Math.exp(-dy / DRAG_SCALE));
    else if (tool === "window") {
      s.contrast = clamp(s.contrast * Math.exp(dx / DRAG_SCALE), 0.1, 5);
      s.brightness = clamp(s.brightness * Math.exp(-dy / DRAG_SCALE), 0.1, 5);
    }
    update();
  }
  /** @param {PointerEvent} e */
  const onUp = (e) => void down.delete(e.pointerId);
  const listeners = /** @type {const} */ ([
    ["pointerdown", onDown],
    ["pointermove", onMove],
    ["pointerup", onUp],
    ["pointercancel", onUp],
  ]);
  for (const [type, fn] of listeners) stage.addEventListener(type, fn);
  render();

  return {
    tools: ["pan", "zoom", "window"],
    state: () => ({
      file: file.id,
      frame: 0,
      zoom: round(s.zoom),
      pan: [round(s.pan[0]), round(s.pan[1])],
      rotation: s.rotation,
      window: null,
      brightness: round(s.brightness),
      contrast: round(s.contrast),
    }),
    apply(v) {
      const rotation = ((Math.round(v.rotation / 90) * 90) % 360 + 360) % 360;
      Object.assign(s, { zoom: v.zoom, pan: [...v.pan], rotation, brightness: v.brightness, contrast: v.contrast });
      render();
    },
    frames: () => 1,
    setFrame() {},
    zoomAt,
    toImage(p) {
      const { scale, cx, cy, bw, bh } = layout();
      const [dx, dy] = turn(p[0] - cx - s.pan[0] * bw, p[1] - cy - s.pan[1] * bh, -angle());
      const fx = dx / scale / w + 0.5;
      const fy = dy / scale / h + 0.5;
      return fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1 ? [fx, fy] : null;
    },
    toDisplay(p) {
      const { scale, cx, cy, bw, bh } = layout();
      const [dx, dy] = turn((p[0] - 0.5) * w * scale, (p[1] - 0.5) * h * scale, angle());
      return [cx + s.pan[0] * bw + dx, cy + s.pan[1] * bh + dy];
    },
    setTool(name) {
      tool = name;
    },
    rotate() {
      s.rotation = (s.rotation + 90) % 360;
      update();
    },
    reset() {
      Object.assign(s, { ...STILL, pan: [0, 0] });
      update();
    },
    resize: render,
    valueAt: () => null,
    close() {
      for (const [type, fn] of listeners) stage.removeEventListener(type, fn);
      img.remove();
    },
  };
}

/**
 * A DICOM image or series through dwv. Each file is its own dwv data (a series is not
 * merged into a volume: its slices may share a position, and its frames are in instance
 * order); one is on screen at a time, swapped when the frame crosses to another file,
 * which keeps dwv's zoom and pan. dwv's tools do pan (with pinch), window/level and the
 * ruler (its length uses the pixel spacing, in mm); drag-to-zoom is ours (ViewerZoom).
 * @param {HTMLElement} stage @param {FileInfo[]} files @param {() => void} changed
 * @param {(mm: number|null) => void} measured
 * @returns {Promise<View>}
 */
async function dicomView(stage, files, changed, measured) {
  const dwv = await import(DWV);
  dwv.logger.level = dwv.logger.levels.ERROR;
  dwv.toolList.ViewerZoom ??= zoomTool(dwv);
  const div = el("div", { id: `dwv-${Math.random().toString(36).slice(2)}` }, { position: "absolute", inset: "0" });
  stage.append(div);
  // dwv leaves the stacking of its layers to the page's CSS (`.layer {position: absolute}`).
  const styler = new MutationObserver(() => {
    for (const layer of /** @type {HTMLElement[]} */ ([...div.children])) {
      Object.assign(layer.style, { position: "absolute", left: "0", top: "0" });
    }
  });
  styler.observe(div, { childList: true });

  const app = new dwv.App();
  const options = new dwv.AppOptions({});
  options.tools = { ZoomAndPan: {}, ViewerZoom: {}, WindowLevel: {}, Draw: { options: ["Ruler"] } };
  app.init(options);
  const ids = await Promise.all(files.map((f) => load(app, f.url)));

  /** Every frame of the series: which data, and which frame within it. */
  const frames = ids.flatMap((dataId, i) => {
    const size = app.getData(dataId).image.getGeometry().getSize().getValues();
    const count = size.slice(2).reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
    return Array.from({ length: count }, (_, k) => ({ dataId, file: files[i].id, k, size }));
  });
  /** @type {string|null} */
  let shown = null;
  const group = () => app.getActiveLayerGroup();
  const layer = () => group().getBaseViewLayer();
  const controller = () => layer().getViewController();
  const centre = () => new dwv.Point2D(div.clientWidth / 2, div.clientHeight / 2);

  /** @param {string} dataId */
  function swapTo(dataId) {
    const config = new dwv.ViewConfig(div.id);
    config.opacity = 1;
    config.colourMap = "plain";
    if (shown !== null) {
      // The window/level stays as the user set it across the slices of a series.
      const wl = controller().getWindowLevel();
      config.windowCenter = wl.center;
      config.windowWidth = wl.width;
    }
    const pan = shown === null ? null : panNow();
    app.addDataViewConfig(dataId, config);
    // Then drop the rest (the previous slice, its ruler's annotations).
    for (const other of Object.keys(app.getDataViewConfigs())) {
      if (other !== dataId) app.removeDataViewConfig(other, div.id);
    }
    group().setActiveLayerByDataId(dataId);
    shown = dataId;
    if (pan) panTo(pan);
    // dwv listens to keys on the whole window; our root has its own.
    app.getToolboxController()?.enableShortcuts(false);
    measured(null);
  }
  const frameNow = () => {
    const vc = controller();
    const index = vc.getCurrentIndex().getValues();
    const size = frames.find((f) => f.dataId === shown)?.size ?? [];
    let k = 0;
    for (let d = size.length - 1; d >= 2; d--) k = k * size[d] + (index[d] ?? 0);
    return frames.findIndex((f) => f.dataId === shown && f.k === k);
  };
  /** @param {number} i */
  function setFrame(i) {
    const f = frames[i];
    if (!f) return;
    if (f.dataId !== shown) swapTo(f.dataId);
    const values = controller().getCurrentIndex().getValues();
    let rest = f.k;
    for (let d = 2; d < f.size.length; d++) {
      values[d] = rest % f.size[d];
      rest = Math.floor(rest / f.size[d]);
    }
    controller().setCurrentIndex(new dwv.Index(values));
    changed();
  }
  /** Where the viewer's centre is on the image, in fractions. @returns {Pair} */
  function panNow() {
    const p = layer().displayToMainPlanePos(centre());
    const size = controller().getImageSize().getValues();
    return [0.5 - p.getX() / size[0], 0.5 - p.getY() / size[1]];
  }
  /** @param {Pair} pan */
  function panTo(pan) {
    const now = panNow();
    const size = controller().getImageSize().getValues();
    // As dwv's ZoomAndPan does for a drag of the image by this many image pixels.
    const offset = controller().getOffset3DFromPlaneOffset({
      x: (pan[0] - now[0]) * size[0],
      y: (pan[1] - now[1]) * size[1],
    });
    group().addTranslation({ x: offset.getX(), y: offset.getY(), z: offset.getZ() });
    group().draw();
  }
  /** @param {number} wanted @param {any} point kept where it is */
  function zoomTo(wanted, point) {
    const zoom = clamp(wanted, 0.1, 40);
    const at = controller().getPlanePositionFromPlanePoint(layer().displayToMainPlanePos(point));
    const base = group().getBaseScale();
    group().setScale({ x: base.x * zoom, y: base.y * zoom, z: base.z * zoom }, at);
    group().draw();
  }

  for (const type of ["wlchange", "zoomchange", "offsetchange", "positionchange"]) app.addEventListener(type, changed);
  /** @param {any} event */
  const onMeasure = (event) => {
    const length = event.data?.quantification?.length?.value;
    if (typeof length === "number") measured(length);
  };
  app.addEventListener("annotationadd", onMeasure);
  app.addEventListener("annotationupdate", onMeasure);
  swapTo(frames[0].dataId);

  return {
    tools: ["pan", "zoom", "window", "ruler"],
    state() {
      const wl = controller().getWindowLevel();
      const frame = frameNow();
      const pan = panNow();
      return {
        file: frames[frame]?.file ?? files[0].id,
        frame,
        zoom: round(group().getAddedScale().x),
        pan: [round(pan[0]), round(pan[1])],
        rotation: 0,
        window: [wl.center, wl.width],
        brightness: 1,
        contrast: 1,
      };
    },
    apply(v) {
      if (v.frame !== frameNow()) setFrame(v.frame);
      zoomTo(v.zoom, centre());
      panTo(v.pan);
      if (v.window) controller().setWindowLevel(new dwv.WindowLevel(v.window[0], v.window[1]));
    },
    frames: () => frames.length,
    setFrame,
    zoomAt(at, factor) {
      zoomTo(group().getAddedScale().x * factor, new dwv.Point2D(at[0], at[1]));
    },
    toImage(at) {
      const p = layer().displayToMainPlanePos(new dwv.Point2D(at[0], at[1]));
      const size = controller().getImageSize().getValues();
      const [fx, fy] = [p.getX() / size[0], p.getY() / size[1]];
      return fx >= 0 && fx < 1 && fy >= 0 && fy < 1 ? [fx, fy] : null;
    },
    toDisplay(p) {
      const size = controller().getImageSize().getValues();
      const d = layer().planePosToDisplay(new dwv.Point2D(p[0] * size[0], p[1] * size[1]));
      return d.getX() === undefined || d.getY() === undefined ? null : [d.getX(), d.getY()];
    },
    setTool(name) {
      app.setTool({ pan: "ZoomAndPan", zoom: "ViewerZoom", window: "WindowLevel", ruler: "Draw" }[name]);
      // dwv sends the input to the group's active layer only, and its window/level tool
      // wants that to be the image: the ruler's own layer is active while measuring.
      const drawings = group().getDrawLayers();
      const ruler = name === "ruler" && drawings[drawings.length - 1];
      group().setActiveLayerByDataId(ruler ? ruler.getDataId() : shown);
      if (name === "ruler") app.setToolFeatures({ shapeName: "Ruler" });
    },
    reset() {
      app.resetZoomPan();
      controller().resetWindowLevel();
      changed();
    },
    resize: () => app.onResize(),
    valueAt(p) {
      const vc = controller();
      const size = vc.getImageSize().getValues();
      const index = vc.getCurrentIndex().getWithNew2D(Math.floor(p[0] * size[0]), Math.floor(p[1] * size[1]));
      const value = app.getData(shown).image.getRescaledValueAtIndex(index);
      return typeof value === "number" ? value : null;
    },
    close() {
      styler.disconnect();
      app.getToolboxController()?.enableShortcuts(false);
      app.abortAllLoads();
      app.reset();
      div.remove();
    },
  };
}

/**
 * Load one DICOM file as its own dwv data. The request is same-origin, so the session
 * cookie goes with it (XHR's withCredentials only matters across origins: left off).
 * @param {any} app @param {string} url @returns {Promise<string>} the data id
 */
function load(app, url) {
  return new Promise((resolve, reject) => {
    /** @type {string} */
    let id = "";
    const done = (/** @type {any} */ event) => {
      if (event.dataid !== id) return;
      for (const [type, fn] of listeners) app.removeEventListener(type, fn);
      if (event.type === "load") resolve(id);
      else reject(event.error ?? new Error(`${event.type}: ${url}`));
    };
    const listeners = [["load", done], ["error", done], ["abort", done]];
    for (const [type, fn] of listeners) app.addEventListener(type, fn);
    id = app.loadURLs([url], { forceLoader: "dicom", withCredentials: false });
    if (id === "-1") reject(new Error(`dwv refused ${url}`));
  });
}

/**
 * dwv tool: drag up to zoom in, down to zoom out, about where the drag started.
 * @param {any} dwv the dwv module
 */
function zoomTool(dwv) {
  return class ViewerZoom {
    /** @type {any} */ #app;
    /** @type {any} */ #from = null;
    /** @type {number} */ #lastY = 0;
    /** @param {any} app */
    constructor(app) {
      this.#app = app;
    }
    /** @param {any} point */
    #start = (point) => {
      this.#from = point;
      this.#lastY = point.getY();
    };
    /** @param {any} point */
    #move = (point) => {
      if (!this.#from) return;
      const group = this.#app.getActiveLayerGroup();
      const layer = group.getBaseViewLayer();
      const vc = layer.getViewController();
      const at = vc.getPlanePositionFromPlanePoint(layer.displayToMainPlanePos(this.#from));
      group.addScale(Math.exp((this.#lastY - point.getY()) / DRAG_SCALE) - 1, at);
      group.draw();
      this.#lastY = point.getY();
    };
    #stop = () => {
      this.#from = null;
    };
    mousedown = (/** @type {MouseEvent} */ e) => this.#start(dwv.getMousePoint(e));
    mousemove = (/** @type {MouseEvent} */ e) => this.#move(dwv.getMousePoint(e));
    mouseup = this.#stop;
    mouseout = this.#stop;
    touchstart = (/** @type {TouchEvent} */ e) => this.#start(dwv.getTouchPoints(e)[0]);
    touchmove = (/** @type {TouchEvent} */ e) => this.#move(dwv.getTouchPoints(e)[0]);
    touchend = this.#stop;
    activate() {}
    init() {}
    setFeatures() {}
  };
}
