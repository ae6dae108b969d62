// The candidate's attachments: newest first (or by name or type), filtered by type, with date
// and time in the user's locale, and "New" on the files this tab uploaded (listing.js keeps
// the rules). The first render uses the list the server put in the page; later ones re-read
// the JSON API. Download links are signed for a few minutes, so an old list is refreshed
// before a download.

import { Announcer, h, parseJSON, safeUrl } from "./dom.js";
import { formatBytes, formatDateTime, formatName, userLocale } from "./format.js";
import { filterByType, findOnCandidate, NewMarks, SORTS, sortAttachments, typeOptions } from "./listing.js";
import { S } from "./strings.js";

// The list says how long its links work (download_expires_in); refresh a margin before that.
const DEFAULT_LINK_FRESH_MS = 4 * 60 * 1000;
const LINK_MARGIN_MS = 60 * 1000;

/** sessionStorage when the browser lets us use it, else null. */
export function tabStorage() {
  try {
    const s = globalThis.sessionStorage;
    s.getItem("portal.probe");
    return s;
  } catch {
    return null;
  }
}

export class AttachmentsList {
  /** root: the [data-attachments] section; storage: where the New marks live (see NewMarks). */
  constructor(root, { api, storage }) {
    this.root = root;
    this.api = api;
    this.url = root.dataset.listUrl;
    this.body = root.querySelector("[data-attachments-body]");
    this.loadedAt = Date.now();
    this.linkFreshMs = DEFAULT_LINK_FRESH_MS;
    this.pending = null;
    this.next = null;
    this.items = [];
    this.sort = "newest";
    this.type = "";
    this.firstSeen = new Map(); // attachment id -> when this page first saw it
    this.marks = new NewMarks(storage, root.dataset.appKey || this.url || "");
    this.live = new Announcer(root.querySelector("[data-attachments-live]"));
    this.buildTools();
    const refresh = root.querySelector("[data-attachments-refresh]");
    if (refresh && this.url) {
      refresh.hidden = false;
      refresh.addEventListener("click", () => this.refresh());
    }
    this.body.addEventListener("click", (e) => this.onDownloadClick(e));
    // The server put the same JSON as the API's in the page: render it now, no second call.
    const inline = root.querySelector("[data-attachments-json]");
    const data = inline ? parseJSON(inline.textContent, null) : null;
    if (data) this.render(data);
  }

  /** Sort and filter controls, outside the re-rendered body so they keep focus on refresh. */
  buildTools() {
    const sortSelect = h(
      "select",
      { id: "attachments-sort", onchange: () => this.setView({ sort: sortSelect.value }) },
      SORTS.map((key) => h("option", { value: key, selected: key === this.sort }, S.sorts[key])),
    );
    this.typeSelect = h("select", { id: "attachments-type", onchange: () => this.setView({ type: this.typeSelect.value }) });
    this.tools = h(
      "div",
      { class: "list-tools", hidden: true },
      h("span", { class: "list-tool" }, h("label", { for: sortSelect.id }, S.sortBy), sortSelect),
      h("span", { class: "list-tool", "data-type-filter": true }, h("label", { for: this.typeSelect.id }, S.show), this.typeSelect),
    );
    this.body.before(this.tools);
  }

  setView({ sort = this.sort, type = this.type }) {
    this.sort = sort;
    this.type = type;
    this.draw();
    const shown = filterByType(this.items, this.type).length;
    this.live.say(S.listed(shown, this.items.length));
  }

  /** The size of an attachment: Kombo's when it gives one, else ours for a file this tab sent. */
  sizeOf(a) {
    if (Number.isFinite(a.size)) return a.size;
    const mark = this.marks.markOf(a);
    return mark && Number.isFinite(mark.size) ? mark.size : null;
  }

  /** The attachment already on the candidate that looks like this file, or null. */
  existing(file) {
    return findOnCandidate(file, this.items, (a) => this.sizeOf(a));
  }

  /**
   * Re-read the list. Calls made while one is running share one more read after it, so the
   * promise always settles with a list read after the call (it can show a just-sent file).
   */
  refresh() {
    if (this.pending) {
      if (!this.next) {
        this.next = this.pending.then(() => {
          this.next = null;
          return this.refresh();
        });
      }
      return this.next;
    }
    this.root.setAttribute("aria-busy", "true");
    this.pending = this.api
      .get(this.url)
      .then((data) => this.render(data))
      .catch((err) => this.renderError(err))
      .finally(() => {
        this.pending = null;
        this.root.removeAttribute("aria-busy");
      });
    return this.pending;
  }

  render(data) {
    this.loadedAt = Date.now();
    const ttl = Number(data.download_expires_in);
    if (ttl > 0) this.linkFreshMs = Math.max(ttl * 1000 - LINK_MARGIN_MS, ttl * 500);
    this.data = data;
    this.items = Array.isArray(data.attachments) ? data.attachments.filter((a) => a && typeof a === "object") : [];
    const now = Date.now();
    for (const a of this.items) if (a.id && !this.firstSeen.has(a.id)) this.firstSeen.set(a.id, now);
    this.marks.resolve(this.items, (id) => this.firstSeen.get(id) ?? now);
    this.draw();
  }

  /** Draw the list from the last answer with the current order and filter. */
  draw() {
    const data = this.data || {};
    const options = typeOptions(this.items);
    if (this.type && !options.some((o) => o.type === this.type)) this.type = "";
    this.typeSelect.replaceChildren(
      h("option", { value: "" }, S.allTypes(this.items.length)),
      ...options.map((o) => h("option", { value: o.type, selected: o.type === this.type }, S.typeCount(o.label, o.count))),
    );
    this.tools.hidden = !data.available || this.items.length < 2;
    this.tools.querySelector("[data-type-filter]").hidden = options.length < 2;
    const nodes = [];
    if (!data.available) {
      nodes.push(h("p", { class: "notice", role: "status" }, data.message || S.attachmentsUnavailable));
    } else if (!this.items.length) {
      nodes.push(h("p", { class: "empty" }, S.noAttachments));
    } else {
      const shown = sortAttachments(filterByType(this.items, this.type), this.sort, userLocale());
      nodes.push(this.table(shown));
    }
    // Kombo's list warnings are debug notes for developers (its docs say: log them), and name
    // raw ids ("these are all attachments of candidate 8f3k..."); the Belongs-to column says
    // the same in a recruiter's words. So: the console, not the page.
    const warnings = (data.warnings || []).filter((w) => typeof w === "string");
    if (warnings.length && !this.loggedWarnings) {
      this.loggedWarnings = true;
      console.info("kombo.warnings", this.url, warnings);
    }
    this.body.replaceChildren(...nodes);
  }

  table(items) {
    const c = S.columns;
    const withSize = this.items.some((a) => this.sizeOf(a) !== null);
    const cols = [c.name, c.type, c.belongs, c.format, withSize ? c.size : null, c.added].filter(Boolean);
    return h(
      "table",
      { class: "table" },
      h("thead", {}, h("tr", {}, cols.map((col) => h("th", { scope: "col" }, col)))),
      h(
        "tbody",
        {},
        items.map((a) => {
          const name = String(a.name || "attachment");
          const href = safeUrl(a.download_url, { sameOrigin: true });
          const isNew = Boolean(this.marks.markOf(a));
          const when = formatDateTime(a.created_at);
          const size = this.sizeOf(a);
          return h(
            "tr",
            { "data-id": a.id || "", class: isNew ? "is-new" : null },
            h(
              "td",
              {},
              href ? h("a", { href, download: true, "data-download": true }, h("span", { class: "visually-hidden" }, S.download), name) : name,
              isNew ? h("span", { class: "new-badge" }, S.newBadge) : null,
              this.thumbnail(a, name),
            ),
            h("td", { "data-label": c.type }, a.type_label || S.otherType),
            h("td", { "data-label": c.belongs }, h("span", { class: `belongs belongs-${a.belongs_to || "candidate"}` }, a.belongs_label || "")),
            h("td", { "data-label": c.format }, a.format_label || formatName(name)),
            withSize ? h("td", { "data-label": c.size, class: "nowrap" }, size !== null ? formatBytes(size) : "—") : null,
            h("td", { "data-label": c.added, class: "nowrap" }, when ? h("time", { datetime: a.created_at }, when) : "—"),
          );
        }),
      ),
    );
  }

  /** The first page, small and lazy-loaded, with "Open preview"; null when there is none. */
  thumbnail(a, name) {
    const src = safeUrl(a.preview_url, { sameOrigin: true });
    const page = safeUrl(a.preview_page_url, { sameOrigin: true });
    if (!src) return null;
    const box = h("div", { class: "thumb", "data-thumb": true });
    const img = h("img", { src, alt: S.previewOf(name), width: 96, loading: "lazy", decoding: "async" });
    // No preview (a damaged or hostile file, a link gone stale): say so instead of a broken image.
    img.addEventListener("error", () => box.replaceChildren(h("span", { class: "muted small" }, S.noPreview)), { once: true });
    box.append(img);
    if (page) {
      box.append(
        h("br", {}),
        h("a", { href: page, target: "_blank", rel: "noopener", "data-open-preview": true }, S.openPreview, h("span", { class: "visually-hidden" }, S.openPreviewOf(name))),
      );
    }
    return box;
  }

  renderError(err) {
    const retry = h("button", { type: "button", class: "small", onclick: () => this.refresh() }, S.tryAgain);
    this.body.replaceChildren(h("p", { class: "notice", role: "alert" }, S.attachmentsFailed(err.message)), retry);
  }

  /** An old list's links may have expired: refresh first, then download the same attachment. */
  onDownloadClick(e) {
    const link = e.target.closest("a[data-download]");
    if (!link || Date.now() - this.loadedAt < this.linkFreshMs || !this.url) return;
    e.preventDefault();
    const id = link.closest("tr") && link.closest("tr").dataset.id;
    this.refresh().then(() => {
      const again = id && this.body.querySelector(`tr[data-id="${CSS.escape(id)}"] a[data-download]`);
      if (again) again.click();
    });
  }
}

/**
 * After a success: mark the file New, re-read the list, and say so on the row when the ATS put
 * the file on the candidate's profile instead of this application (some ATSs only keep files there).
 */
export function refreshAfterUpload(list, uploader, item, data) {
  if (!list) return;
  const att = (data && data.attachment) || {};
  const name = att.name || item.file.name;
  list.marks.record(name, Number.isFinite(att.size) ? att.size : item.file.size, item.sentAt);
  list.refresh().then(() => {
    const mark = list.marks.load().find((m) => m.sentAt === item.sentAt && m.name === name);
    const found = mark && mark.id ? list.items.find((a) => a.id === mark.id) : null;
    if (found && found.belongs_to === "candidate") uploader.note(item, S.onProfile(uploader.tool));
  });
}
