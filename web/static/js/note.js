/**
 * The specialist's note in the room: the specialist's editor (autosaved draft, signing,
 * corrections) and, for everyone, the signed versions as they are signed, a print link
 * and comments. Text is shown with textContent only.
 * @module note
 */
import { api } from "./api.js";
import { errorText, moment, t } from "./i18n.js";
import { clearFieldErrors, showFieldErrors, unmarkWhenChanged } from "./forms.js";

/** Milliseconds of quiet typing before the draft is saved. */
const AUTOSAVE_MS = 1200;
const FIELDS = ["findings", "assessment", "icd10", "recommendation", "disposition", "follow_up_on", "refer_to"];
const clock = { format: (/** @type {Date} */ when) => moment(when.getTime() / 1000) };

/**
 * @param {HTMLElement} panel the <section data-testid="note">
 * @param {{consultId: string, me: number, canWrite: boolean, socket: any}} options
 */
export function setUpNote(panel, { consultId, me, canWrite, socket }) {
  const base = `/api/consults/${consultId}/note`;
  const editor = /** @type {HTMLFormElement|null} */ (panel.querySelector('[data-testid="note-editor"]'));
  const signedList = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="note-versions"]'));
  const waiting = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="note-waiting"]'));
  const saveState = /** @type {HTMLElement|null} */ (panel.querySelector('[data-testid="note-save-state"]'));
  const signError = /** @type {HTMLElement|null} */ (panel.querySelector('[data-testid="note-sign-error"]'));
  const signButton = /** @type {HTMLButtonElement|null} */ (panel.querySelector('[data-testid="note-sign"]'));
  const confirmBox = /** @type {HTMLElement|null} */ (panel.querySelector('[data-testid="note-sign-confirm-box"]'));
  const confirmButton = /** @type {HTMLButtonElement|null} */ (panel.querySelector('[data-testid="note-sign-confirm"]'));
  const correctButton = /** @type {HTMLButtonElement|null} */ (panel.querySelector('[data-testid="note-correct"]'));
  const printLink = /** @type {HTMLAnchorElement} */ (panel.querySelector('[data-testid="note-print"]'));
  const comments = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="note-comments"]'));
  const commentForm = /** @type {HTMLFormElement|null} */ (panel.querySelector('[data-testid="note-comment-form"]'));
  const icdInput = /** @type {HTMLInputElement|null} */ (panel.querySelector('[data-testid="note-icd10"]'));
  const icdList = /** @type {HTMLDataListElement|null} */ (panel.querySelector("#icd10-options"));
  /** @type {any[]} */
  let versions = [];
  /** The draft's version number, once saved. @type {number|null} */
  let draftVersion = null;
  /** @type {ReturnType<typeof setTimeout>|null} */
  let timer = null;
  /** @type {Promise<boolean>} whether the last save reached the server */
  let saving = Promise.resolve(true);
  /** When the draft on screen was last saved (the server signs only that one). @type {number|null} */
  let savedAt = null;

  /** @param {string} name */
  function field(name) {
    return /** @type {HTMLInputElement|HTMLTextAreaElement|HTMLSelectElement} */ (editor?.elements.namedItem(name));
  }

  function content() {
    /** @type {Record<string, string|null>} */
    const body = {};
    for (const name of FIELDS) body[name] = field(name)?.value.trim() || null;
    const code = body.icd10?.split(" ")[0] ?? null;
    body.icd10 = code || null;
    return body;
  }

  function showDispositionDetails() {
    const disposition = field("disposition")?.value;
    for (const el of panel.querySelectorAll("[data-for-disposition]")) {
      /** @type {HTMLElement} */ (el).hidden = /** @type {HTMLElement} */ (el).dataset.forDisposition !== disposition;
    }
  }

  /** @param {any} v */
  function versionView(v, latest) {
    const article = document.createElement("article");
    article.className = `note-version${latest ? "" : " superseded"}`;
    article.dataset.testid = "note-signed";
    article.dataset.version = String(v.version);
    const head = document.createElement("header");
    const strong = document.createElement("strong");
    strong.textContent = t("note.version", { version: v.version });
    const who = document.createElement("span");
    who.className = "muted";
    who.textContent = ` ${t("note.signed_by", { name: v.author, at: clock.format(new Date(v.signed_at * 1000)) })}`;
    head.append(strong, who);
    if (!latest) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.textContent = t("note.superseded");
      head.append(" ", badge);
    }
    if (!v.intact) {
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.state = "damaged";
      badge.textContent = t("note.not_intact");
      head.append(" ", badge);
    }
    article.append(head);
    /** @param {string} label @param {string} text @param {string} name */
    const part = (label, text, name) => {
      if (!text) return;
      const h = document.createElement("h3");
      h.textContent = label;
      const p = document.createElement("p");
      p.className = "note-text";
      p.dataset.field = name;
      p.textContent = text;
      article.append(h, p);
    };
    part(t("note.findings"), v.findings, "findings");
    part(t("note.assessment"), v.assessment + (v.icd10 ? ` (${v.icd10} · ${v.icd10_title})` : ""), "assessment");
    part(t("note.recommendation"), v.recommendation, "recommendation");
    const detail = v.follow_up_on ? ` · ${v.follow_up_on}` : v.refer_to ? ` · ${t("level." + v.refer_to)}` : "";
    part(t("note.disposition"), t("note.disposition." + v.disposition) + detail, "disposition");
    return article;
  }

  function render() {
    const signed = versions.filter((v) => v.signed);
    signedList.replaceChildren(...signed.map((v, i) => versionView(v, i === 0)));
    waiting.hidden = signed.length > 0;
    printLink.hidden = signed.length === 0;
    const draft = versions.find((v) => !v.signed && v.author_id === me);
    draftVersion = draft ? draft.version : null;
    if (editor && canWrite) {
      const heldByOther = versions.some((v) => !v.signed && v.author_id !== me);
      editor.hidden = heldByOther || (signed.length > 0 && !draft && editor.dataset.correcting !== "true");
      if (correctButton) correctButton.hidden = !editor.hidden || heldByOther || signed.length === 0;
    }
  }

  /** @param {any} v */
  function fill(v) {
    for (const name of FIELDS) {
      const el = field(name);
      if (!el) continue;
      el.value = name === "icd10" && v.icd10 ? `${v.icd10} ${v.icd10_title ?? ""}`.trim() : (v[name] ?? "");
    }
    showDispositionDetails();
  }

  /** Save the draft as it is on screen now; true when the server has it. */
  async function save() {
    if (!editor) return false;
    if (timer) clearTimeout(timer);
    timer = null;
    if (saveState) saveState.textContent = t("note.save_state.saving");
    saving = saving.then(async () => {
      try {
        const body = { ...content(), ...(draftVersion ? { version: draftVersion } : {}) };
        const { note } = await api(`${base}/draft`, { method: "PUT", body });
        draftVersion = note.version;
        savedAt = note.updated_at;
        versions = [note, ...versions.filter((v) => v.version !== note.version)];
        if (saveState) saveState.textContent = t("note.save_state.saved", { at: clock.format(new Date()) });
        return true;
      } catch (error) {
        if (saveState) saveState.textContent = t("note.save_state.failed", { reason: errorText(/** @type {any} */ (error)) });
        return false;
      }
    });
    return saving;
  }

  async function refresh() {
    try {
      const note = await api(base);
      versions = note.versions;
      showComments(note.comments);
      const draft = versions.find((v) => !v.signed && v.author_id === me);
      if (draft && editor && !editor.contains(document.activeElement)) {
        fill(draft);
        savedAt = draft.updated_at;
      }
      render();
    } catch {
      // shown again on the next refresh
    }
  }

  /** @param {any[]} list */
  function showComments(list) {
    comments.replaceChildren(
      ...list.map((c) => {
        const li = document.createElement("li");
        li.dataset.testid = "note-comment";
        const who = document.createElement("strong");
        who.textContent = c.author;
        const text = document.createElement("p");
        text.textContent = c.text;
        li.append(who, text);
        return li;
      }),
    );
  }

  if (editor && canWrite) {
    unmarkWhenChanged(editor);
    editor.addEventListener("input", () => {
      showDispositionDetails();
      if (timer) clearTimeout(timer);
      timer = setTimeout(save, AUTOSAVE_MS);
    });
    editor.addEventListener("submit", (event) => event.preventDefault());
    signButton?.addEventListener("click", async () => {
      await save();
      if (confirmBox) confirmBox.hidden = false;
    });
    confirmButton?.addEventListener("click", async () => {
      if (confirmBox) confirmBox.hidden = true;
      // What is on screen now is what gets signed: save it (an edit made after the
      // first click included), and sign only that save.
      if (!(await save())) return;
      try {
        const { note } = await api(`${base}/sign`, {
          method: "POST",
          body: { version: draftVersion, updated_at: savedAt },
        });
        if (editor) clearFieldErrors(editor);
        if (signError) signError.hidden = true;
        versions = [note, ...versions.filter((v) => v.version !== note.version)];
        editor.dataset.correcting = "false";
        if (saveState) saveState.textContent = "";
        render();
      } catch (error) {
        // Each missing part marked where it is written, focus on the first.
        const err = /** @type {any} */ (error);
        if (err?.fields && editor) showFieldErrors(editor, err.fields);
        if (signError) {
          signError.textContent = errorText(err);
          signError.hidden = false;
        }
      }
    });
    correctButton?.addEventListener("click", () => {
      const latest = versions.find((v) => v.signed);
      if (latest) fill(latest);
      editor.dataset.correcting = "true";
      render();
    });
    let lookup = 0;
    icdInput?.addEventListener("input", async () => {
      const mine = ++lookup;
      const query = icdInput.value.trim();
      if (query.length < 2 || !icdList) return;
      try {
        const { codes } = await api(`/api/icd10?q=${encodeURIComponent(query)}`);
        if (mine !== lookup) return;
        icdList.replaceChildren(
          ...codes.map((/** @type {any} */ c) => {
            const option = document.createElement("option");
            option.value = `${c.code} ${c.title}`;
            return option;
          }),
        );
      } catch {
        // the list stays as it was
      }
    });
    showDispositionDetails();
  } else if (editor) {
    editor.hidden = true;
  }

  commentForm?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = /** @type {HTMLTextAreaElement} */ (commentForm.querySelector("textarea"));
    const text = input.value.trim();
    if (!text) return;
    try {
      await api(`${base}/comments`, { method: "POST", body: { text } });
      input.value = "";
      await refresh();
    } catch (error) {
      input.setCustomValidity(errorText(/** @type {any} */ (error)));
      input.reportValidity();
      input.setCustomValidity("");
    }
  });

  socket?.on("room:note", (/** @type {any} */ change) => {
    if (change.note) versions = [change.note, ...versions.filter((v) => v.version !== change.note.version)];
    render();
    if (change.comment) refresh();
  });
  printLink.href = `/consults/${consultId}/note/print`;
  panel.hidden = false;
  refresh();
  return { refresh };
}
