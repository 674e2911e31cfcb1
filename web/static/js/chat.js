/**
 * The room's chat: lines said in the consult, kept with it, shown again after a
 * reconnect or a rejoin. Text only (textContent: never markup).
 * @module chat
 */
import { api } from "./api.js";
import { errorText, t } from "./i18n.js";

/**
 * @param {HTMLElement} panel the <section data-testid="chat">
 * @param {{consultId: string, me: string, send: (event: string, payload: object) => Promise<any>, socket: any}} room
 */
export function setUpChat(panel, { consultId, me, send, socket }) {
  const list = /** @type {HTMLOListElement} */ (panel.querySelector("ol"));
  const form = /** @type {HTMLFormElement} */ (panel.querySelector("form"));
  const input = /** @type {HTMLTextAreaElement} */ (form.querySelector("textarea"));
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button"));
  const error = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="chat-error"]'));
  const clock = new Intl.DateTimeFormat(document.documentElement.lang || "vi", {
    hour: "2-digit",
    minute: "2-digit",
  });

  /** @param {any} line */
  function show(line) {
    if (list.querySelector(`[data-message-id="${Number(line.id)}"]`)) return;
    const item = document.createElement("li");
    item.dataset.messageId = String(line.id);
    item.dataset.testid = "chat-message";
    if (String(line.author_id) === me) item.className = "mine";
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${line.author} · ${clock.format(new Date(line.at * 1000))}`;
    const text = document.createElement("p");
    text.textContent = line.text;
    item.append(who, text);
    // In id order, whatever order they arrive in (history and live lines can cross).
    const later = [...list.children].find((li) => Number(/** @type {HTMLElement} */ (li).dataset.messageId) > Number(line.id));
    list.insertBefore(item, later ?? null);
    list.scrollTop = list.scrollHeight;
  }

  async function refresh() {
    try {
      const { messages } = await api(`/api/consults/${consultId}/messages`);
      for (const line of messages) show(line);
    } catch {
      // Shown again on the next join; the live lines still arrive.
    }
  }

  async function submit(/** @type {Event} */ event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    button.disabled = true;
    error.hidden = true;
    try {
      const reply = await send("room:chat", { text });
      show(reply.message);
      input.value = "";
    } catch (failure) {
      // The text stays in the box, to send again.
      const err = /** @type {any} */ (failure);
      error.textContent = err?.code ? errorText(err) : t("chat.not_sent");
      error.hidden = false;
    } finally {
      button.disabled = false;
      input.focus();
    }
  }

  form.addEventListener("submit", submit);
  // Enter sends, Shift+Enter breaks the line.
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  socket.on("room:chat", show);
  panel.hidden = false;
  return { refresh };
}
