// The attachment portal's page script: the uploader and the attachments list.
//
// The server renders a plain form that works without JavaScript. This script enhances it:
// drop, paste and a "Choose files" button feed a queue (one row per file, its own type),
// each file goes up with XMLHttpRequest (fetch has no upload progress) to the JSON API,
// and the attachments list is re-read from the API after each success.
// embed.js reuses these pieces through window.Portal with a bearer-token Api.
// Everything that comes from a user, a file or the server is written with textContent.
(() => {
  "use strict";

  // ---------------------------------------------------------------- small helpers

  /** Build an element; children that are strings become text nodes (never HTML). */
  function h(tag, attrs, ...children) {
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

  function formatBytes(n) {
    if (!Number.isFinite(n)) return "";
    if (n < 1024) return `${n} B`;
    if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
    const mb = n / (1024 * 1024);
    return `${mb < 10 ? mb.toFixed(1).replace(/\.0$/, "") : Math.round(mb)} MB`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function extensionOf(name) {
    const dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot).toLowerCase() : "";
  }

  function parseJSON(text, fallback) {
    try {
      return JSON.parse(text);
    } catch {
      return fallback;
    }
  }

  /** Only http(s) links from the server become hrefs (no javascript: whatever the data says). */
  function safeUrl(value, { sameOrigin = false } = {}) {
    if (typeof value !== "string" || !value) return null;
    try {
      const url = new URL(value, location.href);
      if (url.protocol !== "https:" && url.protocol !== "http:") return null;
      if (sameOrigin && url.origin !== location.origin) return null;
      return url.href;
    } catch {
      return null;
    }
  }

  const FORMAT_NAMES = {
    "application/pdf": "PDF",
    "application/msword": "Word (.doc)",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word (.docx)",
    "application/vnd.oasis.opendocument.text": "OpenDocument text",
    "application/rtf": "RTF",
    "text/rtf": "RTF",
    "text/plain": "Text",
    "image/png": "PNG image",
    "image/jpeg": "JPEG image",
  };

  /** A short name for a MIME type: the long Office types break the table otherwise. */
  function formatName(contentType) {
    if (!contentType) return "—";
    const base = String(contentType).split(";")[0].trim().toLowerCase();
    return FORMAT_NAMES[base] || base;
  }

  // ---------------------------------------------------------------- announcements

  /** One polite live region. Messages said within a moment are read together, once. */
  class Announcer {
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

  // ---------------------------------------------------------------- HTTP

  /** What every failed call rejects with: the server's error object, or one we made up. */
  class ApiError extends Error {
    constructor(status, info) {
      super(info.message || "Something went wrong.");
      this.status = status;
      this.code = info.code || "error";
      this.reference = info.reference || null;
      this.logUrl = info.log_url || null;
      this.retryAfter = Number.isFinite(info.retry_after) ? info.retry_after : null;
      this.retryable = info.retryable === true;
      this.network = info.network === true;
      this.aborted = info.aborted === true;
    }
  }

  const STATUS_MESSAGES = {
    413: "This file is too large for the portal.",
    429: "The portal is busy right now. Try again in a moment.",
    502: "The portal could not be reached properly. Try again in a moment.",
    503: "The portal is not available right now. Try again in a moment.",
    504: "The portal took too long to answer. Check the attachments list before trying again.",
  };

  function errorFrom(xhr) {
    const body = parseJSON(xhr.responseText, null);
    if (body && body.error && typeof body.error.message === "string") {
      return new ApiError(xhr.status, body.error);
    }
    // A proxy or the server's own HTML page: say something true without echoing its body.
    return new ApiError(xhr.status, {
      code: `http_${xhr.status}`,
      message: STATUS_MESSAGES[xhr.status] || `The portal answered with an error (HTTP ${xhr.status}).`,
    });
  }

  /**
   * One XMLHttpRequest. Resolves with {status, data} on 2xx, rejects with ApiError.
   * onProgress(loaded, total) and onSent() report the request body going up.
   */
  function send(method, url, { headers = {}, body = null, onProgress = null, onSent = null } = {}) {
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
          resolve({ status: xhr.status, data: parseJSON(xhr.responseText, {}) });
        } else {
          reject(errorFrom(xhr));
        }
      });
      xhr.addEventListener("error", () =>
        reject(new ApiError(0, { code: "network", network: true, message: "The connection to the portal was lost." })),
      );
      xhr.addEventListener("abort", () => reject(new ApiError(0, { code: "aborted", aborted: true, message: "Cancelled." })));
      xhr.send(body);
    });
    return { promise, abort: () => xhr.abort() };
  }

  /**
   * The JSON API with one way of authenticating: `auth.headers(method)` adds credentials,
   * `auth.recover(err)` may fix a 401/CSRF failure (new token) and says whether to try once more.
   */
  class Api {
    constructor(auth) {
      this.auth = auth;
    }

    call(method, url, options = {}) {
      let current = null;
      let aborted = false;
      const attempt = async (again) => {
        const headers = { Accept: "application/json", ...(options.headers || {}), ...this.auth.headers(method) };
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
  function staffAuth() {
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

  // ---------------------------------------------------------------- error display

  /** The server's message verbatim, its reference, and Kombo's log link when staff get one. */
  function errorNodes(err, extra) {
    const nodes = [h("p", { class: "qi-error" }, err.message)];
    const ref = [];
    if (err.reference) ref.push(`Reference ${err.reference}`);
    const log = safeUrl(err.logUrl);
    if (ref.length || log) {
      const p = h("p", { class: "qi-ref" }, ref.join(""));
      if (log) {
        if (ref.length) p.append(" · ");
        p.append(h("a", { href: log, target: "_blank", rel: "noopener noreferrer" }, "Kombo log"));
      }
      nodes.push(p);
    }
    if (extra) nodes.push(extra);
    return nodes;
  }

  function signInHint(err) {
    if (err.status !== 401 || err.code !== "sign_in_required") return null;
    const next = location.pathname + location.search;
    return h(
      "p",
      { class: "qi-ref" },
      h("a", { href: `/signin?next=${encodeURIComponent(next)}`, target: "_blank", rel: "noopener" }, "Sign in again"),
      " (opens a new tab), then choose Retry here.",
    );
  }

  // ---------------------------------------------------------------- uploader

  const STALL_MS = 30000; // no upload progress for this long: warn (never abort on our own)
  const SLOW_ATS_MS = 45000; // bytes sent, still waiting for the ATS: reassure, discourage re-sending
  const PARALLEL = 2; // files in flight at once; Kombo and the ATS prefer few concurrent writes
  const AUTO_RETRIES = 2;
  let rowCounter = 0;

  const NOUNS = { CV: "CVs", COVER_LETTER: "cover letters", OTHER: "other files" };
  const noun = (spec) => NOUNS[spec.type] || `${spec.label} files`;

  function isTextField(el) {
    if (!el || !(el instanceof Element)) return false;
    if (el.isContentEditable) return true;
    if (el instanceof HTMLTextAreaElement) return true;
    return el instanceof HTMLInputElement && !["file", "radio", "checkbox", "button", "submit", "reset"].includes(el.type);
  }

  class Uploader {
    /**
     * root: the [data-uploader] section. options: {api, onUploaded(item, data), onFailed(item, err), onSettled()}.
     */
    constructor(root, options) {
      this.root = root;
      this.options = options;
      this.api = options.api;
      this.url = root.dataset.uploadUrl;
      this.types = parseJSON(root.dataset.types || "[]", []);
      this.tool = root.dataset.tool || "the ATS";
      this.form = root.querySelector("[data-upload-form]");
      this.live = new Announcer(root.querySelector("[data-live]"));
      this.items = [];
      this.listeners = new AbortController();
      if (this.form && this.url) this.enhance();
    }

    /** Stop listening on the document (embed.js swaps views). */
    destroy() {
      this.listeners.abort();
      for (const item of this.items) if (item.call) item.call.abort();
    }

    get busy() {
      return this.items.some((i) => ["queued", "waiting", "sending", "checking"].includes(i.state));
    }

    enhance() {
      const q = (sel) => this.root.querySelector(sel);
      this.input = q("#file-input");
      this.zone = q("[data-dropzone]");
      this.choose = q("[data-choose]");
      this.queue = q("[data-queue]");
      this.submit = q("[data-upload-submit]");
      this.summary = q("[data-upload-summary]");
      const signal = this.listeners.signal;

      q("[data-dropzone-ui]").hidden = false;
      this.zone.classList.add("is-enhanced");
      // The native input stays in the form (no-JS path) but is reached through the button.
      this.input.tabIndex = -1;
      this.input.setAttribute("aria-hidden", "true");
      this.input.accept = this.acceptList();
      this.updateSubmit();

      this.choose.addEventListener("click", () => this.input.click());
      this.zone.addEventListener("click", (e) => {
        // The whole zone is a mouse target too; the button is the keyboard one (WCAG 2.5.7).
        if (e.target === this.zone || (e.target.closest(".dropzone-ui") && !e.target.closest("button"))) this.input.click();
      });
      this.input.addEventListener("change", () => {
        this.add(this.input.files);
        this.input.value = ""; // the same file can be chosen again
      });
      this.form.addEventListener("submit", (e) => {
        e.preventDefault();
        // Enter on a type radio submits the form implicitly; only the button starts uploads.
        const viaRadio = document.activeElement && document.activeElement.name === "type";
        if (!viaRadio && (!e.submitter || e.submitter === this.submit)) this.uploadReady();
      });
      this.root.querySelectorAll('input[name="type"]').forEach((radio) =>
        radio.addEventListener("change", () => this.followDefaultType()),
      );
      this.watchDrags(signal);
      document.addEventListener("paste", (e) => this.onPaste(e), { signal });
      window.addEventListener(
        "beforeunload",
        (e) => {
          if (!this.busy) return; // leaving would cut uploads off mid-way
          e.preventDefault();
          e.returnValue = ""; // older browsers ask only when this is set
        },
        { signal },
      );
    }

    acceptList() {
      const parts = new Set();
      for (const t of this.types) {
        if (!t.supported) continue;
        for (const f of t.formats || []) {
          for (const ext of f.extensions || []) parts.add(ext.startsWith(".") ? ext : `.${ext}`);
          if (f.mime) parts.add(f.mime);
        }
      }
      return Array.from(parts).join(",");
    }

    spec(type) {
      return this.types.find((t) => t.type === type) || null;
    }

    defaultType() {
      const checked = this.root.querySelector('input[name="type"]:checked');
      if (checked) return checked.value;
      const first = this.types.find((t) => t.supported);
      return first ? first.type : "OTHER";
    }

    // -- getting files in

    watchDrags(signal) {
      const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
      let depth = 0;
      // Anywhere on the page: never let the browser open a dropped file instead of the page,
      // and show where files can go.
      document.addEventListener(
        "dragenter",
        (e) => {
          if (!hasFiles(e)) return;
          e.preventDefault(); // a cancelled dragenter makes the target a drop target (HTML DnD)
          depth += 1;
          this.zone.classList.add("is-dragging");
        },
        { signal },
      );
      document.addEventListener(
        "dragleave",
        () => {
          depth = Math.max(0, depth - 1);
          if (depth === 0) this.zone.classList.remove("is-dragging", "is-over");
        },
        { signal },
      );
      document.addEventListener(
        "dragover",
        (e) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          const inside = this.zone.contains(e.target);
          e.dataTransfer.dropEffect = inside ? "copy" : "none";
          this.zone.classList.toggle("is-over", inside);
        },
        { signal },
      );
      document.addEventListener(
        "drop",
        (e) => {
          if (!hasFiles(e)) return;
          e.preventDefault();
          depth = 0;
          this.zone.classList.remove("is-dragging", "is-over");
          if (this.zone.contains(e.target)) this.add(this.filesFrom(e.dataTransfer));
        },
        { signal },
      );
    }

    /** Files from a drop, without folders (they arrive as empty "files" and cannot be sent). */
    filesFrom(dt) {
      const files = [];
      let folders = 0;
      const items = Array.from(dt.items || []);
      Array.from(dt.files || []).forEach((file, i) => {
        const entry = items[i] && items[i].webkitGetAsEntry ? items[i].webkitGetAsEntry() : null;
        if (entry && entry.isDirectory) folders += 1;
        else files.push(file);
      });
      if (folders) this.live.say(`${plural(folders, "folder was", "folders were")} skipped: drop the files inside instead.`);
      return files;
    }

    onPaste(e) {
      // Pasting text into a search box is not an upload.
      if (isTextField(e.target) || !this.root.isConnected) return;
      const files = Array.from((e.clipboardData && e.clipboardData.files) || []);
      if (!files.length) return;
      e.preventDefault();
      this.add(files);
    }

    add(fileList) {
      const files = Array.from(fileList || []).filter((f) => f instanceof File);
      if (!files.length) return;
      const type = this.defaultType();
      for (const file of files) {
        const item = { id: ++rowCounter, file, type, typeChosen: false, state: "ready", attempts: 0, call: null };
        item.duplicate = this.items.some(
          (o) => o.file.name === file.name && o.file.size === file.size && o.state !== "failed" && o.state !== "cancelled",
        );
        this.items.push(item);
        this.queue.append(this.buildRow(item));
        this.render(item);
      }
      this.updateSubmit();
      const names = files.map((f) => f.name).join(", ");
      this.live.say(`Added ${plural(files.length, "file", "files")}: ${names}. Check each file's type, then choose Upload.`);
    }

    /** Rows the user has not touched follow the "What are you adding?" choice. */
    followDefaultType() {
      const type = this.defaultType();
      for (const item of this.items) {
        if (item.state === "ready" && !item.typeChosen) {
          item.type = type;
          item.el.select.value = type;
          this.render(item);
        }
      }
    }

    // -- one row per file

    buildRow(item) {
      const n = item.id;
      const select = h(
        "select",
        { id: `qi-${n}-type`, onchange: () => this.setType(item, select.value) },
        this.types.map((t) =>
          h(
            "option",
            { value: t.type, disabled: !t.supported, selected: t.type === item.type },
            t.supported ? t.label : `${t.label} (not accepted)`,
          ),
        ),
      );
      const bar = h("div", { class: "progress-bar" });
      const progress = h(
        "div",
        { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": `Upload of ${item.file.name}`, hidden: true },
        bar,
      );
      const named = (label) => [label, h("span", { class: "visually-hidden" }, ` ${item.file.name}`)];
      const typeEdit = h(
        "span",
        { class: "qi-type-edit" },
        h("label", { for: select.id }, "Type", h("span", { class: "visually-hidden" }, ` of ${item.file.name}`)),
        select,
      );
      const el = {
        select,
        typeEdit,
        typeText: h("span", { class: "qi-type-text", hidden: true }),
        progress,
        status: h("p", { class: "qi-status", hidden: true }),
        hint: h("p", { class: "qi-hint", hidden: true }),
        detail: h("div", { class: "qi-detail" }),
        cancel: h("button", { type: "button", class: "small", onclick: () => this.cancel(item) }, named("Cancel")),
        retry: h("button", { type: "button", class: "small primary", onclick: () => this.retry(item) }, named("Retry")),
        remove: h("button", { type: "button", class: "small", onclick: () => this.remove(item) }, named("Remove")),
        dismiss: h("button", { type: "button", class: "small", onclick: () => this.remove(item) }, named("Dismiss")),
      };
      item.el = el;
      item.row = h(
        "li",
        { class: "qi", "data-qi": String(n), tabindex: "-1" },
        h("span", { class: "qi-icon", "aria-hidden": "true" }),
        h(
          "div",
          { class: "qi-main" },
          h("span", { class: "qi-name" }, item.file.name),
          h("span", { class: "qi-size" }, formatBytes(item.file.size)),
          h("div", { class: "qi-type" }, typeEdit, el.typeText),
        ),
        h("div", { class: "qi-actions" }, el.cancel, el.retry, el.remove, el.dismiss),
        h("div", { class: "qi-body" }, progress, el.status, el.hint, el.detail),
      );
      return item.row;
    }

    setType(item, type) {
      item.type = type;
      item.typeChosen = true;
      this.render(item);
      this.updateSubmit();
    }

    /** Client-side checks: hints only. The server decides, except for a size it has published. */
    check(item) {
      const spec = this.spec(item.type);
      const { file } = item;
      if (!spec || !spec.supported) return { block: `${this.tool} does not accept this type. Choose another type.` };
      if (spec.max_bytes && file.size > spec.max_bytes) {
        return {
          block: `This file is ${formatBytes(file.size)}; ${this.tool} accepts up to ${formatBytes(spec.max_bytes)} for ${noun(spec)}.`,
        };
      }
      if (file.size === 0) return { warn: "This file is empty." };
      const exts = (spec.formats || []).flatMap((f) => f.extensions || []).map((x) => (x.startsWith(".") ? x : `.${x}`).toLowerCase());
      const ext = extensionOf(file.name);
      if (exts.length && !exts.includes(ext)) {
        const labels = (spec.formats || []).map((f) => f.label).join(", ");
        return { warn: `${this.tool} takes ${labels} for ${noun(spec)}; this file may be refused.` };
      }
      if (item.duplicate) return { warn: "This file is already in the list." };
      return {};
    }

    /** Show the item's state: which controls, which message, the progress bar. */
    render(item) {
      const { el, state } = item;
      const active = document.activeElement;
      const hadFocus = item.row.contains(active);
      const verdict = state === "ready" || state === "blocked" ? this.check(item) : {};
      if (state === "ready" && verdict.block) item.state = "blocked";
      if (state === "blocked" && !verdict.block) item.state = "ready";
      item.row.dataset.state = item.state;
      const s = item.state;
      const editable = s === "ready" || s === "blocked" || s === "failed" || s === "cancelled";
      // While sending and after, the type is a fact, not a choice: plain text, not a dead control.
      el.typeEdit.hidden = !editable;
      el.typeText.hidden = editable;
      el.typeText.textContent = `Type: ${(this.spec(item.type) || { label: item.type }).label}`;
      el.cancel.hidden = !(s === "sending" || s === "queued" || s === "waiting");
      el.retry.hidden = !(s === "failed" || s === "cancelled");
      el.remove.hidden = !editable;
      el.dismiss.hidden = s !== "done";
      el.progress.hidden = !(s === "sending" || s === "checking");
      const hint = verdict.block || verdict.warn || "";
      el.hint.textContent = hint;
      el.hint.hidden = !hint;
      if (s === "ready" || s === "blocked") this.setStatus(item, "");
      if (hadFocus && (active.hidden || active.disabled || !item.row.contains(document.activeElement))) this.focusRow(item);
    }

    /** A focused button that just hid (Cancel after success...) hands focus to its row. */
    focusRow(item) {
      const button = Array.from(item.row.querySelectorAll("button")).find((b) => !b.hidden);
      (button || item.row).focus();
    }

    setStatus(item, text) {
      item.el.status.textContent = text;
      item.el.status.hidden = !text;
    }

    setProgress(item, fraction) {
      const bar = item.el.progress;
      const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
      bar.classList.remove("is-indeterminate");
      bar.setAttribute("aria-valuenow", String(pct));
      bar.removeAttribute("aria-valuetext");
      bar.firstChild.style.setProperty("--progress", String(pct / 100));
    }

    setIndeterminate(item, text) {
      const bar = item.el.progress;
      bar.classList.add("is-indeterminate");
      bar.removeAttribute("aria-valuenow"); // an indeterminate progressbar has no value
      bar.setAttribute("aria-valuetext", text);
    }

    updateSubmit() {
      const ready = this.items.filter((i) => i.state === "ready").length;
      const blocked = this.items.filter((i) => i.state === "blocked").length;
      this.submit.hidden = ready === 0;
      this.submit.disabled = ready === 0;
      this.submit.textContent = `Upload ${plural(ready, "file", "files")} to ${this.tool}`;
      this.summary.textContent = !blocked
        ? ""
        : blocked === 1
          ? "1 file cannot be sent as it is: see its note."
          : `${blocked} files cannot be sent as they are: see their notes.`;
      this.summary.hidden = !blocked;
    }

    // -- sending

    uploadReady() {
      const ready = this.items.filter((i) => i.state === "ready");
      if (!ready.length) return;
      const hadFocus = document.activeElement === this.submit;
      for (const item of ready) this.enqueue(item);
      if (hadFocus) this.focusRow(ready[0]); // the Upload button hides; stay next to the work
      this.live.say(`Uploading ${plural(ready.length, "file", "files")} to ${this.tool}.`);
    }

    enqueue(item) {
      item.state = "queued";
      item.autoRetries = 0;
      this.setStatus(item, "Waiting to upload…");
      item.el.detail.replaceChildren();
      this.render(item);
      this.updateSubmit();
      this.pump();
    }

    pump() {
      const active = this.items.filter((i) => i.state === "sending" || i.state === "checking").length;
      const next = this.items.filter((i) => i.state === "queued").slice(0, Math.max(0, PARALLEL - active));
      next.forEach((item) => this.start(item));
    }

    start(item) {
      item.state = "sending";
      item.attempts += 1;
      item.sentAll = false;
      item.el.detail.replaceChildren();
      this.render(item);
      this.setProgress(item, 0);
      this.setStatus(item, `Sending… 0 of ${formatBytes(item.file.size)}`);
      const body = new FormData();
      body.append("type", item.type);
      body.append("file", item.file, item.file.name);
      this.armStall(item);
      item.call = this.api.call("POST", this.url, {
        body,
        onProgress: (loaded, total) => this.onProgress(item, loaded, total),
        onSent: () => this.onSent(item),
      });
      item.call.promise.then(
        (res) => this.succeeded(item, res.data),
        (err) => this.failed(item, err),
      );
    }

    onProgress(item, loaded, total) {
      if (item.state !== "sending") return;
      this.armStall(item);
      const size = total || item.file.size || 1;
      this.setProgress(item, loaded / size);
      this.setStatus(item, `Sending… ${formatBytes(Math.min(loaded, item.file.size))} of ${formatBytes(item.file.size)}`);
    }

    /** All bytes are with the portal; it now checks the file and hands it to the ATS. */
    onSent(item) {
      if (item.state !== "sending") return;
      item.sentAll = true;
      item.state = "checking";
      clearTimeout(item.stallTimer);
      this.render(item);
      const text = `Checking the file and sending it to ${this.tool}…`;
      this.setIndeterminate(item, text);
      this.setStatus(item, text);
      item.slowTimer = setTimeout(() => {
        if (item.state === "checking") {
          this.setStatus(item, `Still waiting for ${this.tool}. Some ATSs take a few minutes to accept a file; please don't send it again.`);
        }
      }, SLOW_ATS_MS);
    }

    armStall(item) {
      clearTimeout(item.stallTimer);
      item.stallTimer = setTimeout(() => {
        if (item.state !== "sending") return;
        this.setStatus(item, "No progress for 30 seconds. The connection may be slow or stalled: keep waiting, or Cancel and Retry.");
        this.live.say(`${item.file.name}: no progress for 30 seconds.`);
      }, STALL_MS);
    }

    clearTimers(item) {
      clearTimeout(item.stallTimer);
      clearTimeout(item.slowTimer);
      clearTimeout(item.retryTimer);
    }

    succeeded(item, data) {
      this.clearTimers(item);
      item.call = null;
      item.state = "done";
      item.result = data;
      this.render(item);
      const sentName = (data && data.attachment && data.attachment.name) || item.file.name;
      let text = `Uploaded to ${this.tool}`;
      if (sentName !== item.file.name) text += ` as “${sentName}”`;
      if (data && data.confirmed_by === "listing") text += ` (confirmed from ${this.tool}'s list of attachments)`;
      this.setStatus(item, `${text}.`);
      const warnings = (data && Array.isArray(data.warnings) ? data.warnings : []).filter((w) => typeof w === "string");
      if (warnings.length) {
        item.el.detail.replaceChildren(h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, `The ATS says: ${w}`))));
      }
      this.live.say(`${item.file.name} uploaded to ${this.tool}.${warnings.length ? ` ${plural(warnings.length, "note", "notes")} from the ATS.` : ""}`);
      if (this.options.onUploaded) this.options.onUploaded(item, data);
      this.settle();
    }

    failed(item, err) {
      this.clearTimers(item);
      item.call = null;
      if (err.aborted || item.state === "cancelled") {
        item.state = "cancelled";
        this.render(item);
        this.setStatus(item, "Cancelled. Nothing was sent to the ATS.");
        this.live.say(`Upload of ${item.file.name} cancelled.`);
        this.settle();
        return;
      }
      if (this.autoRetry(item, err)) return;
      item.state = "failed";
      item.error = err;
      this.render(item);
      this.setStatus(item, "");
      let message = err;
      if (err.network) {
        message = new ApiError(0, {
          message: item.sentAll
            ? `The connection was lost while ${this.tool} was receiving the file. Check the attachments list before trying again.`
            : "The connection to the portal was lost before the file was sent. Nothing reached the ATS.",
        });
      }
      item.el.detail.replaceChildren(...errorNodes(message, signInHint(err)));
      this.live.say(`${item.file.name} was not uploaded: ${message.message}`);
      if (this.options.onFailed) this.options.onFailed(item, err);
      this.settle();
    }

    /** Busy (429) and a connection lost before the body was sent are safe to repeat; nothing else is. */
    autoRetry(item, err) {
      const safe = err.status === 429 || (err.network && !item.sentAll);
      if (!safe || item.autoRetries >= AUTO_RETRIES) return false;
      item.autoRetries += 1;
      const wait = Math.min(err.retryAfter || 2 ** item.autoRetries, 30);
      item.state = "waiting";
      this.render(item);
      this.setStatus(item, `${err.status === 429 ? "Busy" : "Connection lost"}; trying again in ${plural(wait, "second", "seconds")}…`);
      item.retryTimer = setTimeout(() => {
        if (item.state !== "waiting") return;
        item.state = "queued";
        this.pump();
      }, wait * 1000);
      this.settle();
      return true;
    }

    /** A remark about a finished file, e.g. where the ATS put it. */
    note(item, text) {
      item.el.detail.append(h("p", { class: "qi-hint" }, text));
    }

    settle() {
      this.updateSubmit();
      this.pump();
      if (this.options.onSettled) this.options.onSettled();
    }

    cancel(item) {
      if (item.state === "queued" || item.state === "waiting") {
        clearTimeout(item.retryTimer);
        item.state = "cancelled";
        this.render(item);
        this.setStatus(item, "Cancelled. Nothing was sent to the ATS.");
        this.live.say(`Upload of ${item.file.name} cancelled.`);
        item.el.retry.focus();
        this.settle();
      } else if (item.state === "sending" && item.call) {
        item.call.abort(); // failed() turns it into "cancelled"
        item.el.retry.focus();
      }
    }

    retry(item) {
      if (item.state !== "failed" && item.state !== "cancelled") return;
      item.state = "ready";
      this.render(item);
      if (item.state === "blocked") {
        item.el.select.focus();
        return;
      }
      this.enqueue(item);
      this.live.say(`Retrying ${item.file.name}.`);
    }

    remove(item) {
      const index = this.items.indexOf(item);
      if (index < 0) return;
      if (item.call) item.call.abort();
      this.clearTimers(item);
      this.items.splice(index, 1);
      item.row.remove();
      // Keep focus in the widget: the next row's first visible button, else "Choose files".
      const next = this.items[index] || this.items[index - 1];
      const target = next ? Array.from(next.row.querySelectorAll("button")).find((b) => !b.hidden) : null;
      (target || this.choose).focus();
      this.live.say(`Removed ${item.file.name} from the list.`);
      this.updateSubmit();
    }
  }

  // ---------------------------------------------------------------- attachments list

  // Download links are signed for a few minutes (the list says how long: download_expires_in).
  // A list older than that, less a margin, is refreshed before a download so no link is stale.
  const DEFAULT_LINK_FRESH_MS = 4 * 60 * 1000;
  const LINK_MARGIN_MS = 60 * 1000;

  class AttachmentsList {
    constructor(root, { api }) {
      this.root = root;
      this.api = api;
      this.url = root.dataset.listUrl;
      this.body = root.querySelector("[data-attachments-body]");
      this.loadedAt = Date.now();
      this.linkFreshMs = DEFAULT_LINK_FRESH_MS;
      this.pending = null;
      this.next = null;
      this.items = [];
      this.known = new Set(Array.from(root.querySelectorAll("tr[data-id]")).map((tr) => tr.dataset.id));
      // Server-rendered rows show the raw MIME type; give them the same short names as ours.
      root.querySelectorAll("td[data-mime]").forEach((td) => {
        if (td.dataset.mime) td.textContent = formatName(td.dataset.mime);
      });
      const refresh = root.querySelector("[data-attachments-refresh]");
      if (refresh && this.url) {
        refresh.hidden = false;
        refresh.addEventListener("click", () => this.refresh());
      }
      this.body.addEventListener("click", (e) => this.onDownloadClick(e));
    }

    /**
     * Re-read the list. Calls made while one is running share one more read after it, so the
     * promise always settles with a list read after the call (it can show a just-sent file).
     */
    refresh(highlight) {
      if (highlight) this.highlight = new Set([...(this.highlight || []), ...highlight]);
      if (this.pending) {
        if (!this.next) {
          this.next = this.pending.then(() => {
            this.next = null;
            return this.refresh();
          });
        }
        return this.next;
      }
      this.root.setAttribute("aria-busy", "true");
      this.pending = this.api
        .get(this.url)
        .then((data) => this.render(data))
        .catch((err) => this.renderError(err))
        .finally(() => {
          this.pending = null;
          this.root.removeAttribute("aria-busy");
        });
      return this.pending;
    }

    render(data) {
      this.loadedAt = Date.now();
      const ttl = Number(data.download_expires_in);
      if (ttl > 0) this.linkFreshMs = Math.max(ttl * 1000 - LINK_MARGIN_MS, ttl * 500);
      const nodes = [];
      const items = Array.isArray(data.attachments) ? data.attachments : [];
      if (!data.available) {
        nodes.push(h("p", { class: "notice", role: "status" }, data.message || "The attachments cannot be shown."));
      } else if (!items.length) {
        nodes.push(h("p", { class: "empty" }, "No attachments yet."));
      } else {
        nodes.push(this.table(items));
      }
      const warnings = (data.warnings || []).filter((w) => typeof w === "string");
      if (warnings.length) nodes.push(h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, `The ATS says: ${w}`))));
      this.body.replaceChildren(...nodes);
      this.items = items;
      this.known = new Set(items.map((a) => a.id));
      this.highlight = null;
    }

    table(items) {
      const cols = ["Name", "Type", "Belongs to", "Format", "Added"];
      const fresh = this.highlight || null;
      return h(
        "table",
        { class: "table" },
        h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
        h(
          "tbody",
          {},
          items.map((a) => {
            const name = String(a.name || "attachment");
            const href = safeUrl(a.download_url, { sameOrigin: true });
            const isNew = fresh && !this.known.has(a.id) && fresh.has(name);
            const date = typeof a.created_at === "string" ? a.created_at.slice(0, 10) : "";
            return h(
              "tr",
              { "data-id": a.id || "", class: isNew ? "is-new" : null },
              h(
                "td",
                {},
                href ? h("a", { href, download: true, "data-download": true }, h("span", { class: "visually-hidden" }, "Download "), name) : name,
                isNew ? h("span", { class: "new-badge" }, "New") : null,
              ),
              h("td", { "data-label": "Type" }, a.type_label || "Other"),
              h("td", { "data-label": "Belongs to" }, h("span", { class: `belongs belongs-${a.belongs_to || "candidate"}` }, a.belongs_label || "")),
              h("td", { "data-label": "Format" }, a.format_label || formatName(a.content_type)),
              h("td", { "data-label": "Added", class: "nowrap" }, date ? h("time", { datetime: a.created_at }, date) : "—"),
            );
          }),
        ),
      );
    }

    renderError(err) {
      const retry = h("button", { type: "button", class: "small", onclick: () => this.refresh() }, "Try again");
      this.body.replaceChildren(h("p", { class: "notice", role: "alert" }, `The attachments could not be loaded: ${err.message}`), retry);
    }

    /** An old list's links may have expired: refresh first, then download the same attachment. */
    onDownloadClick(e) {
      const link = e.target.closest("a[data-download]");
      if (!link || Date.now() - this.loadedAt < this.linkFreshMs || !this.url) return;
      e.preventDefault();
      const id = link.closest("tr") && link.closest("tr").dataset.id;
      this.refresh().then(() => {
        const again = id && this.body.querySelector(`tr[data-id="${CSS.escape(id)}"] a[data-download]`);
        if (again) again.click();
      });
    }
  }

  /**
   * After a success: re-read the list, and say so on the row when the ATS put the file on the
   * candidate's profile instead of this application (some ATSs only keep files there).
   */
  function refreshAfterUpload(list, uploader, item, data) {
    const name = (data && data.attachment && data.attachment.name) || item.file.name;
    if (!list) return;
    list.refresh(new Set([name])).then(() => {
      const found = list.items.find((a) => a.name === name);
      if (found && found.belongs_to === "candidate") {
        uploader.note(item, `${uploader.tool} keeps this file on the candidate's profile, not on this application.`);
      }
    });
  }

  // ---------------------------------------------------------------- staff page

  function initStaffPage() {
    const uploaderRoot = document.querySelector("[data-uploader]");
    const listRoot = document.querySelector("[data-attachments]");
    const api = new Api(staffAuth());
    const list = listRoot && listRoot.dataset.listUrl ? new AttachmentsList(listRoot, { api }) : null;
    if (uploaderRoot) {
      const uploader = new Uploader(uploaderRoot, {
        api,
        onUploaded: (item, data) => refreshAfterUpload(list, uploader, item, data),
        onFailed: (item, err) => {
          // The outcome of a lost connection after sending is unknown: show the truth.
          if (list && err.network) list.refresh();
        },
      });
    }
  }

  window.Portal = Object.freeze({
    h,
    send,
    Api,
    ApiError,
    Announcer,
    Uploader,
    AttachmentsList,
    refreshAfterUpload,
    formatBytes,
    plural,
    safeUrl,
  });

  if (!document.getElementById("embed-root")) initStaffPage();
})();
