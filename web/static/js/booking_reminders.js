/**
 * Reminders of booked consults, on the pages clinicians and specialists keep open (their
 * home, the bookings): when one of their bookings comes within the reminder time
 * (consults.booking_reminder_minutes), a tone, a count in the title, a notification if
 * allowed, and a line on the page with the time and a way into its room. The page asks
 * for the bookings when it loads and whenever one changes (booking:update), and sets its
 * own timers, so a reminder is not lost to a reload or a dropped socket; each booking is
 * announced once per browser (localStorage).
 * @module booking_reminders
 */
import { api } from "./api.js";
import { t } from "./i18n.js";
import { notify } from "./notify.js";

const KEY = "consult.reminded";
/** Timers are set for this far ahead (a browser's timer cannot wait for weeks). */
const HORIZON_MS = 2 * 3600_000;

/** @returns {Set<number>} */
function reminded() {
  try {
    return new Set(JSON.parse(localStorage.getItem(KEY) ?? "[]"));
  } catch {
    return new Set();
  }
}

/** @param {number} id */
function remember(id) {
  const ids = [...reminded(), id].slice(-200);
  try {
    localStorage.setItem(KEY, JSON.stringify(ids));
  } catch {
    // private mode: the reminder may come again after a reload, which is harmless
  }
}

/** @param {number} at seconds since the epoch */
function clock(at) {
  return new Date(at * 1000).toLocaleTimeString("vi-VN", {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Ho_Chi_Minh",
  });
}

/**
 * Today's bookings, in time order, as a list (the specialist's day, beside the queue).
 * @param {HTMLElement} list
 * @param {Array<{id: number, starts_at: number, ends_at: number, status: string}>} bookings
 */
function showToday(list, bookings) {
  const today = new Date().toLocaleDateString("en-CA", { timeZone: "Asia/Ho_Chi_Minh" });
  const mine = bookings
    .filter((b) => new Date(b.starts_at * 1000).toLocaleDateString("en-CA", { timeZone: "Asia/Ho_Chi_Minh" }) === today)
    .sort((a, b) => a.starts_at - b.starts_at);
  list.replaceChildren(
    ...mine.map((b) => {
      const item = document.createElement("li");
      item.dataset.testid = "booking-today-item";
      item.dataset.status = b.status;
      const link = document.createElement("a");
      link.href = "/bookings";
      link.textContent = `${clock(b.starts_at)}–${clock(b.ends_at)}`;
      item.append(link, " · ", t(`bookings.status.${b.status}`));
      return item;
    }),
  );
  const empty = list.parentElement?.querySelector("[data-empty]");
  if (empty instanceof HTMLElement) empty.hidden = mine.length > 0;
}

/**
 * Watch this person's bookings and remind them.
 * @param {{on: (event: string, handler: (payload: any) => void) => void}} socket
 * @param {HTMLElement|null} region where reminders are said (a live region)
 * @param {HTMLElement|null} [today] a list to show today's bookings in
 */
export function watchBookings(socket, region, today = null) {
  /** @type {Map<number, ReturnType<typeof setTimeout>>} */
  const timers = new Map();

  /** @param {{id: number, starts_at: number, consult_id: number|null}} booking */
  function remind(booking) {
    timers.delete(booking.id);
    if (reminded().has(booking.id)) return;
    remember(booking.id);
    notify(t("bookings.reminder", { time: clock(booking.starts_at) }));
    if (!region) return;
    region.hidden = false;
    const line = document.createElement("p");
    line.dataset.testid = "booking-reminder";
    line.dataset.bookingId = String(booking.id);
    line.append(t("bookings.reminder", { time: clock(booking.starts_at) }), " ");
    const link = document.createElement("a");
    link.href = "/bookings";
    link.textContent = t("bookings.to_bookings");
    line.append(link);
    region.append(line);
  }

  async function refresh() {
    let answer;
    try {
      answer = await api("/api/bookings");
    } catch {
      return; // signed out or offline: the next change or load asks again
    }
    if (today) showToday(today, answer.bookings);
    const skew = answer.server_now * 1000 - Date.now();
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
    for (const booking of answer.bookings) {
      if (booking.status !== "scheduled") continue;
      const due = (booking.starts_at - answer.remind_before_s) * 1000 - skew;
      const wait = Math.max(0, due - Date.now());
      if (booking.starts_at * 1000 - skew < Date.now()) continue; // already begun
      if (wait > HORIZON_MS) continue; // set when a later refresh comes near it
      timers.set(booking.id, setTimeout(() => remind(booking), wait));
    }
  }

  socket.on("booking:update", refresh);
  setInterval(refresh, HORIZON_MS / 2);
  refresh();
}
