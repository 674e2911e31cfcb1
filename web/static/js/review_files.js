/**
 * The review page's files: open one (or a DICOM series) in the viewer. Each file the
 * viewer fetches is audited by the server as a view.
 * @module review_files
 */
import { groupSeries } from "./files.js";
import { errorText } from "./i18n.js";

const section = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="files"][data-review]'));
if (section) {
  const files = JSON.parse(document.getElementById("attachments-json")?.textContent || "[]");
  const groups = groupSeries(files);
  const panel = /** @type {HTMLElement} */ (section.querySelector('[data-testid="viewer-panel"]'));
  const stage = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-stage"]'));
  const title = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="viewer-title"]'));
  /** @type {any} */
  let viewer = null;
  for (const button of section.querySelectorAll("[data-open-file]")) {
    // Disabled in the page until here: a click before would do nothing.
    /** @type {HTMLButtonElement} */ (button).disabled = false;
    button.addEventListener("click", async () => {
      const id = Number(button.getAttribute("data-open-file"));
      const group = groups.find((g) => g.some((f) => f.id === id)) ?? [];
      viewer?.close();
      panel.hidden = false;
      title.textContent = group.length > 1 ? `${group[0].modality ?? "DICOM"} · ${group.length}` : (group[0]?.name ?? "");
      try {
        const { openViewer } = await import("./image_viewer.js");
        viewer = await openViewer(stage, group, {});
      } catch (error) {
        stage.textContent = errorText(/** @type {any} */ (error));
      }
    });
  }
  panel.querySelector('[data-testid="viewer-close"]')?.addEventListener("click", () => {
    viewer?.close();
    viewer = null;
    panel.hidden = true;
  });
}
