/**
 * Telling a busy person that something happened (a new request, an acceptance, an
 * invitation) while they look elsewhere: a short tone, a count in the page title
 * ("(2) …", seen from another tab) and, if they allowed it, a desktop notification.
 * The count clears when they come back to the page and use it.
 * @module notify
 */
import { t } from "./i18n.js";

const baseTitle = document.title;
let unseen = 0;
/** @type {AudioContext|null} */
let audio = null;

function showCount() {
  document.title = unseen ? `(${unseen}) ${baseTitle}` : baseTitle;
  document.documentElement.dataset.unseen = String(unseen);
}

function clear() {
  if (!unseen) return;
  unseen = 0;
  showCount();
}

/** Two short tones, made here (no sound file, nothing fetched). */
function chime() {
  try {
    audio = audio ?? new AudioContext();
    const now = audio.currentTime;
    for (const [offset, frequency] of [[0, 880], [0.18, 660]]) {
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.16);
      tone.connect(gain).connect(audio.destination);
      tone.start(now + offset);
      tone.stop(now + offset + 0.17);
    }
  } catch (error) {
    console.warn("chime", error); // no audio device: the title and the list still say it
  }
}

/**
 * Something happened that this person should see.
 * @param {string} text what happened (no patient details: it may show on a lock screen)
 */
export function notify(text) {
  unseen += 1;
  showCount();
  chime();
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    new Notification(t("app.name"), { body: text, tag: "consult", icon: "/static/img/icon.svg" });
  }
}

/** The tones again, nothing else counted (an emergency nobody has seen yet). */
export function ring() {
  chime();
}

/**
 * A browser that holds sound back until the page is used (its autoplay rule) would
 * keep the bell silent: the page asks once, with a button, for the click it needs.
 * @param {HTMLButtonElement|null} button
 */
export function askForSound(button) {
  try {
    audio = audio ?? new AudioContext();
  } catch {
    return; // no audio at all: the title and the notifications still say it
  }
  const context = audio;
  if (!button || context.state !== "suspended") return;
  button.hidden = false;
  const enable = async () => {
    await context.resume().catch(() => {});
    button.hidden = context.state === "running";
  };
  button.addEventListener("click", enable);
  // Any use of the page will do as well.
  document.addEventListener("pointerdown", enable, { once: true });
}

/**
 * Set up clearing, and a button that asks for desktop notifications (browsers only
 * ask in answer to a click).
 * @param {HTMLButtonElement|null} button
 */
export function setUpNotifications(button) {
  for (const event of ["click", "keydown"]) document.addEventListener(event, clear);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) setTimeout(clear, 3000);
  });
  if (!button || !("Notification" in window) || Notification.permission !== "default") return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await Notification.requestPermission();
    button.hidden = true;
  });
}
