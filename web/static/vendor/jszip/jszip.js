/**
 * ES-module face of JSZip's UMD build, for dwv's `import JSZip from "jszip"` (rewritten
 * to this file, see ../README.md). With no CommonJS or AMD around, the UMD wrapper sets
 * `window.JSZip` (it never relies on `this` when `window` exists).
 * @module jszip
 */
import "./jszip.min.js";

export default globalThis.JSZip;
