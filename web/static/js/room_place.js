/**
 * Keep a room's socket on the node that holds the room. When the server runs as several
 * nodes, a room lives on one; if that node dies or drains, the room is placed on
 * another. A socket refused with `room_elsewhere`, or one that stays disconnected, asks
 * `/api/rooms/where` (any node answers) and moves where it is told; socket.io's own
 * reconnecting then rejoins the call there as after any cut.
 * @module room_place
 */
import { api } from "./api.js";
import { moveTo, samePlace } from "./live.js";

/** While disconnected, ask this often where the room is (a dead node is noticed ≤ 6 s). */
const ASK_EVERY_MS = 1000;

/**
 * @param {any} socket the room's socket.io socket
 * @param {string} token the room's join token
 * @param {import("./live.js").SocketPlace} place where the page was told the room is
 */
export function followRoom(socket, token, place) {
  let current = place;
  /** @type {ReturnType<typeof setTimeout>|undefined} */
  let asking;
  /** @param {boolean} [told] the node said the room is moving: ask even if connected */
  const ask = async (told = false) => {
    clearTimeout(asking);
    if (socket.connected && !told) return;
    try {
      const { socket: where } = await api("/api/rooms/where", { method: "POST", body: { join_token: token } });
      // Another node now, or the same one after a refusal (socket.io does not retry a
      // refused connection by itself): connect there.
      if (!samePlace(where, current) || !socket.active) {
        current = where;
        moveTo(socket, where);
      }
    } catch {
      // No node answers yet (or none takes rooms): ask again.
    }
    if (!socket.connected) asking = setTimeout(ask, ASK_EVERY_MS);
  };
  socket.on("disconnect", (/** @type {string} */ reason) => {
    if (reason !== "io client disconnect") asking = setTimeout(ask, ASK_EVERY_MS);
  });
  socket.on("connect", () => clearTimeout(asking));
  // The node gives the room up (it drains): go where it is placed now.
  socket.on("room:move", () => ask(true));
  return {
    /** Refused because another node holds the room: ask now. True if it was that. */
    refused(/** @type {any} */ error) {
      if (error?.data?.code !== "room_elsewhere") return false;
      ask();
      return true;
    },
    /** Where the room's socket is now. */
    current: () => current,
  };
}
