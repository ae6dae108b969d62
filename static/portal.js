// The staff pages' entry point (<script type="module">): the uploader and the attachments list
// on the application page. The server renders a plain form that works without JavaScript;
// these modules enhance it. The embed page has its own entry point, embed.js.
//
// The front end, module by module (static/portal/, ES modules served as they are, no build):
//   strings.js      every user-facing sentence, one catalogue (the later i18n replaces it)
//   format.js       sizes, dates and times (Intl, the user's locale), short format names
//   color.js        WCAG luminance and contrast (partner accents)
//   queue.js        upload queue states, controls per state, pre-send checks, progress phases
//   outcome.js      what an upload's answer means: the sentence and the next action
//   listing.js      attachment order, type filter, New marks, "already on the candidate"
//   messages.js     the embed's postMessage envelope and what it accepts
//   dom.js          element builder, live-region announcer, safe links
//   api.js          XMLHttpRequest calls, ApiError, staff (cookie + CSRF) credentials
//   uploader.js     the drop zone and its queue (DOM)
//   attachments.js  the candidate's attachment list (DOM)
// The pure modules (no DOM) are unit-tested with node --test in tests/js/.

import { Api, staffAuth } from "./portal/api.js";
import { AttachmentsList, refreshAfterUpload, tabStorage } from "./portal/attachments.js";
import { memoryStorage } from "./portal/listing.js";
import { formatDate } from "./portal/format.js";
import { Uploader } from "./portal/uploader.js";

/** Wire the application page: one Api with the staff credentials for both widgets. */
function initApplicationPage() {
  const uploaderRoot = document.querySelector("[data-uploader]");
  const listRoot = document.querySelector("[data-attachments]");
  const api = new Api(staffAuth());
  // New marks survive reloads of this tab (sessionStorage), and only of this tab.
  const storage = tabStorage() || memoryStorage();
  const list = listRoot && listRoot.dataset.listUrl ? new AttachmentsList(listRoot, { api, storage }) : null;
  if (!uploaderRoot) return;
  const uploader = new Uploader(uploaderRoot, {
    api,
    existing: (file) => (list ? list.existing(file) : null),
    onUploaded: (item, data) => refreshAfterUpload(list, uploader, item, data),
    onFailed: (item, err) => {
      // The outcome of a lost connection after sending is unknown: show the truth.
      if (list && err.network) list.refresh();
    },
  });
}

/**
 * The finder page after a search (the form reloads the page): focus the results' heading, so
 * the keyboard and screen reader continue at the answer instead of the top of the page.
 */
function focusSearchResults() {
  const params = new URLSearchParams(location.search);
  if (!["email", "q", "job_id", "cursor", "recent"].some((name) => params.has(name))) return;
  const title = document.querySelector("[data-finder] [data-results-title]");
  if (title) title.focus();
}

/** Dates the server wrote as ISO days, in the user's locale instead. */
function localDates() {
  document.querySelectorAll("time[data-local-date]").forEach((el) => {
    const text = formatDate(el.dateTime);
    if (text) el.textContent = text;
  });
}

localDates();
if (document.querySelector("[data-uploader], [data-attachments]")) initApplicationPage();
if (document.querySelector("[data-finder]")) focusSearchResults();
