/**
 * The room's side panel: the case's files and the viewer, the note, and the chat, one
 * at a time, beside the pictures on a laptop and as a sheet over them on a phone. The
 * control bar's buttons (`[data-opens]`) open a part, or close the panel when it is the
 * part already open. A file opened in the viewer (by us, or shown to everyone by someone
 * else) brings the files part forward, wider; chat lines that arrive while the chat is
 * not in sight are counted on its button.
 *
 * On a laptop the panel starts open on the files; on a phone it starts closed (the
 * pictures first).
 * @module side_panel
 */
import { t } from "./i18n.js";

const WIDE_SCREEN = "(min-width: 701px)";

/**
 * @param {HTMLElement} panel the `[data-testid="side-panel"]` aside
 * @param {HTMLElement} controls the control bar holding the `[data-opens]` buttons
 */
export function setUpSidePanel(panel, controls) {
  const title = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="side-title"]'));
  const parts = /** @type {HTMLElement[]} */ ([...panel.querySelectorAll("[data-tab]")]);
  const buttons = /** @type {HTMLButtonElement[]} */ ([...controls.querySelectorAll("[data-opens]")]);
  const viewer = panel.querySelector('[data-testid="viewer-panel"]');
  /** Lists whose new items, arriving while their part is not in sight, are counted. */
  const counted = [
    { part: "chat", list: panel.querySelector('[data-testid="chat-list"]'), badge: controls.querySelector('[data-testid="chat-unread"]') },
    { part: "qa", list: panel.querySelector('[data-testid="qa-list"]'), badge: controls.querySelector('[data-testid="qa-unread"]') },
  ].map((c) => ({ ...c, unseen: 0 }));
  /** @type {string|null} */
  let open = null;

  /** @param {string|null} name the part to show, or null to close the panel */
  function show(name) {
    open = name && parts.some((p) => p.dataset.tab === name) ? name : null;
    panel.hidden = open === null;
    for (const part of parts) part.hidden = part.dataset.tab !== open;
    for (const button of buttons) button.setAttribute("aria-pressed", String(button.dataset.opens === open));
    panel.classList.toggle("wide", open === "files" && viewer instanceof HTMLElement && !viewer.hidden);
    title.textContent = open ? t(`room.panel.${open}`) : "";
    for (const c of counted) {
      if (c.part !== open) continue;
      c.unseen = 0;
      showUnread(c);
      if (c.list instanceof HTMLElement) c.list.scrollTop = c.list.scrollHeight;
    }
  }

  /** @param {{part: string, badge: Element|null, unseen: number}} c */
  function showUnread(c) {
    if (!(c.badge instanceof HTMLElement)) return;
    c.badge.hidden = c.unseen === 0;
    c.badge.textContent = String(c.unseen);
    c.badge.setAttribute("aria-label", t(`${c.part}.unread`, { n: c.unseen }));
  }

  for (const button of buttons) {
    button.addEventListener("click", () => {
      const name = button.dataset.opens ?? null;
      show(open === name ? null : name);
      if (open) {
        const first = /** @type {HTMLElement|null} */ (
          panel.querySelector(`[data-tab="${open}"] textarea:not([hidden]), [data-tab="${open}"] input:not([type="hidden"])`)
        );
        if (open === "chat" || open === "qa") first?.focus();
      }
    });
  }
  panel.querySelector('[data-testid="side-close"]')?.addEventListener("click", () => {
    const was = buttons.find((b) => b.dataset.opens === open);
    show(null);
    was?.focus();
  });

  // A file in the viewer (ours, or shown to everyone): the files part, forward and wide.
  if (viewer instanceof HTMLElement) {
    new MutationObserver(() => {
      if (!viewer.hidden) show("files");
      else if (open === "files") panel.classList.remove("wide");
    }).observe(viewer, { attributes: true, attributeFilter: ["hidden"] });
  }
  // Others' chat lines (and questions) while their part is not in sight: counted on
  // its button.
  for (const c of counted) {
    if (!c.list) continue;
    new MutationObserver((records) => {
      if (open === c.part) return;
      for (const record of records) {
        for (const node of record.addedNodes) {
          if (node instanceof HTMLElement && !node.classList.contains("mine")) c.unseen += 1;
        }
      }
      showUnread(c);
    }).observe(c.list, { childList: true });
  }

  const wide = window.matchMedia(WIDE_SCREEN);
  show(wide.matches ? (parts[0]?.dataset.tab ?? null) : null);
  // Turned to a phone's width (or a window made narrow): the pictures first again.
  wide.addEventListener("change", () => {
    if (!wide.matches) show(null);
  });
  return {
    /** @param {string|null} name */
    show,
    /** @returns {string|null} the part shown */
    current: () => open,
  };
}
