/**
 * The next page's scripts, fetched while this one idles: a clinician waiting for an
 * accept, a specialist at the queue, both go into a room next. Each script's address
 * names the release, so the browser keeps it (consult_server/http/assets.py) and the
 * room page then loads without a round trip for its ~20 modules: seconds on an
 * Edge-class link. The page lists them in `<meta name="prefetch">`.
 * @module prefetch
 */

const DELAY_MS = 1000;

export function prefetchNext() {
  const urls = document.querySelector('meta[name="prefetch"]')?.getAttribute("content")?.split(" ").filter(Boolean) ?? [];
  if (!urls.length) return;
  const fetchAll = () => {
    for (const url of urls) {
      // Read to the end: the browser keeps what was wholly received.
      fetch(url, { credentials: "same-origin", priority: "low" })
        .then((reply) => reply.arrayBuffer())
        .catch(() => {}); // offline: the room page fetches them itself
    }
  };
  // After the page's own load, not competing with it.
  if (document.readyState === "complete") setTimeout(fetchAll, DELAY_MS);
  else window.addEventListener("load", () => setTimeout(fetchAll, DELAY_MS), { once: true });
}

/** Rooms whose page is already fetched ahead. @type {Set<string>} */
const ahead = new Set();

/**
 * The room the user goes into next: its page fetched ahead (Chromium's speculation
 * rules), so the click shows it without a round trip for it (on 3G a sixth of a
 * second, on Edge half a second). A prefetch, not a prerender: a prerendered room would
 * also connect its socket ahead, but no test here can drive one (browsers under
 * automation refuse to prerender), and the way into a call is not the place for an
 * untried path. Elsewhere nothing happens: the click loads the page as before.
 * @param {string} url the room's address
 */
export function fetchRoomAhead(url) {
  if (ahead.has(url) || !HTMLScriptElement.supports?.("speculationrules")) return;
  ahead.add(url);
  const rules = document.createElement("script");
  rules.type = "speculationrules";
  rules.textContent = JSON.stringify({ prefetch: [{ source: "list", urls: [url], eagerness: "immediate" }] });
  document.head.append(rules);
}
