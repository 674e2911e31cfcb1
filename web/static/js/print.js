/**
 * The print page's button (the page itself is plain HTML with a print stylesheet).
 * @module print
 */
for (const button of document.querySelectorAll("[data-print]")) {
  button.addEventListener("click", () => window.print());
}
