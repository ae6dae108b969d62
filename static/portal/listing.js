// The attachment list's rules, without the DOM: order, filter by type, the "New" marks for
// files this tab uploaded, and whether a file about to be sent is already on the candidate.

import { parseDate } from "./format.js";

export const SORTS = ["newest", "oldest", "name", "type"];

const time = (a) => {
  const d = parseDate(a.created_at);
  return d ? d.getTime() : null;
};

/** A copy of `items` in the chosen order; undated items go last when sorting by date. */
export function sortAttachments(items, sort = "newest", locale = undefined) {
  const collator = new Intl.Collator(locale, { numeric: true, sensitivity: "base" });
  const byName = (a, b) => collator.compare(String(a.name || ""), String(b.name || ""));
  const byDate = (dir) => (a, b) => {
    const [x, y] = [time(a), time(b)];
    if (x === y) return byName(a, b);
    if (x === null) return 1;
    if (y === null) return -1;
    return dir * (x - y);
  };
  const compare = {
    newest: byDate(-1),
    oldest: byDate(1),
    name: (a, b) => byName(a, b) || byDate(-1)(a, b),
    type: (a, b) => collator.compare(String(a.type_label || ""), String(b.type_label || "")) || byDate(-1)(a, b),
  }[sort] || byDate(-1);
  return [...items].sort(compare);
}

/** The types present, for the filter: [{type, label, count}] in order of first appearance. */
export function typeOptions(items) {
  const seen = new Map();
  for (const a of items) {
    const type = String(a.type || "OTHER");
    const entry = seen.get(type) || { type, label: a.type_label || type, count: 0 };
    entry.count += 1;
    seen.set(type, entry);
  }
  return [...seen.values()];
}

/** Only the items of one type ("" or null: all of them). */
export const filterByType = (items, type) => (type ? items.filter((a) => String(a.type || "OTHER") === type) : items);

const norm = (name) => String(name || "").normalize("NFC").toLowerCase();

/**
 * The attachment already on the candidate that looks like `file` ({name, size}): the same
 * name (Unicode-normalised, any case) and, where both sizes are known, the same size. The
 * newest if several; null if none.
 */
export function findOnCandidate(file, items, sizeOf = (a) => a.size) {
  const matches = items.filter((a) => {
    if (norm(a.name) !== norm(file.name)) return false;
    const size = sizeOf(a);
    return !(Number.isFinite(size) && Number.isFinite(file.size) && size !== file.size);
  });
  return sortAttachments(matches, "newest")[0] || null;
}

/** Storage that lives as long as the page (the embed keeps nothing in the browser's storage). */
export function memoryStorage() {
  const data = new Map();
  return { getItem: (k) => (data.has(k) ? data.get(k) : null), setItem: (k, v) => data.set(k, String(v)) };
}

const MAX_MARKS = 50;

/**
 * "New" marks for the files this tab uploaded to one application, kept in `storage`
 * (sessionStorage on staff pages: they survive refreshes and reloads of this tab only).
 * A mark is recorded when an upload succeeds ({name, size, sentAt}) and resolved to the list
 * item that appeared with that name after the upload started (`firstSeen(id)` says when the
 * page first saw an item); from then on it follows the item's id, whatever the order.
 */
export class NewMarks {
  constructor(storage, key) {
    this.storage = storage;
    this.key = `portal.new:${key}`;
  }

  load() {
    try {
      const marks = JSON.parse(this.storage.getItem(this.key) || "[]");
      return Array.isArray(marks) ? marks.filter((m) => m && typeof m.name === "string") : [];
    } catch {
      return [];
    }
  }

  save(marks) {
    try {
      this.storage.setItem(this.key, JSON.stringify(marks.slice(-MAX_MARKS)));
    } catch {
      // Storage full or denied: the marks last until the page goes, which is still right.
    }
  }

  /** An upload of `name` that started at `sentAt` (ms) succeeded. */
  record(name, size, sentAt) {
    const marks = this.load();
    marks.push({ name, size: Number.isFinite(size) ? size : null, sentAt, id: null });
    this.save(marks);
  }

  /** Tie unresolved marks to the items that appeared after their upload started. */
  resolve(items, firstSeen) {
    const marks = this.load();
    const claimed = new Set(marks.map((m) => m.id).filter(Boolean));
    let changed = false;
    for (const mark of marks) {
      if (mark.id) continue;
      const candidates = items.filter(
        (a) => a.id && !claimed.has(a.id) && norm(a.name) === norm(mark.name) && firstSeen(a.id) >= mark.sentAt,
      );
      const found = sortAttachments(candidates, "newest")[0];
      if (found) {
        mark.id = found.id;
        claimed.add(found.id);
        changed = true;
      }
    }
    if (changed) this.save(marks);
    return marks;
  }

  /** The mark for an item, or null. */
  markOf(item) {
    return this.load().find((m) => m.id && m.id === item.id) || null;
  }
}
