/**
 * A file whose image names another patient than the consult's (its DICOM's name, birth
 * year or sex; compared by the server at upload): said on the file in the list and over
 * the viewer, to every participant. The specialist can still look; the note can say so.
 * @module patient_warning
 */
import { t } from "./i18n.js";

/**
 * The warning for a file or series ("" when its images are the consult's patient's).
 * @param {{patient_mismatch?: string[]}[]} group
 */
export function mismatchText(group) {
  const fields = [...new Set(group.flatMap((file) => file.patient_mismatch ?? []))];
  if (!fields.length) return "";
  return t("files.patient_mismatch", { fields: fields.map((field) => t("files.field." + field)).join(", ") });
}

/**
 * The warning as a line of its own (null when none).
 * @param {{patient_mismatch?: string[]}[]} group
 */
export function mismatchLine(group) {
  const text = mismatchText(group);
  if (!text) return null;
  const line = document.createElement("p");
  line.className = "patient-warning";
  line.dataset.testid = "patient-mismatch";
  line.textContent = text;
  return line;
}

/**
 * Over the viewer, for the file it now shows.
 * @param {HTMLElement} panel the viewer panel @param {{patient_mismatch?: string[]}[]} group
 */
export function showMismatch(panel, group) {
  const line = panel.querySelector('[data-testid="viewer-patient-mismatch"]');
  if (!(line instanceof HTMLElement)) return;
  line.textContent = mismatchText(group);
  line.hidden = !line.textContent;
}
