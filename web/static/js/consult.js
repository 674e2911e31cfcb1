/**
 * A consult's record page: its files (open one in the viewer, send more while it is
 * open) and the specialist's note (written or corrected here after the session).
 * @module consult
 */
import { setUpFiles } from "./files.js";
import { setUpNote } from "./note.js";
import { setUpViewerPanel } from "./viewer_panel.js";

const root = /** @type {HTMLElement} */ (document.getElementById("consult"));
const consultId = root.dataset.consultId ?? "";
const viewer = setUpViewerPanel(/** @type {HTMLElement} */ (document.querySelector('[data-testid="viewer-panel"]')));
const filesPanel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="files"]'));
setUpFiles(filesPanel, {
  consultId,
  canAttach: Boolean(filesPanel.querySelector('[data-testid="attach-file"]')),
  onOpen: viewer.open,
});
const notePanel = /** @type {HTMLElement} */ (document.querySelector('[data-testid="note"]'));
setUpNote(notePanel, {
  consultId,
  me: Number(root.dataset.userId),
  canWrite: Boolean(notePanel.querySelector('[data-testid="note-editor"]')),
  socket: null,
});
