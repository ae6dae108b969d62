// The candidate's attachments: re-read from the JSON API after each upload, with the same
// markup the server renders. Download links are signed for a few minutes, so an old list is
// refreshed before a download.

import { h, safeUrl } from "./dom.js";
import { formatName } from "./format.js";
import { S } from "./strings.js";

// The list says how long its links work (download_expires_in); refresh a margin before that.
const DEFAULT_LINK_FRESH_MS = 4 * 60 * 1000;
const LINK_MARGIN_MS = 60 * 1000;

export class AttachmentsList {
  constructor(root, { api }) {
    this.root = root;
    this.api = api;
    this.url = root.dataset.listUrl;
    this.body = root.querySelector("[data-attachments-body]");
    this.loadedAt = Date.now();
    this.linkFreshMs = DEFAULT_LINK_FRESH_MS;
    this.pending = null;
    this.next = null;
    this.items = [];
    this.known = new Set(Array.from(root.querySelectorAll("tr[data-id]")).map((tr) => tr.dataset.id));
    // Server-rendered rows without a label: the same short names as ours (never a MIME type).
    root.querySelectorAll("td[data-mime]").forEach((td) => {
      td.textContent = formatName(td.dataset.mime);
    });
    const refresh = root.querySelector("[data-attachments-refresh]");
    if (refresh && this.url) {
      refresh.hidden = false;
      refresh.addEventListener("click", () => this.refresh());
    }
    this.body.addEventListener("click", (e) => this.onDownloadClick(e));
  }

  /**
   * Re-read the list. Calls made while one is running share one more read after it, so the
   * promise always settles with a list read after the call (it can show a just-sent file).
   */
  refresh(highlight) {
    if (highlight) this.highlight = new Set([...(this.highlight || []), ...highlight]);
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
    const nodes = [];
    const items = Array.isArray(data.attachments) ? data.attachments : [];
    if (!data.available) {
      nodes.push(h("p", { class: "notice", role: "status" }, data.message || S.attachmentsUnavailable));
    } else if (!items.length) {
      nodes.push(h("p", { class: "empty" }, S.noAttachments));
    } else {
      nodes.push(this.table(items));
    }
    const warnings = (data.warnings || []).filter((w) => typeof w === "string");
    if (warnings.length) nodes.push(h("ul", { class: "warnings" }, warnings.map((w) => h("li", {}, S.atsSays(w)))));
    this.body.replaceChildren(...nodes);
    this.items = items;
    this.known = new Set(items.map((a) => a.id));
    this.highlight = null;
  }

  table(items) {
    const c = S.columns;
    const cols = [c.name, c.type, c.belongs, c.format, c.added];
    const fresh = this.highlight || null;
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
          const isNew = fresh && !this.known.has(a.id) && fresh.has(name);
          const date = typeof a.created_at === "string" ? a.created_at.slice(0, 10) : "";
          return h(
            "tr",
            { "data-id": a.id || "", class: isNew ? "is-new" : null },
            h(
              "td",
              {},
              href ? h("a", { href, download: true, "data-download": true }, h("span", { class: "visually-hidden" }, S.download), name) : name,
              isNew ? h("span", { class: "new-badge" }, S.newBadge) : null,
            ),
            h("td", { "data-label": c.type }, a.type_label || S.otherType),
            h("td", { "data-label": c.belongs }, h("span", { class: `belongs belongs-${a.belongs_to || "candidate"}` }, a.belongs_label || "")),
            h("td", { "data-label": c.format }, a.format_label || formatName(a.content_type, name)),
            h("td", { "data-label": c.added, class: "nowrap" }, date ? h("time", { datetime: a.created_at }, date) : "—"),
          );
        }),
      ),
    );
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
 * After a success: re-read the list, and say so on the row when the ATS put the file on the
 * candidate's profile instead of this application (some ATSs only keep files there).
 */
export function refreshAfterUpload(list, uploader, item, data) {
  const name = (data && data.attachment && data.attachment.name) || item.file.name;
  if (!list) return;
  list.refresh(new Set([name])).then(() => {
    const found = list.items.find((a) => a.name === name);
    if (found && found.belongs_to === "candidate") uploader.note(item, S.onProfile(uploader.tool));
  });
}
