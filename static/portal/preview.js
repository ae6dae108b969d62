// "Open preview" (templates/pages/preview.html): the server rendered the first pages as PNGs
// into the page; this adds an "Actual size" toggle (fit to width when off) and, when a page image does
// not load (its link expired, the ATS is busy), a plain sentence in its place.

import { h } from "./dom.js";
import { S } from "./strings.js";

/** Enhance one preview section. */
export function initPreview(root) {
  const images = [...root.querySelectorAll("img[data-preview-page]")];
  for (const img of images) {
    const failed = () => img.replaceWith(h("p", { class: "notice", role: "status" }, S.previewPageFailed));
    if (img.complete && img.naturalWidth === 0) failed();
    else img.addEventListener("error", failed, { once: true });
  }
  if (!images.length) return;
  const zoom = h("button", { type: "button", class: "small", "aria-pressed": "false" }, S.previewActualSize);
  zoom.addEventListener("click", () => {
    const on = zoom.getAttribute("aria-pressed") !== "true";
    zoom.setAttribute("aria-pressed", String(on)); // a toggle keeps its name; the state says it
    for (const img of root.querySelectorAll("img[data-preview-page]")) img.classList.toggle("is-zoomed", on);
  });
  root.querySelector(".preview-pages").before(h("p", {}, zoom));
}

const root = document.querySelector("[data-preview]");
if (root) initPreview(root);
