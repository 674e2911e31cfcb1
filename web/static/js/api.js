/**
 * JSON calls to the server with the session's CSRF token.
 * @module api
 */
const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute("content") ?? "";

export class ApiError extends Error {
  /**
   * @param {{code: string, message: string, params?: Record<string, string|number>,
   *   fields?: Record<string, {code: string, message: string}>}} error
   * @param {number} status
   */
  constructor(error, status) {
    super(error.message);
    this.code = error.code;
    this.status = status;
    /** Numbers for the message (a limit). */
    this.params = error.params;
    /** Each wrong field of a form, by the API's name for it. */
    this.fields = error.fields;
  }
}

/**
 * @param {string} path
 * @param {{method?: string, body?: unknown}} [options]
 * @returns {Promise<any>}
 */
export async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(data.error ?? { code: "http_" + response.status, message: response.statusText }, response.status);
  }
  return data;
}
