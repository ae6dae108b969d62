// The upload queue's rules, without the DOM: which states a file goes through, which controls
// each state shows, which files start next, what the browser can tell about a file before
// sending it, and what the progress bar says in each phase.
//
//   ready ──Upload──▶ queued ──▶ sending ──all bytes up──▶ checking ──▶ done
//     │ (hint only)      ▲          │                          │
//   blocked (never sent) │          └──────────┬───────────────┘
//                        └─ waiting ◀─ safe to repeat (busy, lost before sending)
//                                              ▼
//                                   failed / cancelled ──Retry──▶ queued

import { extensionOf, formatBytes } from "./format.js";
import { S } from "./strings.js";

export const PARALLEL = 2; // files in flight at once; Kombo and the ATS prefer few concurrent writes
export const AUTO_RETRIES = 2;
export const ACTIVE = new Set(["queued", "waiting", "sending", "checking"]);
export const EDITABLE = new Set(["ready", "blocked", "confirm", "failed", "cancelled"]);

/**
 * A fresh Idempotency-Key for a file the user added: the server answers a repeat of the same
 * key with the first outcome, so a retry can never store the file twice. crypto.randomUUID
 * needs a secure context; elsewhere (plain http on a LAN name) a v4 UUID from getRandomValues.
 */
export function newKey(cryptoObj = globalThis.crypto) {
  if (typeof cryptoObj.randomUUID === "function") return cryptoObj.randomUUID();
  const b = cryptoObj.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Is anything still on its way (leaving the page would cut it off)? */
export const isBusy = (items) => items.some((i) => ACTIVE.has(i.state));

/** The queued items to start now, oldest first, keeping at most `parallel` in flight. */
export function toStart(items, parallel = PARALLEL) {
  const active = items.filter((i) => i.state === "sending" || i.state === "checking").length;
  return items.filter((i) => i.state === "queued").slice(0, Math.max(0, parallel - active));
}

/**
 * Which of a row's controls are visible in a state (retryable: may this failure be repeated?).
 * No dead ends: a file the browser or the server refused for good offers "Choose another file"
 * as its main action and never Retry (the same file would be refused the same way).
 */
export function controlsFor(state, { retryable = true } = {}) {
  const editable = EDITABLE.has(state);
  const final = (state === "failed" && !retryable) || state === "blocked";
  return {
    editable,
    cancel: state === "sending" || state === "queued" || state === "waiting",
    retry: (state === "failed" && retryable) || state === "cancelled",
    choose: final,
    confirm: state === "confirm", // upload anyway, or cancel: the file is already on the candidate
    remove: editable && state !== "confirm",
    dismiss: state === "done",
    progress: state === "sending" || state === "checking",
  };
}

/**
 * Before sending, a row is ready, blocked (the browser knows it would be refused) or waiting
 * for the user to confirm a file that is already on the candidate.
 */
export function preSendState(verdict, { onCandidate = null, confirmed = false } = {}) {
  if (verdict.block) return "blocked";
  return onCandidate && !confirmed ? "confirm" : "ready";
}

/** The plural noun for a type in a sentence ("CVs"): the server's when it sends one (`noun`). */
export const nounFor = (spec) => spec.noun || S.nounFor(spec.label); // spec.noun: the server's word

/** The extensions and MIME types the file chooser should offer. */
export function acceptList(types) {
  const parts = new Set();
  for (const t of types || []) {
    if (!t.supported) continue;
    for (const f of t.formats || []) {
      for (const ext of f.extensions || []) parts.add(ext.startsWith(".") ? ext : `.${ext}`);
      if (f.mime) parts.add(f.mime);
    }
  }
  return Array.from(parts).join(",");
}

/**
 * What the browser can tell before sending: {block} stops the file (the server would refuse
 * it for certain), {warn} is a hint and the server decides. `file` is {name, size}.
 */
export function checkFile(file, spec, { tool, duplicate = false } = {}) {
  if (file.size === 0) return { block: S.empty }; // never sent: there is nothing to send
  if (!spec || !spec.supported) return { block: S.typeRefused(tool) };
  if (spec.max_bytes && file.size > spec.max_bytes) {
    return { block: S.tooLarge(formatBytes(file.size), tool, formatBytes(spec.max_bytes), nounFor(spec)) };
  }
  const exts = (spec.formats || []).flatMap((f) => f.extensions || []).map((x) => (x.startsWith(".") ? x : `.${x}`).toLowerCase());
  if (exts.length && !exts.includes(extensionOf(file.name))) {
    const labels = (spec.formats || []).map((f) => f.label).join(", ");
    return { warn: S.mayBeRefused(tool, labels, nounFor(spec)) };
  }
  if (duplicate) return { warn: S.alreadyInList };
  return {};
}

/** Is the same file (name and size) already in the queue, not given up on? */
export function inQueue(items, file, except = null) {
  return items.some(
    (o) => o !== except && o.file.name === file.name && o.file.size === file.size && o.state !== "failed" && o.state !== "cancelled",
  );
}

/** The byte phase: the bar's fraction and its sentence. */
export function sendingProgress(loaded, total, size) {
  const whole = total || size || 1;
  return {
    fraction: Math.max(0, Math.min(1, loaded / whole)),
    text: S.sending(formatBytes(Math.min(loaded, size)), formatBytes(size)),
  };
}
