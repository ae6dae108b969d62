// The upload queue's rules (static/portal/queue.js): states, controls, checks, progress.
import assert from "node:assert/strict";
import { test } from "node:test";

import { acceptList, checkFile, controlsFor, inQueue, isBusy, newKey, preSendState, sendingProgress, toStart } from "../../static/portal/queue.js";

const CV = { type: "CV", label: "CV", noun: "CVs", supported: true, max_bytes: 1024 * 1024, formats: [{ label: "PDF", extensions: [".pdf"], mime: "application/pdf" }, { label: "Word (.docx)", extensions: ["docx"] }] };
const OTHER = { type: "OTHER", label: "Other", noun: "other files", supported: false, formats: [] };
const item = (state, name = "a.pdf", size = 10) => ({ state, file: { name, size } });

test("at most two files are in flight, the oldest queued start first", () => {
  const items = [item("checking"), item("queued", "b"), item("queued", "c"), item("done")];
  assert.deepEqual(toStart(items).map((i) => i.file.name), ["b"]);
  assert.deepEqual(toStart([item("queued", "x"), item("queued", "y"), item("queued", "z")]).map((i) => i.file.name), ["x", "y"]);
  assert.deepEqual(toStart([item("sending"), item("sending"), item("queued")]), []);
});

test("busy while anything is queued, waiting, sending or checking", () => {
  for (const s of ["queued", "waiting", "sending", "checking"]) assert.ok(isBusy([item("done"), item(s)]), s);
  assert.ok(!isBusy([item("done"), item("failed"), item("ready"), item("blocked"), item("cancelled")]));
});

test("each state shows the controls that make sense", () => {
  const none = { editable: false, cancel: false, retry: false, choose: false, confirm: false, remove: false, dismiss: false, progress: false };
  assert.deepEqual(controlsFor("ready"), { ...none, editable: true, remove: true });
  assert.deepEqual(controlsFor("sending"), { ...none, cancel: true, progress: true });
  assert.deepEqual(controlsFor("checking"), { ...none, progress: true });
  assert.deepEqual(controlsFor("blocked"), { ...none, editable: true, choose: true, remove: true });
  assert.equal(controlsFor("done").dismiss, true);
  assert.equal(controlsFor("failed", { retryable: true }).retry, true);
  assert.equal(controlsFor("failed", { retryable: false }).retry, false);
  assert.equal(controlsFor("failed", { retryable: false }).remove, true);
  assert.equal(controlsFor("failed", { retryable: false }).choose, true); // no dead end
  assert.equal(controlsFor("failed", { retryable: true }).choose, false);
  assert.equal(controlsFor("cancelled").retry, true);
});

test("the chooser offers the supported formats only", () => {
  assert.equal(acceptList([CV, OTHER]), ".pdf,application/pdf,.docx");
  assert.equal(acceptList([]), "");
});

test("an empty file is blocked (never sent), whatever its type, in plain words", () => {
  for (const spec of [CV, OTHER, null]) {
    const verdict = checkFile({ name: "cv.pdf", size: 0 }, spec, { tool: "Greenhouse" });
    assert.equal(verdict.block, "This file is empty (0 bytes), so there is nothing to send. Choose the file again, or another one.");
  }
});

test("refused types and published size limits block; other doubts are hints", () => {
  assert.match(checkFile({ name: "a.pdf", size: 5 }, OTHER, { tool: "Greenhouse" }).block, /Greenhouse does not accept this type/);
  assert.match(checkFile({ name: "a.pdf", size: 5 }, null, { tool: "Greenhouse" }).block, /does not accept/);
  const big = checkFile({ name: "a.pdf", size: 2 * 1024 * 1024 }, CV, { tool: "Greenhouse" });
  assert.equal(big.block, "This file is 2 MB; Greenhouse accepts up to 1 MB for CVs.");
  assert.match(checkFile({ name: "a.txt", size: 5 }, CV, { tool: "Greenhouse" }).warn, /takes PDF, Word \(\.docx\) for CVs/);
  assert.equal(checkFile({ name: "a.pdf", size: 5 }, CV, { tool: "Greenhouse", duplicate: true }).warn, "This file is already in the list.");
  assert.deepEqual(checkFile({ name: "A.PDF", size: 5 }, CV, { tool: "Greenhouse" }), {});
  // The sentence takes the server's noun (one home: integrations._types).
  assert.match(checkFile({ name: "a.pdf", size: 2e6 }, { ...CV, noun: "résumés" }, { tool: "G" }).block, /for résumés\.$/);
});

test("the same name and size already in the queue is a duplicate, unless given up on", () => {
  const items = [item("done", "cv.pdf", 10), item("failed", "x.pdf", 3)];
  assert.ok(inQueue(items, { name: "cv.pdf", size: 10 }));
  assert.ok(!inQueue(items, { name: "cv.pdf", size: 11 }));
  assert.ok(!inQueue(items, { name: "x.pdf", size: 3 }));
  assert.ok(!inQueue(items, items[0].file, items[0]));
});

test("byte progress is a fraction in 0..1 with a sentence", () => {
  assert.deepEqual(sendingProgress(0, 0, 2048), { fraction: 0, text: "Sending… 0 B of 2 KB" });
  assert.equal(sendingProgress(1024, 2048, 2048).fraction, 0.5);
  assert.equal(sendingProgress(4096, 2048, 2048).fraction, 1); // multipart overhead: never past 100 %
  assert.equal(sendingProgress(4096, 0, 2048).text, "Sending… 2 KB of 2 KB");
  assert.equal(sendingProgress(5, 0, 0).fraction, 1);
});

test("each added file gets its own UUID v4 key, with or without randomUUID", () => {
  const v4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const a = newKey();
  assert.match(a, v4);
  assert.notEqual(newKey(), a);
  const insecure = { getRandomValues: (arr) => globalThis.crypto.getRandomValues(arr) }; // plain http: no randomUUID
  const keys = new Set(Array.from({ length: 200 }, () => newKey(insecure)));
  assert.equal(keys.size, 200);
  for (const key of keys) assert.match(key, v4);
  const zeros = { getRandomValues: (arr) => arr.fill(0xff) };
  assert.equal(newKey(zeros), "ffffffff-ffff-4fff-bfff-ffffffffffff");
});

test("before sending: blocked wins, then the question about a file already on the candidate", () => {
  assert.equal(preSendState({ block: "empty" }, { onCandidate: { id: "x" } }), "blocked");
  assert.equal(preSendState({}, { onCandidate: { id: "x" } }), "confirm");
  assert.equal(preSendState({}, { onCandidate: { id: "x" }, confirmed: true }), "ready");
  assert.equal(preSendState({ warn: "hint" }, {}), "ready");
  const c = controlsFor("confirm");
  assert.equal(c.confirm, true);
  assert.equal(c.remove, false); // its Cancel is the way out
  assert.equal(c.retry, false);
});
