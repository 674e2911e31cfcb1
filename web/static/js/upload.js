/**
 * Sending one file to a consult: the raw body streamed by the browser (XMLHttpRequest,
 * for its upload progress on a slow link), the name percent-encoded in a header (never
 * in the URL). The server decides the file's type from its content.
 * @module upload
 */
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

/**
 * @param {string|number} consultId
 * @param {File} file
 * @param {(fraction: number) => void} [progress] called with 0..1 as bytes leave
 * @returns {Promise<any>} the server's description of the stored file
 */
export function uploadFile(consultId, file, progress = () => {}) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/api/consults/${consultId}/files`);
    request.setRequestHeader("Content-Type", "application/octet-stream");
    request.setRequestHeader("X-CSRF-Token", csrf);
    request.setRequestHeader("X-File-Name", encodeURIComponent(file.name));
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = {};
      try {
        data = JSON.parse(request.responseText);
      } catch {
        // an error page: reported by its status below
      }
      const body = /** @type {any} */ (data);
      if (request.status >= 200 && request.status < 300) resolve(body.file);
      else reject(body.error ?? { code: `http_${request.status}`, message: request.statusText });
    });
    request.addEventListener("error", () => reject({ code: "upload_incomplete", message: "network error" }));
    request.addEventListener("abort", () => reject({ code: "upload_incomplete", message: "aborted" }));
    request.send(file);
  });
}
