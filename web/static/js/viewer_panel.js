/**
 * The panel an opened file is shown in, outside the room (the consult's record page,
 * the review page): its title, the viewer (loaded on first use) and the close button.
 * The room's panel also shows to everyone (share.js).
 * @module viewer_panel
 */
import { errorText } from "./i18n.js";
import { showMismatch } from "./patient_warning.js";

/**
 * @param {HTMLElement} panel the <section data-testid="viewer-panel">
 * @returns {{open: (group: any[]) => Promise<void>}}
 */
export function setUpViewerPanel(panel) {
  const stage = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-stage"]'));
  const title = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-title"]'));
  /** @type {any} */
  let viewer = null;

  panel.querySelector('[data-testid="viewer-close"]')?.addEventListener("click", () => {
    viewer?.close();
    viewer = null;
    panel.hidden = true;
  });

  return {
    /** Show one file, or the files of one DICOM series. */
    async open(group) {
      viewer?.close();
      viewer = null;
      panel.hidden = false;
      title.textContent = group.length > 1 ? `${group[0].modality ?? "DICOM"} · ${group.length}` : (group[0]?.name ?? "");
      showMismatch(panel, group);
      try {
        const { openViewer } = await import("./image_viewer.js");
        viewer = await openViewer(stage, group, {});
      } catch (error) {
        stage.textContent = errorText(/** @type {any} */ (error));
      }
    },
  };
}
