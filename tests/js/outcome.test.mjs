// What an upload's answer means (static/portal/outcome.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { autoRetryWait, failureMessage, isRetryable, successText, waitingText } from "../../static/portal/outcome.js";

const err = (fields) => ({ status: 0, network: false, retryAfter: null, message: "", ...fields });

test("busy and lost-before-sending repeat by themselves, twice, with growing waits", () => {
  assert.equal(autoRetryWait(err({ status: 429 }), { sentAll: true, autoRetries: 0, max: 2 }), 2);
  assert.equal(autoRetryWait(err({ status: 429 }), { sentAll: true, autoRetries: 1, max: 2 }), 4);
  assert.equal(autoRetryWait(err({ status: 429 }), { sentAll: true, autoRetries: 2, max: 2 }), 0);
  assert.equal(autoRetryWait(err({ status: 429, retryAfter: 7 }), { sentAll: false, autoRetries: 0, max: 2 }), 7);
  assert.equal(autoRetryWait(err({ status: 429, retryAfter: 900 }), { sentAll: false, autoRetries: 0, max: 2 }), 30);
  assert.equal(autoRetryWait(err({ network: true }), { sentAll: false, autoRetries: 0, max: 2 }), 2);
});

test("never by themselves: a lost connection after sending, or any refusal", () => {
  assert.equal(autoRetryWait(err({ network: true }), { sentAll: true, autoRetries: 0, max: 2 }), 0);
  for (const status of [400, 413, 415, 422, 500, 502, 503, 504]) {
    assert.equal(autoRetryWait(err({ status }), { sentAll: false, autoRetries: 0, max: 2 }), 0, status);
  }
  assert.equal(waitingText(err({ status: 429 }), 2), "Busy; trying again in 2 seconds…");
  assert.equal(waitingText(err({ network: true }), 1), "Connection lost; trying again in 1 second…");
});

test("a lost connection says whether the ATS may have the file", () => {
  assert.match(failureMessage(err({ network: true }), { sentAll: true, tool: "Workday" }), /while Workday was receiving the file\. Check the attachments list/);
  assert.match(failureMessage(err({ network: true }), { sentAll: false, tool: "Workday" }), /Nothing reached the ATS/);
  assert.equal(failureMessage(err({ status: 422, message: "Plain words." }), { sentAll: true, tool: "W" }), "Plain words.");
});

test("success names a renamed file and a confirmation from the list; Kombo's notes stay aside", () => {
  assert.equal(successText({ attachment: { name: "cv.pdf" } }, "cv.pdf", "Greenhouse").status, "Uploaded to Greenhouse.");
  const renamed = successText({ attachment: { name: "cv (2).pdf" }, confirmed_by: "listing", warnings: ["slow", 3] }, "cv.pdf", "Greenhouse");
  assert.equal(renamed.status, "Uploaded to Greenhouse as “cv (2).pdf” (confirmed from Greenhouse's list of attachments).");
  assert.deepEqual(renamed.warnings, ["slow"]);
  assert.equal(renamed.live, "cv.pdf uploaded to Greenhouse."); // no raw Kombo debug text
  assert.equal(successText(null, "a.pdf", "X").name, "a.pdf");
});

test("a duplicate the server recognised is 'already uploaded', not an error", () => {
  const said = successText({ code: "already_uploaded", attachment: { name: "cv.pdf" } }, "cv.pdf", "Greenhouse");
  assert.equal(said.status, "Already uploaded a moment ago.");
  assert.equal(said.already, true);
  assert.equal(said.live, "cv.pdf was already uploaded a moment ago.");
  assert.equal(successText({ attachment: { name: "cv.pdf" } }, "cv.pdf", "Greenhouse").already, false);
});

test("a key the server has on record for other content is final, in plain words", () => {
  const reused = err({ status: 422, code: "idempotency_key_reused", message: "Idempotency-Key reused with a different body" });
  assert.equal(isRetryable(reused), false);
  assert.equal(failureMessage(reused, { sentAll: true, tool: "X" }), "This upload was already sent with different content. Remove it and add the file again.");
  assert.equal(isRetryable(err({ status: 503, retryable: false })), false); // the server's word wins
  assert.equal(isRetryable(err({ status: 422, retryable: true })), true);
});

test("refusals are final, busy and unreachable answers may be retried", () => {
  const final = [
    { status: 415, code: "file_executable" },
    { status: 422, code: "file_empty" },
    { status: 422, code: "file_macros" },
    { status: 413, code: "file_too_large" },
    { status: 415, code: "type_not_allowed" },
    { status: 422, code: "ats_refused" },
    { status: 409, code: "job_closed" },
    { status: 404, code: "not_found" },
    { status: 400, code: "field_repeated" },
    { status: 403, code: "forbidden" },
    { status: 502, code: "upload_unconfirmed" }, // check the ATS, then add the file again
  ];
  for (const f of final) assert.equal(isRetryable(err(f)), false, f.code);
  const again = [
    { status: 429, code: "ats_busy" },
    { status: 503, code: "ats_unavailable" },
    { status: 502, code: "upload_failed" },
    { status: 504, code: "ats_timeout" },
    { status: 500, code: "internal_error" },
    { status: 0, code: "network", network: true },
    { status: 401, code: "sign_in_required" },
  ];
  for (const f of again) assert.equal(isRetryable(err(f)), true, f.code);
});
