/**
 * A consult's record page: its files (open one in the viewer, send more while it is
 * open) and the specialist's note (written or corrected here after the session).
 * @module consult
 */
import { errorText } from "./i18n.js";
import { setUpFiles } from "./files.js";
import { setUpNote } from "./note.js";

const root = /** @type {HTMLElement} */ (document.getElementById("consult"));
const consultId = root.dataset.consultId ?? "";
const me = Number(root.dataset.userId);
const panel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="viewer-panel"]'));
const stage = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-stage"]'));
const title = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-title"]'));
/** @type {any} */
let viewer = null;

/** @param {any[]} group */
async function open(group) {
  viewer?.close();
  panel.hidden = false;
  title.textContent = group.length > 1 ? `${group[0].modality ?? "DICOM"} · ${group.length}` : group[0].name;
  try {
    const { openViewer } = await import("./image_viewer.js");
    viewer = await openViewer(stage, group, {});
  } catch (error) {
    stage.textContent = errorText(/** @type {any} */ (error));
  }
}

panel.querySelector('[data-testid="viewer-close"]')?.addEventListener("click", () => {
  viewer?.close();
  viewer = null;
  panel.hidden = true;
});
const filesPanel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="files"]'));
setUpFiles(filesPanel, {
  consultId,
  canAttach: Boolean(filesPanel.querySelector('[data-testid="attach-file"]')),
  onOpen: open,
});
const notePanel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="note"]'));
setUpNote(notePanel, {
  consultId,
  me,
  canWrite: Boolean(notePanel.querySelector('[data-testid="note-editor"]')),
  socket: null,
});
