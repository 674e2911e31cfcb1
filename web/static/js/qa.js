/**
 * A teaching room's questions: viewers ask (text only, shown with textContent), everyone
 * sees the list live, the presenters mark each one answered. The list is the server's:
 * asked again after each join (a reconnect, a late joiner).
 * @module qa
 */
import { errorText, t } from "./i18n.js";

/**
 * @param {HTMLElement} section the `[data-testid="qa"]` section
 * @param {{presenting: boolean, me: string, send: (event: string, payload: object) => Promise<any>, socket: any}} room
 */
export function setUpQuestions(section, { presenting, send, socket }) {
  const list = /** @type {HTMLOListElement} */ (section.querySelector('[data-testid="qa-list"]'));
  const empty = /** @type {HTMLElement} */ (section.querySelector('[data-testid="qa-empty"]'));
  const form = /** @type {HTMLFormElement|null} */ (section.querySelector('[data-testid="qa-form"]'));
  const input = /** @type {HTMLTextAreaElement|null} */ (section.querySelector('[data-testid="qa-input"]'));
  const error = /** @type {HTMLElement|null} */ (section.querySelector('[data-testid="qa-error"]'));
  /** Ids of the questions this page asked (not counted as news on its own button). */
  const mine = new Set();

  /** @param {any} question */
  function show(question) {
    let item = /** @type {HTMLElement|null} */ (list.querySelector(`[data-question-id="${Number(question.id)}"]`));
    const fresh = !item;
    if (!item) {
      item = document.createElement("li");
      item.dataset.questionId = String(question.id);
      item.dataset.testid = "qa-item";
      if (mine.has(question.id)) item.classList.add("mine");
    }
    item.dataset.answered = String(question.answered);
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = question.answered ? `${question.author} · ${t("qa.answered")}` : question.author;
    const text = document.createElement("p");
    text.textContent = question.text;
    item.replaceChildren(who, text);
    if (presenting && !question.answered) {
      const done = document.createElement("button");
      done.type = "button";
      done.dataset.testid = "qa-answered";
      done.textContent = t("qa.mark_answered");
      done.addEventListener("click", () => {
        done.disabled = true;
        send("room:answer", { id: question.id }).then((reply) => show(reply.question)).catch(() => (done.disabled = false));
      });
      item.append(done);
    }
    if (fresh) {
      const later = [...list.children].find((li) => Number(/** @type {HTMLElement} */ (li).dataset.questionId) > Number(question.id));
      list.insertBefore(item, later ?? null);
    }
    empty.hidden = list.children.length > 0;
  }

  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input?.value.trim() ?? "";
    if (!text || !input) return;
    if (error) error.hidden = true;
    try {
      const reply = await send("room:ask", { text });
      mine.add(reply.question.id);
      show(reply.question);
      input.value = "";
    } catch (failure) {
      if (error) {
        error.textContent = errorText(/** @type {any} */ (failure));
        error.hidden = false;
      }
    }
    input.focus();
  });
  input?.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form?.requestSubmit();
    }
  });
  socket.on("room:question", (/** @type {any} */ question) => {
    if (!mine.has(question.id) || list.querySelector(`[data-question-id="${Number(question.id)}"]`)) show(question);
  });
  return {
    /** After a join: the list as the server keeps it. */
    async refresh() {
      try {
        const reply = await send("room:questions", {});
        for (const question of reply.questions) show(question);
      } catch {
        // asked again on the next join
      }
    },
  };
}
