// What an upload's answer means for the recruiter: the sentence, and what they can do next.
// Pure: the uploader shows what these functions choose.

import { count, S } from "./strings.js";

/** Busy (429) and a connection lost before the body was sent are safe to repeat by ourselves. */
export function autoRetryWait(err, { sentAll, autoRetries, max }) {
  const safe = err.status === 429 || (err.network && !sentAll);
  if (!safe || autoRetries >= max) return 0;
  return Math.min(err.retryAfter || 2 ** (autoRetries + 1), 30);
}

/** The sentence while we wait before repeating by ourselves. */
export function waitingText(err, wait) {
  return err.status === 429 ? S.busyRetrying(wait) : S.lostRetrying(wait);
}

/** The message for a failure: the server's own words, ours for a lost connection. */
export function failureMessage(err, { sentAll, tool }) {
  if (err.network) return sentAll ? S.lostAfterSending(tool) : S.lostBeforeSending;
  if (err.code === KEY_REUSED) return S.keyReused;
  return err.message;
}

/** The server has a different request on record under this file's key: sending it again cannot help. */
export const KEY_REUSED = "idempotency_key_reused";

/** May the user repeat this failure with Retry? (The server's `retryable` wins when it says.) */
export function isRetryable(err) {
  if (typeof err.retryable === "boolean") return err.retryable;
  if (err.code === KEY_REUSED) return false;
  return true;
}

/**
 * The row's status, the announcement and the ATS's notes after a success. An answer with
 * code "already_uploaded" (the same file from this user moments ago) is a success too.
 */
export function successText(data, fileName, tool) {
  const sentName = (data && data.attachment && data.attachment.name) || fileName;
  if (data && data.code === "already_uploaded") {
    return { status: S.alreadyUploaded, live: S.alreadyUploadedLive(fileName), warnings: [], name: sentName, already: true };
  }
  let status = S.uploadedTo(tool);
  if (sentName !== fileName) status += S.uploadedAs(sentName);
  if (data && data.confirmed_by === "listing") status += S.confirmedFromList(tool);
  status += ".";
  const warnings = (data && Array.isArray(data.warnings) ? data.warnings : []).filter((w) => typeof w === "string");
  const live = S.uploadedLive(fileName, tool) + (warnings.length ? S.atsNotes(warnings.length) : "");
  return { status, live, warnings, name: sentName, already: false };
}

export { count };
