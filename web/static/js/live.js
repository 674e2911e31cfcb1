/**
 * The socket.io connection of a signed-in page. When the login it was opened with ends
 * (signed out in another tab, expired, the account deactivated) the server closes it
 * and says so: the page goes to the sign-in page instead of reconnecting in vain. A
 * connection the server refuses at the handshake (it opens only with a login) is
 * checked the same way: signed out, the page goes to the sign-in page.
 * @module live
 */
import { io } from "../vendor/socket.io/socket.io.esm.min.js";

const LOST_AFTER_MS = 3000;

/**
 * Connect to the server; `auth` carries a room's join token on the room page.
 * @param {Record<string, string>} [auth]
 */
export function connect(auth = {}) {
  const socket = io({ auth, transports: ["websocket"], reconnectionDelayMax: 4000 });
  /** @param {string} reason why the login ended (the sign-in page says it) */
  const toSignIn = (reason) => {
    socket.disconnect();
    const next = encodeURIComponent(window.location.pathname);
    window.location.assign(`/login?next=${next}&reason=${encodeURIComponent(reason)}`);
  };
  // A queue page that lost the server says so after a moment (a blip passes unseen);
  // `data-live` tells whether the live updates flow.
  const lost = document.querySelector('[data-testid="live-lost"]');
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let telling;
  socket.on("connect", () => {
    clearTimeout(telling);
    document.documentElement.dataset.live = "up";
    if (lost instanceof HTMLElement) lost.hidden = true;
  });
  socket.on("disconnect", () => {
    document.documentElement.dataset.live = "down";
    clearTimeout(telling);
    telling = setTimeout(() => {
      if (lost instanceof HTMLElement) lost.hidden = false;
    }, LOST_AFTER_MS);
  });
  socket.on("session:ended", (/** @type {any} */ data) => toSignIn(String(data?.reason ?? "ended")));
  socket.io.on("error", async () => {
    try {
      const reply = await fetch("/api/session", { credentials: "same-origin" });
      if (reply.status === 401) toSignIn("ended");
    } catch {
      // offline: socket.io keeps retrying
    }
  });
  return socket;
}
