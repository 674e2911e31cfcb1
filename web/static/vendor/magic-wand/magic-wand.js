/**
 * ES-module face of magic-wand-tool's build, for dwv's `import MagicWand from
 * "magic-wand-tool"` (rewritten to this file, see ../README.md). The build is not UMD: it
 * keeps the library in a top-level `var` (`MagicWand` in dist/magic-wand.js, `r` once
 * minified), which stays private to the file when it runs as a module; but its last line
 * also sets `window.MagicWand` whenever `window` exists, as it does in every page that
 * loads dwv (dwv uses it in the page only, never in its workers).
 * @module magic-wand-tool
 */
import "./magic-wand.min.js";

export default globalThis.MagicWand;
