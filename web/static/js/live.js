/**
 * The socket.io connection of a signed-in page. When the login it was opened with ends
 * (signed out in another tab, expired, the account deactivated) the server closes it
 * and says so: the page goes to the sign-in page instead of reconnecting in vain.
 * @module live
 */
import { io } from "/static/vendor/socket.io/socket.io.esm.min.js";

/**
 * Connect to the server; `auth` carries a room's join token on the room page.
 * @param {Record<string, string>} [auth]
 */
export function connect(auth = {}) {
  const socket = io({ auth, transports: ["websocket"], reconnectionDelayMax: 4000 });
  socket.on("session:ended", () => {
    socket.disconnect();
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname)}`);
  });
  return socket;
}
