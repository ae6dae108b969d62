// What an upload's answer means for the recruiter: the sentence, and what they can do next.
// Pure: the uploader shows what these functions choose.

import { S } from "./strings.js";

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

// Answers worth repeating: the portal, Kombo or the ATS was busy, slow or unreachable.
const RETRYABLE_STATUS = new Set([0, 408, 429, 500, 502, 503, 504]);
// ...except an upload whose fate is unknown: the recruiter checks the ATS first, then adds the
// file again (a new key); a Retry with the same key would only hear the same answer.
const FINAL_CODES = new Set([KEY_REUSED, "upload_unconfirmed"]);

/**
 * May the user repeat this failure with Retry? The server's `retryable` wins when it says;
 * otherwise lost connections, busy and unavailable answers, and an expired sign-in (sign in,
 * then Retry) are retryable, and every other refusal (4xx: the file, its type or size, the ATS
 * saying no) is final.
 */
export function isRetryable(err) {
  if (typeof err.retryable === "boolean") return err.retryable;
  if (FINAL_CODES.has(err.code)) return false;
  if (err.network) return true;
  return RETRYABLE_STATUS.has(err.status) || err.status === 401;
}

/**
 * The row's status and the announcement after a success, and Kombo's warnings apart (debug
 * notes for developers, per Kombo's docs, often with raw ids: for the console). An answer with
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
  const live = S.uploadedLive(fileName, tool);
  return { status, live, warnings, name: sentName, already: false };
}

