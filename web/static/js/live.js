/**
 * The socket.io connection of a signed-in page.
 * @module live
 */
import { io } from "/static/vendor/socket.io/socket.io.esm.min.js";

/**
 * Connect to the server; `auth` carries a room's join token on the room page.
 * @param {Record<string, string>} [auth]
 */
export function connect(auth = {}) {
  return io({ auth, transports: ["websocket"], reconnectionDelayMax: 4000 });
}
