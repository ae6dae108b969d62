// The few DOM helpers every view uses: build elements safely, announce politely, vet links.
// Everything that comes from a user, a file or the server is written with textContent.

/** Build an element; children that are strings become text nodes (never HTML). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

/** JSON.parse that answers `fallback` instead of throwing. */
export function parseJSON(text, fallback) {
  try {
    return JSON.parse(text);
  } catch {
    return fallback;
  }
}

/** Only http(s) links become hrefs (no javascript: whatever the data says). */
export function safeUrl(value, { sameOrigin = false, base = globalThis.location && globalThis.location.href } = {}) {
  if (typeof value !== "string" || !value) return null;
  try {
    const url = new URL(value, base);
    if (url.protocol !== "https:" && url.protocol !== "http:") return null;
    if (sameOrigin && url.origin !== new URL(base).origin) return null;
    return url.href;
  } catch {
    return null;
  }
}

/** One polite live region. Messages said within a moment are read together, once. */
export class Announcer {
  constructor(region) {
    this.region = region;
    this.pending = [];
    this.timer = 0;
  }

  say(text) {
    if (!this.region || !text) return;
    this.pending.push(text);
    clearTimeout(this.timer);
    // Clear, then write after a beat: screen readers announce changes, so the same
    // sentence twice in a row is read twice.
    this.region.textContent = "";
    this.timer = setTimeout(() => {
      this.region.textContent = this.pending.join(" ");
      this.pending = [];
    }, 120);
  }
}
