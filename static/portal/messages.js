// The embed's conversation with the partner page, without the DOM: the envelope we post, and
// which incoming messages we accept (only `session.refresh`, only from the parent's origin).

export const SOURCE = "attachment-portal";
export const VERSION = 1;
export const MAX_TOKEN = 8192;

/** The envelope of every message we post. */
export function envelope(type, payload) {
  return { source: SOURCE, v: VERSION, type, payload: payload || {} };
}

/** `value` if it is exactly an origin (scheme://host[:port], nothing more), else null. */
export function validOrigin(value) {
  try {
    return typeof value === "string" && new URL(value).origin === value ? value : null;
  } catch {
    return null;
  }
}

/**
 * The token from a `session.refresh` message, or null for anything we must ignore: another
 * origin or window than the parent, another protocol or version, another type, a bad token.
 * `event` is {origin, source, data}; `expected` the parent's origin; `parent` window.parent.
 */
export function refreshToken(event, expected, parent) {
  if (!expected || event.origin !== expected || event.source !== parent) return null;
  const msg = event.data;
  if (!msg || typeof msg !== "object" || msg.source !== SOURCE || msg.v !== VERSION) return null;
  if (msg.type !== "session.refresh") return null;
  const token = msg.payload && msg.payload.token;
  if (typeof token !== "string" || !token || token.length > MAX_TOKEN) return null;
  return token;
}
