/**
 * The page's translation catalog (the same one the templates used): fetched once from
 * the address the page names (cached by the browser for the release: one catalog for
 * every page, not 40 KB inside each), or read from an inline JSON block.
 * @module i18n
 */
const catalog = await loadCatalog();

/** @returns {Promise<Record<string, string>>} */
async function loadCatalog() {
  const inline = document.getElementById("i18n");
  if (inline) return JSON.parse(inline.textContent || "{}");
  const source = document.querySelector('meta[name="i18n-catalog"]')?.getAttribute("content");
  if (!source) return {};
  try {
    const reply = await fetch(source, { credentials: "same-origin" });
    if (reply.ok) return await reply.json();
  } catch (error) {
    console.warn("translations", error); // offline: the keys show, the page still works
  }
  return {};
}

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
 * The message for an error object from the API or the socket, translated by its code,
 * with the numbers the server gave (a limit, what is left) and any the page adds (a
 * file's name and size).
 * @param {{code?: string, message?: string, params?: Record<string, string|number>}} error
 * @param {Record<string, string|number>} [extra]
 */
export function errorText(error, extra = {}) {
  const key = `errors.${error?.code}`;
  if (!(key in catalog)) return error?.message ?? t("errors.unknown");
  return t(key, { ...(error?.params ?? {}), ...extra });
}

/** A size as people read it: "62,3 MiB", "840 KiB". @param {number} bytes */
export function sizeText(bytes) {
  const lang = document.documentElement.lang || "vi";
  const mib = bytes / (1024 * 1024);
  if (mib >= 1) return `${mib.toLocaleString(lang, { maximumFractionDigits: 1 })} MiB`;
  return `${Math.max(1, Math.round(bytes / 1024)).toLocaleString(lang)} KiB`;
}

const PARTS = new Intl.DateTimeFormat("en-GB", {
  timeZone: "Asia/Ho_Chi_Minh",
  day: "numeric",
  month: "numeric",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

/**
 * A moment as every page writes it, "7/12/2026 10:18", in Vietnam's time.
 * @param {number} at seconds since the epoch
 */
export function moment(at) {
  /** @type {Record<string, string>} */
  const part = {};
  for (const p of PARTS.formatToParts(new Date(at * 1000))) part[p.type] = p.value;
  return `${Number(part.day)}/${Number(part.month)}/${part.year} ${part.hour}:${part.minute}`;
}
