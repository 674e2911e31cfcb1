/**
 * What the image viewer's views share (image_viewer.js and its views in this folder):
 * building an element, rounding and clamping numbers, the view at rest and the drag scale.
 * Constants and pure functions only: each view keeps its own state.
 * @module viewer/shared
 */

/** @typedef {import("../image_viewer.js").Pair} Pair */

/**
 * The parts of a ViewState that are the same for a view at rest (fit, centred, upright,
 * unchanged), whatever the file: a view's reset, and the state of one that cannot change.
 */
export const STILL = Object.freeze({
  zoom: 1,
  pan: /** @type {Pair} */ (Object.freeze([0, 0])),
  rotation: 0,
  window: null,
  brightness: 1,
  contrast: 1,
});

/** Display pixels of drag for a factor e (zoom, brightness, contrast). */
export const DRAG_SCALE = 150;

/**
 * A new element with these attributes and inline style (set through the CSSOM, which
 * the page's `style-src 'self'` allows).
 * @param {string} tag @param {Record<string, string>} [attrs] @param {Partial<CSSStyleDeclaration>} [style]
 * @returns {HTMLElement}
 */
export function el(tag, attrs = {}, style = {}) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  Object.assign(node.style, style);
  return node;
}

/**
 * `x` to `digits` decimals (a view's state stays short and compares equal across screens).
 * @param {number} x @param {number} [digits] @returns {number}
 */
export function round(x, digits = 4) {
  return Number(x.toFixed(digits));
}

/**
 * `x` kept within [lo, hi].
 * @param {number} x @param {number} lo @param {number} hi @returns {number}
 */
export function clamp(x, lo, hi) {
  return Math.min(hi, Math.max(lo, x));
}
