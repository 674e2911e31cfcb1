/**
 * Forms that help: every wrong field at once, each marked (`aria-invalid`) and
 * described by its own message (`aria-describedby`), focus on the first. The page
 * checks what it can before sending (required fields, sizes); the server still checks
 * everything and names each field it refuses (`error.fields`), in the user's language.
 * @module forms
 */
import { errorText, t } from "./i18n.js";

/**
 * @typedef {{code?: string, message?: string, params?: Record<string, string|number>}} FieldError
 */

/** The id of a field's message in `form`. @param {HTMLElement} form @param {string} name */
function messageId(form, name) {
  return `${form.id || "form"}-${name}-error`;
}

/** One field's mark and message gone. @param {HTMLElement} form @param {Element} field */
function unmark(form, field) {
  form.querySelector(`#${CSS.escape(messageId(form, field.getAttribute("name") ?? ""))}`)?.remove();
  field.removeAttribute("aria-invalid");
  const rest = (field.getAttribute("aria-describedby") ?? "").split(" ").filter((id) => id && !id.endsWith("-error"));
  if (rest.length) field.setAttribute("aria-describedby", rest.join(" "));
  else field.removeAttribute("aria-describedby");
}

/** Take away the marks of the last attempt. @param {HTMLElement} form */
export function clearFieldErrors(form) {
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) unmark(form, el);
  for (const el of form.querySelectorAll(".field-error")) el.remove();
}

/**
 * Mark each field with its message and focus the first (in the form's order).
 * @param {HTMLElement} form
 * @param {Record<string, FieldError|string>} errors by the field's `name`
 * @returns {string[]} the messages of fields the form does not have (to say above it)
 */
export function showFieldErrors(form, errors) {
  clearFieldErrors(form);
  const unplaced = [];
  /** @type {HTMLElement[]} */
  const marked = [];
  for (const [name, error] of Object.entries(errors)) {
    const text = typeof error === "string" ? error : errorText(error);
    const field = /** @type {HTMLElement|null} */ (form.querySelector(`[name="${CSS.escape(name)}"]`));
    if (!field) {
      unplaced.push(text);
      continue;
    }
    const id = messageId(form, name);
    const message = document.createElement("p");
    message.className = "field-error";
    message.id = id;
    message.dataset.testid = "field-error";
    message.dataset.field = name;
    message.textContent = text;
    (field.closest("label") ?? field).after(message);
    field.setAttribute("aria-invalid", "true");
    const described = field.getAttribute("aria-describedby");
    field.setAttribute("aria-describedby", described ? `${described} ${id}` : id);
    marked.push(field);
  }
  marked.sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  marked[0]?.focus();
  return unplaced;
}

/**
 * What the page can tell before sending: each required field left empty, and each
 * field whose own rules (length, a number's range) it breaks.
 * @param {HTMLFormElement} form
 * @returns {Record<string, string>} messages by field name (empty: nothing to say)
 */
export function checkRequired(form) {
  /** @type {Record<string, string>} */
  const found = {};
  for (const el of form.elements) {
    if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement)) continue;
    if (!el.name || el.disabled || el.closest("[hidden]")) continue;
    const empty = el instanceof HTMLInputElement && el.type === "checkbox" ? false : !el.value.trim();
    if (el.required && empty) {
      found[el.name] = t("errors.field_required", { field: labelOf(el) });
    } else if (!el.validity.valid && !el.validity.valueMissing) {
      found[el.name] = t("errors.field_invalid", { field: labelOf(el) });
    }
  }
  return found;
}

/** The words of a field's label (its first line), for a message. @param {HTMLElement} el */
function labelOf(el) {
  const label = el.closest("label") ?? (el.id ? document.querySelector(`label[for="${el.id}"]`) : null);
  const own = label ? [...label.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.textContent).join(" ") : "";
  return (own || el.getAttribute("aria-label") || el.getAttribute("name") || "").trim();
}

/** A marked field the person changes loses its mark and message. @param {HTMLElement} form */
export function unmarkWhenChanged(form) {
  const changed = (/** @type {Event} */ event) => {
    const field = event.target;
    if (field instanceof HTMLElement && field.getAttribute("aria-invalid") === "true") unmark(form, field);
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
}
