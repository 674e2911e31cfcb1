/**
 * The room's invite panel: bring a specialist from a higher level into the consult.
 * @module invite
 */
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";

/**
 * @param {HTMLElement} panel the <details data-testid="invite-panel">
 * @param {string} consultId
 */
export function setUpInvite(panel, consultId) {
  const select = /** @type {HTMLSelectElement} */ (panel.querySelector("select"));
  const button = /** @type {HTMLButtonElement} */ (panel.querySelector("button"));
  const result = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="invite-result"]'));

  async function load() {
    const { specialists } = await api(`/api/consults/${consultId}/invitable`);
    select.replaceChildren(
      ...specialists.map((/** @type {any} */ s) => {
        const option = document.createElement("option");
        option.value = String(s.id);
        option.textContent = `${s.name} · ${s.facility}`;
        return option;
      }),
    );
    button.disabled = specialists.length === 0;
    result.textContent = specialists.length ? "" : t("room.nobody_to_invite");
  }

  panel.addEventListener("toggle", () => {
    if (/** @type {HTMLDetailsElement} */ (panel).open) load().catch((e) => (result.textContent = errorText(e)));
  });
  button.addEventListener("click", async () => {
    const name = select.selectedOptions[0]?.textContent ?? "";
    button.disabled = true;
    try {
      await api(`/api/consults/${consultId}/invite`, { method: "POST", body: { user_id: Number(select.value) } });
      await load();
      result.textContent = t("room.invited", { name });
    } catch (error) {
      result.textContent = errorText(/** @type {any} */ (error));
      button.disabled = false;
    }
  });
}
