/**
 * The teaching-session list: a specialist opens a session and goes straight to its room.
 * @module teaching
 */
import { api } from "./api.js";
import { errorText } from "./i18n.js";

const form = document.getElementById("new-teaching");
if (form instanceof HTMLFormElement) {
  const error = /** @type {HTMLElement} */ (form.querySelector('[data-testid="form-error"]'));
  // Disabled in the page until this script runs: the form never submits natively.
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector('[data-testid="teaching-submit"]'));
  submit.disabled = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      const { room } = await api("/api/teaching", {
        method: "POST",
        body: { title: data.get("title"), co_presenter: data.get("co_presenter") || null },
      });
      window.location.assign(room);
    } catch (e) {
      error.textContent = errorText(/** @type {any} */ (e));
      error.hidden = false;
    }
  });
}
