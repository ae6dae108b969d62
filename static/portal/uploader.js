// The upload widget: the server's plain form, enhanced. Drop, paste and a "Choose files" button
// feed a queue (one row per file, its own type); each file goes up on its own request with
// progress. The rules (states, checks, messages) live in queue.js and outcome.js; this module
// only draws them and wires the events.

import { Announcer, h, parseJSON, safeUrl } from "./dom.js";
import { formatBytes, formatDay } from "./format.js";
import { autoRetryWait, failureMessage, isRetryable, successText, waitingText } from "./outcome.js";
import {
  acceptList,
  AUTO_RETRIES,
  checkFile,
  controlsFor,
  inQueue,
  isBusy,
  newKey,
  preSendState,
  sendingProgress,
  toStart,
} from "./queue.js";
import { S } from "./strings.js";

const STALL_MS = 30000; // no upload progress for this long: warn (never abort on our own)
const SLOW_ATS_MS = 45000; // bytes sent, still waiting for the ATS: reassure, discourage re-sending
let rowCounter = 0;

function isTextField(el) {
  if (!el || !(el instanceof Element)) return false;
  if (el.isContentEditable) return true;
  if (el instanceof HTMLTextAreaElement) return true;
  return el instanceof HTMLInputElement && !["file", "radio", "checkbox", "button", "submit", "reset"].includes(el.type);
}

/** The server's message verbatim, its reference, and Kombo's log link when staff get one. */
export function errorNodes(err, extra) {
  const nodes = [h("p", { class: "qi-error" }, err.message)];
  const ref = err.reference ? S.reference(err.reference) : "";
  const log = safeUrl(err.logUrl);
  if (ref || log) {
    const p = h("p", { class: "qi-ref" }, ref);
    if (log) {
      if (ref) p.append(" · ");
      p.append(h("a", { href: log, target: "_blank", rel: "noopener noreferrer" }, S.komboLog));
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
    h("a", { href: `/signin?next=${encodeURIComponent(next)}`, target: "_blank", rel: "noopener" }, S.signInAgain),
    S.signInAgainTail,
  );
}

export class Uploader {
  /**
   * root: the [data-uploader] section. options: {api, onUploaded(item, data), onFailed(item, err),
   * onSettled(), existing(file) -> the attachment already on the candidate that looks like it, or null}.
   */
  constructor(root, options) {
    this.root = root;
    this.options = options;
    this.api = options.api;
    this.url = root.dataset.uploadUrl;
    this.types = parseJSON(root.dataset.types || "[]", []);
    this.tool = root.dataset.tool || S.theAts;
    this.form = root.querySelector("[data-upload-form]");
    this.live = new Announcer(root.querySelector("[data-live]"));
    this.items = [];
    this.listeners = new AbortController();
    if (this.form && this.url) this.enhance();
  }

  /** Stop listening on the document (the embed swaps views). */
  destroy() {
    this.listeners.abort();
    for (const item of this.items) if (item.call) item.call.abort();
  }

  get busy() {
    return isBusy(this.items);
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
    this.input.accept = acceptList(this.types);
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
    const on = (type, fn) => document.addEventListener(type, fn, { signal });
    on("dragenter", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault(); // a cancelled dragenter makes the target a drop target (HTML DnD)
      depth += 1;
      this.zone.classList.add("is-dragging");
    });
    on("dragleave", () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) this.zone.classList.remove("is-dragging", "is-over");
    });
    on("dragover", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      const inside = this.zone.contains(e.target);
      e.dataTransfer.dropEffect = inside ? "copy" : "none";
      this.zone.classList.toggle("is-over", inside);
    });
    on("drop", (e) => {
      if (!hasFiles(e)) return;
      e.preventDefault();
      depth = 0;
      this.zone.classList.remove("is-dragging", "is-over");
      if (this.zone.contains(e.target)) this.add(this.filesFrom(e.dataTransfer));
    });
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
    if (folders) this.live.say(S.folderSkipped(folders));
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
      // One key per file added, kept for every retry of it; removed and added again, it is a new file.
      const item = { id: ++rowCounter, key: newKey(), file, type, typeChosen: false, state: "ready", attempts: 0, call: null };
      item.duplicate = inQueue(this.items, file);
      item.onCandidate = this.existing(file);
      this.items.push(item);
      this.queue.append(this.buildRow(item));
      this.render(item);
    }
    this.updateSubmit();
    this.live.say(S.added(files.length, files.map((f) => f.name).join(", ")));
  }

  existing(file) {
    return this.options.existing ? this.options.existing(file) : null;
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
        h("option", { value: t.type, disabled: !t.supported, selected: t.type === item.type }, t.supported ? t.label : S.notAccepted(t.label)),
      ),
    );
    const bar = h("div", { class: "progress-bar" });
    const progress = h(
      "div",
      { class: "progress", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-label": S.uploadOf(item.file.name), hidden: true },
      bar,
    );
    const named = (label) => [label, h("span", { class: "visually-hidden" }, ` ${item.file.name}`)];
    const typeEdit = h(
      "span",
      { class: "qi-type-edit" },
      h("label", { for: select.id }, S.typeLabel, h("span", { class: "visually-hidden" }, S.typeOf(item.file.name))),
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
      cancel: h("button", { type: "button", class: "small", onclick: () => this.cancel(item) }, named(S.cancel)),
      retry: h("button", { type: "button", class: "small primary", onclick: () => this.retry(item) }, named(S.retry)),
      choose: h("button", { type: "button", class: "small primary", onclick: () => this.chooseAnother(item) }, named(S.chooseAnother)),
      remove: h("button", { type: "button", class: "small", onclick: () => this.remove(item) }, named(S.remove)),
      dismiss: h("button", { type: "button", class: "small", onclick: () => this.remove(item) }, named(S.dismiss)),
      anyway: h("button", { type: "button", class: "small primary", onclick: () => this.uploadAnyway(item) }, named(S.uploadAnyway)),
      dontUpload: h("button", { type: "button", class: "small", onclick: () => this.remove(item) }, named(S.cancel)),
    };
    item.el = el;
    item.row = h(
      "li",
      // Focusable by script only: while a file is checked no control is shown, and focus must
      // stay in the row (outlined in the CSS) rather than fall back to the top of the page.
      { class: "qi", "data-qi": String(n), tabindex: "-1" },
      h("span", { class: "qi-icon", "aria-hidden": "true" }),
      h(
        "div",
        { class: "qi-main" },
        h("span", { class: "qi-name" }, item.file.name),
        h("span", { class: "qi-size" }, formatBytes(item.file.size)),
        h("div", { class: "qi-type" }, typeEdit, el.typeText),
      ),
      h("div", { class: "qi-actions" }, el.cancel, el.retry, el.choose, el.anyway, el.dontUpload, el.remove, el.dismiss),
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

  /** Show the item's state: which controls, which message, the progress bar. */
  render(item) {
    const { el, state } = item;
    const active = document.activeElement;
    const hadFocus = item.row.contains(active);
    const before = state === "ready" || state === "blocked" || state === "confirm";
    const verdict = before ? checkFile(item.file, this.spec(item.type), { tool: this.tool, duplicate: item.duplicate }) : {};
    if (before) item.state = preSendState(verdict, item);
    item.row.dataset.state = item.state;
    const shown = controlsFor(item.state, { retryable: !item.error || isRetryable(item.error) });
    // While sending and after, the type is a fact, not a choice: plain text, not a dead control.
    el.typeEdit.hidden = !shown.editable;
    el.typeText.hidden = shown.editable;
    el.typeText.textContent = S.typeIs((this.spec(item.type) || { label: item.type }).label);
    el.cancel.hidden = !shown.cancel;
    el.retry.hidden = !shown.retry;
    el.choose.hidden = !shown.choose;
    el.anyway.hidden = !shown.confirm;
    el.dontUpload.hidden = !shown.confirm;
    el.remove.hidden = !shown.remove;
    el.dismiss.hidden = !shown.dismiss;
    el.progress.hidden = !shown.progress;
    const onCandidate = item.state === "confirm" ? S.onCandidate(item.file.name, formatDay(item.onCandidate.created_at)) : "";
    const hint = verdict.block || onCandidate || verdict.warn || "";
    el.hint.textContent = hint;
    el.hint.hidden = !hint;
    if (before) this.setStatus(item, "");
    const lost = active === item.row || active.hidden || active.disabled || !item.row.contains(document.activeElement);
    if (hadFocus && lost) this.focusRow(item);
  }

  /** Focus the row's first visible button (Cancel, Dismiss...), else the row itself until one shows. */
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
    const pct = Math.round(fraction * 100);
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
    this.submit.textContent = S.submit(ready, this.tool);
    this.summary.textContent = blocked ? S.blockedSummary(blocked) : "";
    this.summary.hidden = !blocked;
  }

  // -- sending

  uploadReady() {
    // The list may have arrived after the files were added: look again before sending.
    for (const item of this.items.filter((i) => i.state === "ready" && !i.confirmed)) {
      item.onCandidate = this.existing(item.file);
      if (item.onCandidate) this.render(item);
    }
    const ready = this.items.filter((i) => i.state === "ready");
    const hadFocus = document.activeElement === this.submit;
    if (!ready.length) {
      const asking = this.items.find((i) => i.state === "confirm");
      if (hadFocus && asking) this.focusRow(asking); // the Upload button hid: go to the question
      return;
    }
    for (const item of ready) this.enqueue(item);
    if (hadFocus) this.focusRow(ready[0]); // the Upload button hides; stay next to the work
    this.live.say(S.uploading(ready.length, this.tool));
  }

  enqueue(item) {
    item.state = "queued";
    item.autoRetries = 0;
    this.setStatus(item, S.waiting);
    item.el.detail.replaceChildren();
    this.render(item);
    this.updateSubmit();
    this.pump();
  }

  pump() {
    toStart(this.items).forEach((item) => this.start(item));
  }

  /** The user saw that the file is already on the candidate and sends it all the same. */
  uploadAnyway(item) {
    if (item.state !== "confirm") return;
    item.confirmed = true;
    this.enqueue(item);
  }

  start(item) {
    item.sentAt = item.sentAt || Date.now(); // the first attempt: the list cannot have it from before
    item.state = "sending";
    item.attempts += 1;
    item.sentAll = false;
    item.el.detail.replaceChildren();
    this.render(item);
    this.setProgress(item, 0);
    this.setStatus(item, sendingProgress(0, 0, item.file.size).text);
    const body = new FormData();
    body.append("type", item.type);
    body.append("file", item.file, item.file.name);
    this.armStall(item);
    item.call = this.api.call("POST", this.url, {
      headers: { "Idempotency-Key": item.key },
      body,
      onProgress: (loaded, total) => this.onProgress(item, loaded, total),
      onSent: () => this.onSent(item),
    });
    item.call.promise.then(
      (res) => this.succeeded(item, res),
      (err) => this.failed(item, err),
    );
  }

  onProgress(item, loaded, total) {
    if (item.state !== "sending") return;
    this.armStall(item);
    const { fraction, text } = sendingProgress(loaded, total, item.file.size);
    this.setProgress(item, fraction);
    this.setStatus(item, text);
  }

  /** All bytes are with the portal; it now checks the file and hands it to the ATS. */
  onSent(item) {
    if (item.state !== "sending") return;
    item.sentAll = true;
    item.state = "checking";
    clearTimeout(item.stallTimer);
    this.render(item);
    const text = S.checking(this.tool);
    this.setIndeterminate(item, text);
    this.setStatus(item, text);
    item.slowTimer = setTimeout(() => {
      if (item.state === "checking") this.setStatus(item, S.stillWaiting(this.tool));
    }, SLOW_ATS_MS);
  }

  armStall(item) {
    clearTimeout(item.stallTimer);
    item.stallTimer = setTimeout(() => {
      if (item.state !== "sending") return;
      this.setStatus(item, S.stalled);
      this.live.say(S.stalledLive(item.file.name));
    }, STALL_MS);
  }

  clearTimers(item) {
    clearTimeout(item.stallTimer);
    clearTimeout(item.slowTimer);
    clearTimeout(item.retryTimer);
  }

  succeeded(item, res) {
    const data = res.data;
    this.clearTimers(item);
    item.call = null;
    item.state = "done";
    item.error = null;
    item.result = data;
    item.replayed = res.header && res.header("Idempotent-Replayed") === "true";
    this.render(item);
    const said = successText(data, item.file.name, this.tool);
    item.already = said.already;
    this.setStatus(item, said.status);
    if (said.warnings.length) console.info("kombo.warnings", item.file.name, said.warnings);
    this.live.say(said.live);
    if (this.options.onUploaded) this.options.onUploaded(item, data);
    this.settle();
  }

  failed(item, err) {
    this.clearTimers(item);
    item.call = null;
    if (err.aborted || item.state === "cancelled") {
      item.state = "cancelled";
      this.render(item);
      this.setStatus(item, S.cancelledNothingSent);
      this.live.say(S.cancelledLive(item.file.name));
      this.settle();
      return;
    }
    if (this.autoRetry(item, err)) return;
    item.state = "failed";
    item.error = err;
    this.render(item);
    this.setStatus(item, "");
    const message = failureMessage(err, { sentAll: item.sentAll, tool: this.tool });
    item.el.detail.replaceChildren(...errorNodes({ ...err, message, reference: err.reference, logUrl: err.logUrl }, signInHint(err)));
    this.live.say(S.notUploadedLive(item.file.name, message));
    if (this.options.onFailed) this.options.onFailed(item, err);
    this.settle();
  }

  autoRetry(item, err) {
    const wait = autoRetryWait(err, { sentAll: item.sentAll, autoRetries: item.autoRetries, max: AUTO_RETRIES });
    if (!wait) return false;
    item.autoRetries += 1;
    item.state = "waiting";
    this.render(item);
    this.setStatus(item, waitingText(err, wait));
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
      this.setStatus(item, S.cancelledNothingSent);
      this.live.say(S.cancelledLive(item.file.name));
      item.el.retry.focus();
      this.settle();
    } else if (item.state === "sending" && item.call) {
      item.call.abort(); // failed() turns it into "cancelled"
      item.el.retry.focus();
    }
  }

  retry(item) {
    if (item.state !== "failed" && item.state !== "cancelled") return;
    if (item.state === "failed" && item.error && !isRetryable(item.error)) return;
    item.state = "ready";
    item.error = null;
    this.render(item);
    if (item.state === "blocked") {
      item.el.select.focus();
      return;
    }
    this.enqueue(item);
    this.live.say(S.retrying(item.file.name));
  }

  /** A refused file's main action: take it off the list and open the chooser for another. */
  chooseAnother(item) {
    this.remove(item, { focus: this.choose });
    this.input.click();
  }

  remove(item, { focus = null } = {}) {
    const index = this.items.indexOf(item);
    if (index < 0) return;
    if (item.call) item.call.abort();
    this.clearTimers(item);
    this.items.splice(index, 1);
    item.row.remove();
    // Keep focus in the widget: the next row's first visible button, else "Choose files".
    const next = this.items[index] || this.items[index - 1];
    const target = next ? Array.from(next.row.querySelectorAll("button")).find((b) => !b.hidden) : null;
    (focus || target || this.choose).focus();
    this.live.say(S.removed(item.file.name));
    this.updateSubmit();
  }
}

