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
 * Where a room's socket lives when the server runs as several nodes: a path through the
 * reverse proxy, or a port of the page's host. Neither: where the page came from.
 * @typedef {{ path?: string, port?: number }} SocketPlace
 */

/** @param {SocketPlace} place */
function uriOf(place) {
  return place.port ? `${window.location.protocol}//${window.location.hostname}:${place.port}` : window.location.origin;
}

/**
 * Connect to the server; `auth` carries a room's join token on the room page, `place`
 * the node that holds the room.
 * @param {Record<string, string>} [auth]
 * @param {SocketPlace} [place]
 */
export function connect(auth = {}, place = {}) {
  const socket = io(uriOf(place), {
    auth,
    path: place.path || "/socket.io",
    transports: ["websocket"],
    reconnectionDelayMax: 4000,
  });
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
  socket.on("disconnect", (/** @type {string} */ reason) => {
    console.info("socket disconnected", reason);
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

/**
 * Point a socket at another node (its room moved there) and connect it anew.
 * @param {import("../vendor/socket.io/socket.io.esm.min.js").Socket} socket
 * @param {SocketPlace} place
 */
export function moveTo(socket, place) {
  socket.disconnect();
  const manager = /** @type {any} */ (socket.io);
  manager.uri = uriOf(place);
  manager.opts.path = place.path || "/socket.io";
  socket.connect();
}

/**
 * Same place? (Both empty: where the page came from.)
 * @param {SocketPlace} a
 * @param {SocketPlace} b
 */
export function samePlace(a, b) {
  return (a.path || "") === (b.path || "") && (a.port || 0) === (b.port || 0);
}
