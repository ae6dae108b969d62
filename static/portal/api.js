// HTTP to the portal's JSON API: one XMLHttpRequest per call (fetch has no upload progress),
// errors as ApiError, and one way to add credentials (staff cookie + CSRF, or embed bearer).

import { parseJSON } from "./dom.js";
import { pageLang, S } from "./strings.js";

/** What every failed call rejects with: the server's error object, or one we made up. */
export class ApiError extends Error {
  constructor(status, info) {
    super(info.message || S.somethingWrong);
    this.status = status;
    this.code = info.code || "error";
    this.reference = info.reference || null;
    this.logUrl = info.log_url || null;
    this.retryAfter = Number.isFinite(info.retry_after) ? info.retry_after : null;
    this.retryable = typeof info.retryable === "boolean" ? info.retryable : null; // null: the server did not say
    this.network = info.network === true;
    this.aborted = info.aborted === true;
  }
}

/** The ApiError for a non-2xx answer: the server's JSON error, or plain words for a proxy's page. */
export function errorFrom(status, text) {
  const body = parseJSON(text, null);
  if (body && body.error && typeof body.error.message === "string") return new ApiError(status, body.error);
  // A proxy or the server's own HTML page: say something true without echoing its body.
  return new ApiError(status, { code: `http_${status}`, message: S.statusMessages[status] || S.httpError(status) });
}

/**
 * One XMLHttpRequest. Resolves with {status, data, headers} on 2xx, rejects with ApiError.
 * onProgress(loaded, total) and onSent() report the request body going up.
 */
export function send(method, url, { headers = {}, body = null, onProgress = null, onSent = null } = {}) {
  const xhr = new XMLHttpRequest();
  const promise = new Promise((resolve, reject) => {
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) {
      xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.lengthComputable ? e.total : 0));
    }
    if (onSent) xhr.upload.addEventListener("load", () => onSent());
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        const header = (name) => xhr.getResponseHeader(name);
        resolve({ status: xhr.status, data: parseJSON(xhr.responseText, {}), header });
      } else {
        reject(errorFrom(xhr.status, xhr.responseText));
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, { code: "network", network: true, message: S.connectionLost })));
    xhr.addEventListener("abort", () => reject(new ApiError(0, { code: "aborted", aborted: true, message: S.cancelled })));
    xhr.send(body);
  });
  return { promise, abort: () => xhr.abort() };
}

/**
 * The JSON API with one way of authenticating: `auth.headers(method)` adds credentials,
 * `auth.recover(err)` may fix a 401/CSRF failure (new token) and says whether to try once more.
 */
export class Api {
  constructor(auth) {
    this.auth = auth;
  }

  call(method, url, options = {}) {
    let current = null;
    let aborted = false;
    const attempt = async (again) => {
      // The page's language, not the browser's: server messages then match the page.
      const headers = { Accept: "application/json", "Accept-Language": pageLang(), ...(options.headers || {}), ...this.auth.headers(method) };
      current = send(method, url, { ...options, headers });
      try {
        return await current.promise;
      } catch (err) {
        if (!again && !aborted && !err.aborted && (await this.auth.recover(err))) return attempt(true);
        throw err;
      }
    };
    return {
      promise: attempt(false),
      abort: () => {
        aborted = true;
        if (current) current.abort();
      },
    };
  }

  get(url) {
    return this.call("GET", url).promise.then((r) => r.data);
  }
}

/** Staff pages: the cookie goes by itself (same origin); writes carry the CSRF header. */
export function staffAuth() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  let token = meta ? meta.content : "";
  return {
    headers: (method) => (method === "GET" || method === "HEAD" ? {} : { "X-CSRFToken": token }),
    async recover(err) {
      // The page sat open while the session rotated (sign-in in another tab): read the
      // current token from a fresh copy of this page and try once more.
      if (err.code !== "csrf_failed") return false;
      try {
        const resp = await fetch(location.href, { credentials: "same-origin", headers: { Accept: "text/html" } });
        const doc = new DOMParser().parseFromString(await resp.text(), "text/html");
        const fresh = doc.querySelector('meta[name="csrf-token"]');
        if (!fresh || !fresh.content || fresh.content === token) return false;
        token = fresh.content;
        return true;
      } catch {
        return false;
      }
    },
  };
}
