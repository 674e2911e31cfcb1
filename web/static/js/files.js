/**
 * A consult's images and files: the list (with previews), sending more, opening one in
 * the viewer, and "show to everyone" (the others' viewers follow ours, see share.js).
 * A DICOM series sent as one file per slice is listed, opened and shown as one item.
 * @module files
 */
import { api } from "./api.js";
import { errorText, sizeText, t } from "./i18n.js";
import { uploadFile } from "./upload.js";
import { mismatchLine } from "./patient_warning.js";

/** @typedef {import("./image_viewer.js").FileInfo & {status: string, uploader: string, uploaded_at: number, size: number, thumbnail: string, modality: string|null}} FileEntry */

const clock = new Intl.DateTimeFormat(document.documentElement.lang || "vi", { hour: "2-digit", minute: "2-digit" });

/**
 * Files grouped as a viewer opens them: each DICOM series (same series UID) is one
 * item, its slices in instance order; every other file is an item of its own.
 * @param {FileEntry[]} files
 * @returns {FileEntry[][]}
 */
export function groupSeries(files) {
  /** @type {Map<string, FileEntry[]>} */
  const groups = new Map();
  for (const file of files) {
    const key = file.kind === "dicom" && file.series_uid ? `series:${file.series_uid}` : `file:${file.id}`;
    const group = groups.get(key) ?? [];
    group.push(file);
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    group.sort((a, b) => (a.instance_number ?? 0) - (b.instance_number ?? 0) || a.id - b.id);
  }
  return [...groups.values()];
}

/**
 * @param {HTMLElement} panel the <section data-testid="files">
 * @param {{consultId: string, canAttach: boolean, socket?: any, onOpen: (group: FileEntry[]) => void}} options
 */
export function setUpFiles(panel, { consultId, canAttach, socket, onOpen }) {
  const list = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="attachment-list"]'));
  const input = /** @type {HTMLInputElement|null} */ (panel.querySelector('[data-testid="attach-file"]'));
  const status = /** @type {HTMLElement} */ (panel.querySelector('[data-testid="attach-status"]'));
  /** @type {Map<number, FileEntry>} */
  const known = new Map();

  function render() {
    const groups = groupSeries([...known.values()]);
    list.replaceChildren();
    if (!groups.length) {
      const empty = document.createElement("li");
      empty.className = "muted";
      empty.textContent = t("files.none");
      list.append(empty);
      return;
    }
    for (const group of groups) list.append(item(group));
  }

  /** @param {FileEntry[]} group */
  function item(group) {
    const first = group[0];
    const li = document.createElement("li");
    li.dataset.testid = "attachment-item";
    li.dataset.fileIds = group.map((f) => f.id).join(",");
    li.dataset.kind = first.kind;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "attachment";
    button.title = t("files.open");
    const thumb = document.createElement("img");
    thumb.alt = "";
    thumb.loading = "lazy";
    thumb.src = group[Math.floor(group.length / 2)].thumbnail;
    thumb.addEventListener("error", () => thumb.replaceWith(icon(first.kind)));
    const label = document.createElement("span");
    label.className = "name";
    label.textContent =
      group.length > 1 ? t("files.series", { modality: first.modality ?? "DICOM", n: group.length }) : first.name;
    const meta = document.createElement("span");
    meta.className = "muted small";
    const frames = first.frames && first.frames > 1 ? ` · ${t("files.frames", { n: first.frames })}` : "";
    meta.textContent = `${first.kind.toUpperCase()}${first.modality ? " " + first.modality : ""}${frames} · ${t("files.by", {
      name: first.uploader,
      at: clock.format(new Date(first.uploaded_at * 1000)),
    })}`;
    button.append(thumb, label, meta);
    if (group.some((f) => f.status === "damaged")) {
      const bad = document.createElement("span");
      bad.className = "badge";
      bad.dataset.state = "damaged";
      bad.textContent = t("files.damaged");
      button.append(bad);
    }
    button.addEventListener("click", () => onOpen(group));
    li.append(button);
    const warning = mismatchLine(group);
    if (warning) {
      li.classList.add("mismatch");
      li.append(warning);
    }
    if (group.length === 1) {
      const download = document.createElement("a");
      download.href = `${first.url}?download=1`;
      download.textContent = t("files.download");
      download.className = "small";
      li.append(download);
    }
    return li;
  }

  /** @param {string} kind */
  function icon(kind) {
    const span = document.createElement("span");
    span.className = "file-icon";
    span.textContent = kind.toUpperCase();
    return span;
  }

  /** @param {FileEntry} file */
  function add(file) {
    known.set(file.id, file);
    render();
  }

  async function refresh() {
    try {
      const { files } = await api(`/api/consults/${consultId}/files`);
      for (const file of files) known.set(file.id, file);
      render();
    } catch (error) {
      status.textContent = errorText(/** @type {any} */ (error));
    }
  }

  /** @param {File[]} chosen */
  async function send(chosen) {
    for (const file of chosen) {
      status.textContent = t("files.uploading", { name: file.name, percent: 0 });
      try {
        const stored = await uploadFile(consultId, file, (fraction) => {
          status.textContent = t("files.uploading", { name: file.name, percent: Math.round(fraction * 100) });
        });
        add(stored);
        status.textContent = t("files.sent", { name: file.name });
      } catch (error) {
        status.textContent = t("files.failed", { name: file.name, reason: errorText(/** @type {any} */ (error), { size: sizeText(file.size) }) });
      }
    }
  }

  if (input) {
    input.hidden = !canAttach;
    input.addEventListener("change", async () => {
      const chosen = [...(input.files ?? [])];
      input.value = "";
      await send(chosen);
    });
  }
  socket?.on("room:file", (/** @type {any} */ message) => add(message.file));
  panel.hidden = false;
  refresh();
  return {
    refresh,
    /** @param {number[]} ids the files a presenter shows, as the list knows them */
    group(ids) {
      return ids.map((id) => known.get(id)).filter((f) => f !== undefined);
    },
    /** Fetch the list again if a shown file is not known yet (sent a moment ago). */
    async ensure(/** @type {number[]} */ ids) {
      if (ids.some((id) => !known.has(id))) await refresh();
      return ids.map((id) => known.get(id)).filter((f) => f !== undefined);
    },
  };
}
