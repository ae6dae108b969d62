// Sizes, dates and short format names, formatted once, here, for the user's locale (Intl).
// Pure: no DOM but the page's lang. `locale` defaults to the page's language and can be passed in.

import { S } from "./strings.js";

/**
 * The page's language (<html lang>, which the server set from the user's choice or their
 * Accept-Language), else the browser's, else undefined (Intl then uses its default, e.g. in node).
 */
export function userLocale() {
  const lang = typeof document !== "undefined" ? document.documentElement.lang : "";
  if (lang) return lang;
  return typeof navigator !== "undefined" && navigator.language ? navigator.language : undefined;
}

const KB = 1024;
const MB = 1024 * 1024;
const GB = 1024 * MB;

/** 812 B, 14 KB, 1.4 MB, 23 MB: binary units, at most one decimal below 10. */
export function formatBytes(n, locale = userLocale()) {
  if (typeof n !== "number" || !Number.isFinite(n) || n < 0) return "";
  const num = (value, digits) => new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(value);
  if (n < KB) return `${num(n, 0)} ${S.bytes.B}`;
  if (n < MB) return `${num(Math.round(n / KB), 0)} ${S.bytes.KB}`;
  const [unit, label] = n < GB ? [MB, S.bytes.MB] : [GB, S.bytes.GB];
  const value = n / unit;
  return `${num(value < 10 ? Math.round(value * 10) / 10 : Math.round(value), 1)} ${label}`;
}

/** A Date from an ISO string, or null for anything else. */
export function parseDate(value) {
  if (typeof value !== "string" || !value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Date and time, e.g. "2 Jun 2026, 14:05" (en-GB) or "02.06.2026, 14:05" (de-DE). */
export function formatDateTime(value, locale = userLocale(), timeZone = undefined) {
  const date = parseDate(value);
  if (!date) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(date);
}

/** A date alone, e.g. "2 Jun 2026" (en-GB) or "02.06.2026" (de-DE). */
export function formatDate(value, locale = userLocale(), timeZone = undefined) {
  const date = parseDate(value);
  return date ? new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone }).format(date) : "";
}

/** A day for a sentence: "2 June", with the year only when it is not this year. */
export function formatDay(value, locale = userLocale(), now = new Date(), timeZone = undefined) {
  const date = parseDate(value);
  if (!date) return "";
  const options = { day: "numeric", month: "long", timeZone };
  const year = (d) => new Intl.DateTimeFormat("en", { year: "numeric", timeZone }).format(d);
  if (year(date) !== year(now)) options.year = "numeric";
  return new Intl.DateTimeFormat(locale, options).format(date);
}

/** ".pdf" from "CV.PDF"; "" without an extension. */
export function extensionOf(name) {
  const text = String(name || "");
  const dot = text.lastIndexOf(".");
  return dot > 0 ? text.slice(dot).toLowerCase() : "";
}

/**
 * A short format name for an attachment the server sent no format_label for (the server names
 * the formats it knows: one home, portal/filetype.py). Never the MIME type itself: a recruiter
 * reads "EXE file", not "application/vnd.microsoft.portable-executable".
 */
export function formatName(fileName = "") {
  const ext = extensionOf(fileName);
  return ext && ext.length <= 6 ? S.formatOf(ext.slice(1)) : S.otherFormat;
}
