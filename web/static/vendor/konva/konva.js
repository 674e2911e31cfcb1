/**
 * ES-module face of Konva's UMD build, for dwv's `import Konva from "konva"` (rewritten
 * to this file, see ../README.md). Evaluated as a module the UMD wrapper gets `this ===
 * undefined`, so it falls through to `globalThis.Konva`, which is what we export.
 * @module konva
 */
import "./konva.min.js";

export default globalThis.Konva;
