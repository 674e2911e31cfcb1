/**
 * The image viewer's view of a DICOM image or series, through the vendored dwv (fetched
 * only when a DICOM is opened: 600 kB): frames, window/level, zoom, pan, the ruler in mm,
 * the image's value under a point. A View (image_viewer.js) like the others.
 * @module viewer/dicom_view
 */
import { DRAG_SCALE, clamp, el, round } from "./shared.js";

/**
 * @typedef {import("../image_viewer.js").FileInfo} FileInfo
 * @typedef {import("../image_viewer.js").Pair} Pair
 * @typedef {import("../image_viewer.js").View} View
 */

// Relative to this module's URL: /static/vendor/dwv/dwv.min.js, the one dwv finds its
// workers beside (web/static/vendor/README.md).
const DWV = "../../vendor/dwv/dwv.min.js";

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
export async function dicomView(stage, files, changed, measured) {
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
