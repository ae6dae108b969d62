// Sizes, dates and format names (static/portal/format.js), in more than one locale.
import assert from "node:assert/strict";
import { test } from "node:test";

import { extensionOf, formatBytes, formatDate, formatDateTime, formatDay, formatName, parseDate } from "../../static/portal/format.js";

test("sizes use binary units, one decimal below 10, the locale's separator", () => {
  assert.equal(formatBytes(0, "en"), "0 B");
  assert.equal(formatBytes(1023, "en"), "1,023 B");
  assert.equal(formatBytes(1024, "en"), "1 KB");
  assert.equal(formatBytes(1.5 * 1024 * 1024, "en"), "1.5 MB");
  assert.equal(formatBytes(1.5 * 1024 * 1024, "de-DE"), "1,5 MB");
  assert.equal(formatBytes(10 * 1024 * 1024, "en"), "10 MB");
  assert.equal(formatBytes(3 * 1024 * 1024 * 1024, "en"), "3 GB");
});

test("sizes refuse what is not a size", () => {
  for (const bad of [NaN, -1, "12", null, undefined, Infinity]) assert.equal(formatBytes(bad, "en"), "");
});

test("date and time follow the locale", () => {
  const iso = "2026-06-02T14:05:00Z";
  assert.equal(formatDateTime(iso, "de-DE", "UTC"), "02.06.2026, 14:05");
  assert.equal(formatDateTime(iso, "en-GB", "UTC"), "2 Jun 2026, 14:05");
  assert.match(formatDateTime(iso, "fr-FR", "UTC"), /^2 juin 2026.*14:05$/);
  assert.equal(formatDateTime("not a date", "en"), "");
  assert.equal(formatDateTime(null, "en"), "");
});

test("a day in a sentence names the year only when it is another year", () => {
  const now = new Date("2026-12-01T00:00:00Z");
  assert.equal(formatDay("2026-06-02T14:05:00Z", "en-GB", now, "UTC"), "2 June");
  assert.equal(formatDay("2025-06-02T14:05:00Z", "en-GB", now, "UTC"), "2 June 2025");
  assert.equal(formatDay("2026-06-02T14:05:00Z", "de-DE", now, "UTC"), "2. Juni");
  assert.equal(formatDay("", "en"), "");
});

test("parseDate accepts ISO strings only", () => {
  assert.equal(parseDate("2026-06-02T14:05:00Z").toISOString(), "2026-06-02T14:05:00.000Z");
  assert.equal(parseDate(1234), null);
  assert.equal(parseDate("yesterday"), null);
});

test("without the server's label, a format is named by its extension, never by MIME type", () => {
  assert.equal(formatName("setup.exe"), "EXE file");
  assert.equal(formatName("CV.PDF"), "PDF file");
  assert.equal(formatName("notes"), "Other format");
  assert.equal(formatName("archive.verylongext"), "Other format");
  assert.equal(formatName(), "Other format");
});

test("extensions are lower-cased and need a name before the dot", () => {
  assert.equal(extensionOf("CV.PDF"), ".pdf");
  assert.equal(extensionOf(".bashrc"), "");
  assert.equal(extensionOf("README"), "");
  assert.equal(extensionOf("a.tar.gz"), ".gz");
});

test("a date alone follows the locale", () => {
  assert.equal(formatDate("2026-06-02T23:30:00Z", "de-DE", "Europe/Berlin"), "03.06.2026");
  assert.equal(formatDate("2026-06-02T14:05:00Z", "en-GB", "UTC"), "2 Jun 2026");
  assert.equal(formatDate(undefined, "en"), "");
});
