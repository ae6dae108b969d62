// The attachment list's rules (static/portal/listing.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { filterByType, findOnCandidate, memoryStorage, NewMarks, sortAttachments, typeOptions } from "../../static/portal/listing.js";

const A = [
  { id: "a1", name: "Old CV.pdf", type: "CV", type_label: "CV", created_at: "2026-01-05T09:00:00Z" },
  { id: "a2", name: "cover letter.docx", type: "COVER_LETTER", type_label: "Cover letter", created_at: "2026-06-02T14:05:00Z" },
  { id: "a3", name: "Portfolio 10.pdf", type: "OTHER", type_label: "Other", created_at: null },
  { id: "a4", name: "portfolio 9.pdf", type: "OTHER", type_label: "Other", created_at: "2026-03-01T08:00:00Z" },
];
const names = (items) => items.map((a) => a.id);

test("newest first by default, undated last; oldest first the other way", () => {
  assert.deepEqual(names(sortAttachments(A)), ["a2", "a4", "a1", "a3"]);
  assert.deepEqual(names(sortAttachments(A, "oldest")), ["a1", "a4", "a2", "a3"]);
  assert.deepEqual(names(A), ["a1", "a2", "a3", "a4"]); // a copy: the input keeps its order
});

test("by name: case-insensitive and numeric (9 before 10); by type, newest within a type", () => {
  assert.deepEqual(names(sortAttachments(A, "name", "en")), ["a2", "a1", "a4", "a3"]);
  assert.deepEqual(names(sortAttachments(A, "type", "en")), ["a2", "a1", "a4", "a3"]);
  assert.deepEqual(names(sortAttachments(A, "nonsense")), ["a2", "a4", "a1", "a3"]);
});

test("the type filter offers the types present, with counts", () => {
  assert.deepEqual(typeOptions(A), [
    { type: "CV", label: "CV", count: 1 },
    { type: "COVER_LETTER", label: "Cover letter", count: 1 },
    { type: "OTHER", label: "Other", count: 2 },
  ]);
  assert.deepEqual(names(filterByType(A, "OTHER")), ["a3", "a4"]);
  assert.equal(filterByType(A, "").length, 4);
});

test("a file already on the candidate: same name in any case, same size where both are known", () => {
  const items = [
    { id: "x1", name: "Ada Lovelace CV.pdf", created_at: "2026-06-02T10:00:00Z" },
    { id: "x2", name: "ada lovelace cv.pdf", created_at: "2026-06-03T10:00:00Z", size: 500 },
  ];
  assert.equal(findOnCandidate({ name: "Ada Lovelace CV.pdf", size: 500 }, items).id, "x2"); // the newest
  assert.equal(findOnCandidate({ name: "Ada Lovelace CV.pdf", size: 999 }, items).id, "x1"); // x2's size differs
  assert.equal(findOnCandidate({ name: "Ada Lovelace CV (1).pdf", size: 500 }, items), null);
  // Composed and decomposed é are the same name.
  const cafe = [{ id: "c", name: "Caf\u00e9.pdf", created_at: null }];
  assert.equal(findOnCandidate({ name: "Cafe\u0301.pdf", size: 1 }, cafe).id, "c");
});

test("New marks follow the uploaded item through refreshes, reloads and re-sorting", () => {
  const storage = memoryStorage();
  const seen = new Map([["a1", 100], ["a2", 100]]);
  const marks = new NewMarks(storage, "gh:1/app:1");
  // Two files sent at t=200 and t=210; the first refresh shows only one of them.
  marks.record("Ada CV.pdf", 10, 200);
  marks.record("Letter.pdf", 20, 210);
  let items = [...A.slice(0, 2), { id: "n1", name: "Ada CV.pdf", created_at: null }];
  seen.set("n1", 300);
  marks.resolve(items, (id) => seen.get(id));
  assert.equal(marks.markOf({ id: "n1" }).size, 10);
  assert.equal(marks.markOf({ id: "a1" }), null);
  // The next refresh shows both; the marks stay (the bug was 0 -> 2 -> 0).
  items = [...items, { id: "n2", name: "Letter.pdf", created_at: null }];
  seen.set("n2", 400);
  marks.resolve(items, (id) => seen.get(id));
  assert.ok(marks.markOf({ id: "n1" }) && marks.markOf({ id: "n2" }));
  // Another page of the same tab (a reload) reads the same marks; another application does not.
  assert.ok(new NewMarks(storage, "gh:1/app:1").markOf({ id: "n2" }));
  assert.equal(new NewMarks(storage, "gh:1/app:2").markOf({ id: "n2" }), null);
});

test("a re-upload of a name already on the candidate marks the new item, not the old one", () => {
  const storage = memoryStorage();
  const marks = new NewMarks(storage, "k");
  const seen = new Map([["old", 100], ["new", 500]]);
  marks.record("CV.pdf", 1, 300);
  marks.resolve([{ id: "old", name: "CV.pdf", created_at: "2026-06-01T00:00:00Z" }, { id: "new", name: "CV.pdf", created_at: null }], (id) => seen.get(id));
  assert.equal(marks.markOf({ id: "old" }), null);
  assert.ok(marks.markOf({ id: "new" }));
});

test("broken or denied storage never breaks the list", () => {
  const broken = { getItem: () => "{not json", setItem: () => { throw new Error("QuotaExceeded"); } };
  const marks = new NewMarks(broken, "k");
  assert.deepEqual(marks.load(), []);
  marks.record("a.pdf", 1, 1); // swallowed
  assert.equal(marks.markOf({ id: "x" }), null);
});
