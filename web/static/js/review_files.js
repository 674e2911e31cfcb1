/**
 * The review page's files: open one (or a DICOM series) in the viewer. Each file the
 * viewer fetches is audited by the server as a view.
 * @module review_files
 */
import { groupSeries } from "./files.js";
import { setUpViewerPanel } from "./viewer_panel.js";

const section = /** @type {HTMLElement|null} */ (document.querySelector('[data-testid="files"][data-review]'));
if (section) {
  const files = JSON.parse(document.getElementById("attachments-json")?.textContent || "[]");
  const groups = groupSeries(files);
  const viewer = setUpViewerPanel(/** @type {HTMLElement} */ (section.querySelector('[data-testid="viewer-panel"]')));
  for (const button of section.querySelectorAll("[data-open-file]")) {
    // Disabled in the page until here: a click before would do nothing.
    /** @type {HTMLButtonElement} */ (button).disabled = false;
    button.addEventListener("click", () => {
      const id = Number(button.getAttribute("data-open-file"));
      viewer.open(groups.find((g) => g.some((f) => f.id === id)) ?? []);
    });
  }
}
