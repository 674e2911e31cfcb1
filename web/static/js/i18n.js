/**
 * The page's translation catalog (the same one the templates used), read once from
 * the JSON block the server rendered.
 * @module i18n
 */
const catalog = JSON.parse(document.getElementById("i18n")?.textContent || "{}");

// Every page module imports this one: reaching here means the page's scripts loaded
// (boot.js shows a warning otherwise).
document.documentElement.dataset.scripts = "ready";

/**
 * Translate a key, filling {name} placeholders.
 * @param {string} key
 * @param {Record<string, string|number>} [params]
 * @returns {string}
 */
export function t(key, params = {}) {
  const text = catalog[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}

/**
 * The message for an error object from the API or the socket, translated by its code.
 * @param {{code?: string, message?: string}} error
 */
export function errorText(error) {
  const key = `errors.${error?.code}`;
  return catalog[key] ?? error?.message ?? t("errors.unknown");
}
