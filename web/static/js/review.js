/**
 * A recorded session's page: every participant's file plays side by side under one
 * play / pause / seek control, kept in step.
 *
 * The files of one session share a time origin (the recorder places each track on the
 * session's clock), so the same currentTime means the same moment in every file. The
 * longest file leads; the others follow it: a small drift is taken up by playing a
 * little faster or slower, a large one (a stall, a seek) by jumping.
 * @module review
 */
import { t } from "./i18n.js";

const root = document.getElementById("review");
if (root) {
  const videos = /** @type {HTMLVideoElement[]} */ ([...root.querySelectorAll("video")]);
  const playAll = /** @type {HTMLButtonElement} */ (root.querySelector('[data-testid="play-all"]'));
  const seek = /** @type {HTMLInputElement} */ (root.querySelector('[data-testid="seek"]'));
  const position = /** @type {HTMLOutputElement} */ (root.querySelector('[data-testid="position"]'));
  let playing = false;
  let dragging = false;

  /** @param {number} seconds */
  const clock = (seconds) => {
    const whole = Math.max(0, Math.floor(seconds));
    const m = Math.floor(whole / 60);
    const s = String(whole % 60).padStart(2, "0");
    return m >= 60 ? `${Math.floor(m / 60)}:${String(m % 60).padStart(2, "0")}:${s}` : `${m}:${s}`;
  };

  /** @param {HTMLVideoElement} v  its length, when the browser knows a finite one */
  const length = (v) => (Number.isFinite(v.duration) ? v.duration : 0);

  /** The file that leads: the longest one known so far. */
  const leader = () => videos.reduce((best, v) => (length(v) > length(best) ? v : best), videos[0]);

  /** @param {number} at */
  const jump = (at) => {
    for (const v of videos) v.currentTime = Math.min(at, length(v) || at);
    seek.value = String(at);
    position.value = clock(at);
  };

  const setPlaying = async (/** @type {boolean} */ on) => {
    playing = on;
    playAll.setAttribute("aria-pressed", String(on));
    playAll.textContent = on ? t("review.pause") : t("review.play");
    if (!on) {
      for (const v of videos) v.pause();
      return;
    }
    const lead = leader();
    // Played to the end: play again from the start.
    const at = lead.ended || (length(lead) && lead.currentTime >= length(lead)) ? 0 : lead.currentTime;
    jump(at);
    await Promise.allSettled(videos.filter((v) => !length(v) || at < length(v)).map((v) => v.play()));
  };

  const follow = () => {
    const lead = leader();
    if (!lead) return;
    const at = lead.currentTime;
    if (!dragging) {
      seek.value = String(at);
      position.value = clock(at);
    }
    if (!playing) return;
    for (const v of videos) {
      if (v === lead) continue;
      if (length(v) && at >= length(v)) {
        v.pause();
        continue;
      }
      if (v.paused && !lead.paused) v.play().catch(() => {});
      const drift = v.currentTime - at;
      if (Math.abs(drift) > 0.3) {
        v.currentTime = at;
        v.playbackRate = 1;
      } else if (Math.abs(drift) > 0.04) {
        v.playbackRate = drift > 0 ? 0.92 : 1.08;
      } else {
        v.playbackRate = 1;
      }
    }
    if (lead.ended) setPlaying(false);
  };

  playAll.addEventListener("click", () => setPlaying(!playing));
  seek.addEventListener("input", () => {
    dragging = true;
    position.value = clock(Number(seek.value));
  });
  seek.addEventListener("change", () => {
    dragging = false;
    jump(Number(seek.value));
  });
  for (const button of root.querySelectorAll("[data-seek]")) {
    button.addEventListener("click", () => jump(Number(button.getAttribute("data-seek"))));
  }
  for (const v of videos) {
    v.addEventListener("loadedmetadata", () => {
      const longest = Math.max(...videos.map(length), Number(root.dataset.duration) || 0);
      seek.max = String(longest);
    });
  }
  // Disabled in the page until this script runs: a click before it would do nothing.
  playAll.disabled = !videos.length;
  setInterval(follow, 200);
}
