/**
 * The image viewer's view of a photo (JPEG, PNG): zoom, pan, rotation, brightness and
 * contrast, all as CSS on one <img>; drag with the selected tool, pinch with two fingers.
 * A View (image_viewer.js) like the others: its state is relative (zoom 1 = fit, pan in
 * fractions of the picture), so a follower on another screen shows the same part.
 * @module viewer/photo_view
 */
import { DRAG_SCALE, STILL, clamp, el, round } from "./shared.js";

/**
 * @typedef {import("../image_viewer.js").FileInfo} FileInfo
 * @typedef {import("../image_viewer.js").Pair} Pair
 * @typedef {import("../image_viewer.js").ToolName} ToolName
 * @typedef {import("../image_viewer.js").View} View
 */

/**
 * A photo: an <img> (the browser applies its EXIF orientation) moved by CSS transforms,
 * brightness and contrast as a CSS filter.
 * @param {HTMLElement} stage @param {FileInfo} file @param {() => void} changed
 * @returns {Promise<View>}
 */
export async function photoView(stage, file, changed) {
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
