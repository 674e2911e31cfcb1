/**
 * The room's remote video tiles: one per other publisher, in the order the server sends
 * their media (the order of the peer connection's transceivers). Each says who it is and,
 * in words, what is off: muted, camera off, video paused by their link, away, or
 * reconnecting with the time their seat is kept (never a frozen picture presented as
 * live); a badge shows their link's quality while they are present.
 *
 * The tiles only render: who is in the room comes from the server's room state, the
 * media from the call (call.js).
 * @module tiles
 */
import { t } from "./i18n.js";
import { canChooseSpeaker } from "./devices.js";

/**
 * One remote publisher as the server's room state describes them (undefined for a
 * publisher the participants list does not name).
 * A shared screen is one more "publisher", named for whose it is (`screen_of`).
 * @typedef {{user_id: number, name: string, status: "present"|"dropped"|"left"|"away", audio: boolean,
 *   video: boolean, video_paused?: boolean, quality?: string|null, seat_until?: number|null,
 *   screen_of?: number}} Remote
 */

/**
 * The remote tiles of the room, in `videos` (after whatever it already holds: our own).
 * @param {HTMLElement} videos the container of the tiles
 * @param {{me: number, announce?: (text: string, options: {brief: boolean}) => void}} options
 *   our own user id (the server lists everyone, we show the others); `announce`: told, in
 *   words, when another participant joins, drops, comes back (brief news) or leaves
 */
export function createTiles(videos, { me, announce = () => {} }) {
  /** The other publishers, in the order the server sends their media.
   * @type {(Remote|undefined)[]} */
  let remotes = [];
  /** @type {MediaStream[]} */
  const streams = [];
  /** Server clock minus ours, ms (for the seat countdowns). */
  let clockSkew = 0;
  /** The speaker chosen in the pre-join check ("" for the default). */
  let speaker = "";
  /** Each other participant's status at the last room state (none before the first). */
  /** @type {Map<number, string>|null} */
  let before = null;

  /** @param {number} index */
  function tile(index) {
    let figure = /** @type {HTMLElement|null} */ (videos.querySelector(`[data-remote-index="${index}"]`));
    if (!figure) {
      figure = document.createElement("figure");
      figure.className = "tile remote";
      figure.dataset.remoteIndex = String(index);
      const video = document.createElement("video");
      video.dataset.testid = "remote-video";
      video.autoplay = true;
      video.playsInline = true;
      streams[index] = streams[index] ?? new MediaStream();
      video.srcObject = streams[index];
      if (speaker && canChooseSpeaker) /** @type {any} */ (video).setSinkId(speaker).catch(() => {});
      const caption = document.createElement("figcaption");
      caption.dataset.testid = "participant-state";
      figure.append(video, caption, qualityBadge());
      videos.append(figure);
    }
    return figure;
  }

  /** Every tile's caption and badge (once a second too: the seat countdowns). */
  function render() {
    // A tile whose publisher is gone (a screen no longer shared) is not shown.
    for (const figure of videos.querySelectorAll("[data-remote-index]")) {
      /** @type {HTMLElement} */ (figure).hidden = Number(/** @type {HTMLElement} */ (figure).dataset.remoteIndex) >= remotes.length;
    }
    // A shared screen takes the stage; the people go small, in a corner.
    videos.classList.toggle("has-screen", remotes.some((p) => p?.screen_of && p.status === "present"));
    // Nobody else's picture (a presenter on their own): ours takes the stage.
    videos.classList.toggle("alone", remotes.length === 0);
    remotes.forEach((person, index) => {
      if (!person) return;
      const figure = tile(index);
      figure.classList.toggle("screen", Boolean(person.screen_of));
      figure.dataset.userId = String(person.user_id);
      figure.dataset.present = String(person.status === "present");
      figure.dataset.status = person.status;
      let away = "";
      if (person.status === "dropped" && person.seat_until) {
        const left = person.seat_until * 1000 - (Date.now() + clockSkew);
        away = t("room.peer_reconnecting", { time: minutesSeconds(left) });
      } else if (person.status === "left") {
        away = t("room.peer_left");
      } else if (person.status === "away") {
        away = t("room.waiting_for");
      }
      const flags = person.screen_of
        ? [away]
        : [
            away,
            person.audio ? "" : t("room.muted"),
            !person.video ? t("room.camera_is_off") : person.video_paused ? t("room.video_paused_peer") : "",
          ];
      const name = person.screen_of ? t("room.screen_of", { name: person.name }) : person.name;
      const caption = figure.querySelector("figcaption");
      if (caption) caption.textContent = [name, ...flags.filter(Boolean)].join(" · ");
      const badge = /** @type {HTMLElement|null} */ (figure.querySelector('[data-testid="quality"]'));
      if (badge) showQuality(badge, person.status === "present" && !ended ? person.quality : null);
    });
  }

  let ended = false;

  /** Say who joined, dropped, came back or left since the last room state. @param {Remote[]} people */
  function tell(people) {
    const now = new Map(people.map((p) => [p.user_id, p.status]));
    if (before) {
      for (const person of people) {
        const was = before.get(person.user_id);
        if (was === person.status) continue;
        const name = person.name;
        if (person.screen_of) {
          // A screen comes and goes with its presenter: only its start is news.
          if (was === undefined && person.status === "present") announce(t("room.notice.screen", { name }), { brief: true });
          continue;
        }
        if (person.status === "dropped" && person.seat_until) {
          const left = person.seat_until * 1000 - (Date.now() + clockSkew);
          announce(t("room.notice.dropped", { name, time: minutesSeconds(left) }), { brief: false });
        } else if (person.status === "left") {
          announce(t("room.notice.left", { name }), { brief: false });
        } else if (person.status === "present") {
          const news = was === "dropped" ? "room.notice.back" : "room.notice.joined";
          announce(t(news, { name }), { brief: true });
        }
      }
    }
    before = now;
  }

  return {
    /**
     * Show the publishers of the server's room state (all but us).
     * @param {{publishers: number[], participants: Remote[], server_now?: number}} room
     */
    update(room) {
      if (typeof room.server_now === "number") clockSkew = room.server_now * 1000 - Date.now();
      const byId = new Map(room.participants.map((p) => [p.user_id, p]));
      // Not us, nor our own shared screen.
      remotes = room.publishers.filter((id) => id !== me && id !== -me).map((id) => byId.get(id));
      tell(/** @type {Remote[]} */ (remotes.filter(Boolean)));
      render();
    },
    render,
    /**
     * A remote track arrived: it replaces the tile's track of the same kind.
     * @param {number} index the publisher's place in the room state's order
     * @param {MediaStreamTrack} track
     */
    attach(index, track) {
      tile(index);
      const stream = streams[index];
      for (const old of stream.getTracks().filter((t) => t.kind === track.kind)) stream.removeTrack(old);
      stream.addTrack(track);
    },
    /** How many other publishers the room has. @returns {number} */
    count: () => remotes.length,
    /** Whether another publisher is present (not away, not reconnecting). @returns {boolean} */
    anyonePresent: () => remotes.some((p) => p?.status === "present"),
    /**
     * With nobody else present, why: someone's link dropped (their seat is kept),
     * someone left, or nobody has come in yet.
     * @returns {"peer_reconnecting"|"peer_left"|"waiting"}
     */
    absence() {
      if (remotes.some((p) => p?.status === "dropped")) return "peer_reconnecting";
      if (remotes.some((p) => p?.status === "left")) return "peer_left";
      return "waiting";
    },
    /** The call is over: no tile claims a link any more. */
    end() {
      ended = true;
      render();
    },
    /**
     * Play the tiles created from now on through this speaker (the pre-join check's choice).
     * @param {string} deviceId "" for the default
     */
    setSpeaker(deviceId) {
      speaker = deviceId;
    },
  };
}

/**
 * Show a link's quality on a tile's 3-level indicator (ours or a remote's).
 * @param {HTMLElement} badge a `[data-testid="quality"]` or `[data-testid="quality-self"]` element
 * @param {string|null|undefined} level "good", "fair" or "poor"; nothing hides it
 */
export function showQuality(badge, level) {
  badge.hidden = !level;
  if (!level) return;
  badge.dataset.level = level;
  badge.textContent = t("room.quality." + level);
  badge.title = t("room.quality_hint");
}

/** The 3-level connection indicator shown on a tile. */
function qualityBadge() {
  const badge = document.createElement("span");
  badge.className = "quality";
  badge.dataset.testid = "quality";
  badge.hidden = true;
  return badge;
}

/** @param {number} ms */
function minutesSeconds(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
}
