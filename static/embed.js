// The embed page's entry point (<script type="module">): the portal inside a partner's
// cross-site iframe.
//
// No cookies here (browsers block or partition them in third-party frames): the partner's
// embed token arrives in the URL fragment, is exchanged once for a session token that lives
// in this module only (not in storage), and every API call sends it as a bearer header.
// The whole flow renders client-side from the page's <template>s, which hold the same
// partials as the staff pages. The parent page hears from us by postMessage, only at the
// parent origin the exchange returned, and may only send `session.refresh` (messages.js).

import { Api, ApiError, send } from "./portal/api.js";
import { AttachmentsList, refreshAfterUpload } from "./portal/attachments.js";
import { accentPalette } from "./portal/color.js";
import { Announcer, h } from "./portal/dom.js";
import { formatBytes, formatDate } from "./portal/format.js";
import { memoryStorage } from "./portal/listing.js";
import { envelope, refreshToken, validOrigin } from "./portal/messages.js";
import { pageLang, S } from "./portal/strings.js";
import { Uploader } from "./portal/uploader.js";

const root = document.getElementById("embed-root");
const apiBase = (root.dataset.apiBase || "/api/v1").replace(/\/?$/, "/");
const statusEl = root.querySelector("[data-embed-status]");
const viewEl = root.querySelector("[data-embed-view]");
const REFRESH_WAIT_MS = 30000; // how long we wait for the partner to hand over a new token

const session = {
  token: null,
  parentOrigin: null, // from the exchange response: the only origin we talk to
  bootOrigin: null, // our guess of the parent before any exchange (reload without a token)
  integrationId: null,
  applicationId: null,
  scope: new Set(),
  expiryTimer: 0,
  renewing: null, // a promise while we wait for session.refresh
  renewed: null, // resolves that promise
};
let integration = null;
let finder = null; // the finder view, kept while an application is open (Back restores it)
let current = null; // {uploader} of the open application view
let announcedReady = false;
const marksStorage = memoryStorage(); // shared by the application views of this page

const api = new Api({
  headers: () => (session.token ? { Authorization: `Bearer ${session.token}` } : {}),
  recover: (err) => (err.status === 401 && /^session_/.test(err.code) ? renewSession() : Promise.resolve(false)),
});

let reportHeight = () => {}; // set by watchHeight() once the page starts

// ---------------------------------------------------------------- look

function applyLook() {
  const html = document.documentElement;
  const theme = root.dataset.theme;
  html.dataset.theme = theme === "light" || theme === "dark" ? theme : "auto";
  const accent = root.dataset.accent || "";
  // The server validated it already; it goes into CSS, so check again here.
  if (!/^#[0-9a-f]{6}$/i.test(accent)) return;
  paint(accent);
  // "auto" follows the system: a switch to dark needs colours derived for dark backgrounds.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => paint(accent));
}

/** Derive readable accent colours for the current theme (color.js); keep ours if we cannot. */
function paint(accent) {
  const html = document.documentElement;
  const props = ["--accent", "--accent-contrast", "--accent-soft", "--accent-text", "--focus"];
  props.forEach((p) => html.style.removeProperty(p)); // read the theme's own colours
  const css = getComputedStyle(html);
  const read = (name) => css.getPropertyValue(name).trim();
  const palette = accentPalette(accent, {
    bg: read("--bg"),
    surface: read("--surface"),
    surface2: read("--surface-2"),
    text: read("--text"),
    tints: ["--ok-soft", "--warn-soft", "--danger-soft"].map(read),
  });
  if (!palette) return;
  const values = [palette.accent, palette.accentContrast, palette.accentSoft, palette.accentText, palette.focus];
  props.forEach((p, i) => html.style.setProperty(p, values[i]));
  html.classList.add("has-custom-accent");
}

// ---------------------------------------------------------------- talking to the parent

function post(type, payload) {
  if (!session.parentOrigin || window.parent === window) return;
  window.parent.postMessage(envelope(type, payload), session.parentOrigin);
}

function onMessage(event) {
  const token = refreshToken(event, session.parentOrigin || session.bootOrigin, window.parent);
  if (token) acceptToken(token, event.origin);
}

/** Tell the parent our height whenever the content changes size (debounced, only changes). */
function watchHeight() {
  let last = 0;
  let timer = 0;
  const report = (force) => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (force || height !== last) {
      last = height;
      post("resize", { height });
    }
  };
  new ResizeObserver(() => {
    clearTimeout(timer);
    timer = setTimeout(report, 80);
  }).observe(document.documentElement);
  return report;
}

// ---------------------------------------------------------------- the session

function takeTokenFromUrl() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  // Out of the address bar, the history and any later Referer.
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return token;
}

function boot() {
  const token = takeTokenFromUrl();
  if (token) openWith(token);
  else askParentForToken();
  // A partner re-opening us with a new token only changes the fragment: no reload happens.
  window.addEventListener("hashchange", () => {
    const next = takeTokenFromUrl();
    if (next) openWith(next);
  });
}

/** A token from our own URL: a fresh start (possibly another integration or application). */
async function openWith(token) {
  try {
    await exchange(token, null);
  } catch (err) {
    // An expired or already used token (the frame was reloaded): ask the partner for another.
    if (err.status === 401 && (err.code === "token_expired" || err.code === "token_replayed")) askParentForToken();
    else fatal(err);
    return;
  }
  announcedReady = false;
  start();
}

async function exchange(token, expectedOrigin) {
  const { data } = await send("POST", root.dataset.sessionUrl, {
    headers: { "Content-Type": "application/json", Accept: "application/json", "Accept-Language": pageLang() },
    body: JSON.stringify({ token, partner: root.dataset.partner }),
  }).promise;
  const origin = validOrigin(data.parent_origin);
  // A token handed over by postMessage must name the window that sent it.
  if (expectedOrigin && origin !== expectedOrigin) {
    throw new ApiError(403, { code: "origin_mismatch", message: S.otherSite });
  }
  const changed = session.integrationId !== null &&
    (session.integrationId !== data.integration_id || session.applicationId !== (data.application_id || null));
  session.token = data.session_token;
  session.parentOrigin = origin;
  session.integrationId = data.integration_id;
  session.applicationId = data.application_id || null;
  session.scope = new Set(Array.isArray(data.scope) ? data.scope : []);
  scheduleExpiry(Number(data.expires_in) || 0);
  return changed;
}

/** Ask for a new token about a minute before this one runs out. */
function scheduleExpiry(expiresIn) {
  clearTimeout(session.expiryTimer);
  if (!(expiresIn > 0)) return;
  const lead = Math.min(60, expiresIn / 2);
  session.expiryTimer = setTimeout(() => post("session.expiring", { inSeconds: Math.round(lead) }), (expiresIn - lead) * 1000);
}

/** After a 401: ask the parent for a token and wait (once, however many calls are waiting). */
function renewSession() {
  if (!session.renewing) {
    session.renewing = new Promise((resolve) => {
      session.renewed = resolve;
      setTimeout(() => resolve(false), REFRESH_WAIT_MS);
    }).then((ok) => {
      session.renewing = null;
      session.renewed = null;
      setStatus(ok ? "" : S.sessionExpired);
      return ok;
    });
    setStatus(S.renewing);
    post("session.expiring", { inSeconds: 0 });
  }
  return session.renewing;
}

async function acceptToken(token, origin) {
  const first = !session.token;
  let changed = false;
  try {
    changed = await exchange(token, origin);
  } catch (err) {
    if (session.renewed) session.renewed(false);
    if (first) fatal(err);
    else setStatus(S.renewFailed(err.message));
    return;
  }
  if (session.renewed) session.renewed(true);
  if (first || changed) start(); // a token for another application or integration: start over
}

/** No usable token in the URL (e.g. the frame was reloaded): the parent may send one. */
function askParentForToken() {
  const origin = guessParentOrigin();
  if (!origin || window.parent === window) {
    fatal(new ApiError(401, { message: S.needsToken }));
    return;
  }
  // Only a guess: the token that comes back is checked by the server, and its parent_origin
  // must equal the sender's origin (exchange), so a wrong guess just goes unanswered.
  session.bootOrigin = origin;
  setStatus(S.waitingForPartner);
  window.parent.postMessage(envelope("session.expiring", { inSeconds: 0 }), origin);
  setTimeout(() => {
    if (!session.token) fatal(new ApiError(401, { message: S.partnerSilent }));
  }, REFRESH_WAIT_MS);
}

function guessParentOrigin() {
  if (location.ancestorOrigins && location.ancestorOrigins.length) return location.ancestorOrigins[0];
  try {
    return document.referrer ? new URL(document.referrer).origin : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------- views

function setStatus(text) {
  statusEl.setAttribute("role", "status");
  statusEl.textContent = text;
  statusEl.hidden = !text;
}

function fatal(err) {
  leaveApplication();
  viewEl.replaceChildren();
  statusEl.hidden = false;
  statusEl.setAttribute("role", "alert");
  statusEl.replaceChildren(h("span", { class: "error-text" }, err.message), err.reference ? S.referenceParen(err.reference) : "");
}

const enc = encodeURIComponent;
const integrationUrl = () => `${apiBase}integrations/${enc(session.integrationId)}`;
const applicationUrl = (aid) => `${integrationUrl()}/applications/${enc(aid)}`;

async function start() {
  setStatus(S.loading);
  leaveApplication();
  finder = null;
  try {
    integration = await api.get(integrationUrl());
    root.querySelector("[data-embed-title]").textContent = integration.tool || S.attachments;
    root.querySelector("[data-embed-org]").textContent = integration.organization ? S.orgSuffix(integration.organization) : "";
    if (session.applicationId) {
      // Locked to one application by the partner: no picker.
      showApplication(await api.get(applicationUrl(session.applicationId)), { locked: true });
    } else if (session.scope.has("list")) {
      showFinder();
    } else {
      throw new ApiError(403, { message: S.mayNotList });
    }
  } catch (err) {
    fatal(err);
    return;
  }
  setStatus("");
  if (!announcedReady) {
    announcedReady = true;
    post("ready", {});
  }
  reportHeight(true);
}

function clone(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

// -- finding the application

function showFinder(focus) {
  leaveApplication();
  if (!finder) finder = buildFinder();
  viewEl.replaceChildren(finder.node);
  if (focus) finder.node.querySelector("#finder-title").focus();
}

function buildFinder() {
  const node = clone("tpl-finder");
  const results = node.querySelector("[data-results]");
  const help = node.querySelector("[data-finder-help]");
  const live = new Announcer(node.querySelector("[data-finder-live]"));
  const tool = integration.tool || S.theAts;

  let latest = 0; // answers can arrive out of order: only the newest search may render
  let focusAnswer = false; // set by the user's own search: focus goes to its answer

  async function load(url, params) {
    const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
    const mine = ++latest;
    results.setAttribute("aria-busy", "true");
    try {
      const data = await api.get(query.toString() ? `${url}?${query}` : url);
      return mine === latest ? data : null;
    } catch (err) {
      if (mine === latest) {
        results.replaceChildren(h("p", { class: "error-text", role: "alert", tabindex: "-1", "data-results-title": true }, err.message));
        focusResults();
      }
      return null;
    } finally {
      if (mine === latest) results.removeAttribute("aria-busy");
    }
  }

  /** After the user's search: the keyboard continues at the answer, not at the top. */
  function focusResults() {
    if (!focusAnswer) return;
    focusAnswer = false;
    const title = results.querySelector("[data-results-title]");
    if (title) title.focus();
  }

  /** One page of results; "More" appends the next page and moves focus to its first entry. */
  function page({ title, items, next, onMore, entry, empty, append, noun }) {
    let list = append ? results.querySelector(".pick-list") : null;
    if (!list) {
      list = h("ul", { class: "pick-list" });
      // h2: in the embed the finder's own heading is the page's h1.
      results.replaceChildren(h("h2", { class: "results-title", tabindex: "-1", "data-results-title": true }, title), list);
    }
    const old = results.querySelector("[data-more]");
    if (old) old.remove();
    const added = items.map((item) => h("li", {}, entry(item)));
    list.append(...added);
    if (!items.length && !append) list.append(h("li", { class: "empty" }, empty));
    if (next) results.append(h("button", { type: "button", class: "secondary", "data-more": true, onclick: () => onMore(next) }, S.more));
    if (append && added.length) added[0].querySelector("button").focus();
    else if (!append) focusResults();
    live.say(append ? S.moreLoaded(items.length, noun) : S.found(items.length, noun));
  }

  async function applications(params, title, cursor) {
    const data = await load(`${integrationUrl()}/applications`, { ...params, cursor });
    if (!data) return;
    if (data.help) help.textContent = data.help;
    page({
      title,
      items: data.applications || [],
      next: data.next,
      onMore: (c) => applications(params, title, c),
      append: Boolean(cursor),
      noun: S.nounApplication,
      empty: params.email ? S.noCandidateWithEmail(tool) : S.noApplications,
      entry: (a) =>
        h(
          "button",
          { type: "button", onclick: () => showApplication(a, { locked: false }) },
          h("span", { class: "pick-main" }, a.label || a.candidate_name || a.id),
          a.email ? h("span", { class: "pick-sub" }, a.email) : null,
          a.created_at ? h("span", { class: "pick-sub" }, S.applied(formatDate(a.created_at))) : null,
        ),
    });
  }

  async function jobs(q, cursor) {
    const data = await load(`${integrationUrl()}/jobs`, { q, cursor });
    if (!data) return;
    page({
      title: S.openJobs,
      items: data.jobs || [],
      next: data.next,
      onMore: (c) => jobs(q, c),
      append: Boolean(cursor),
      noun: S.nounJob,
      empty: S.noJobMatches(q),
      entry: (j) => h("button", { type: "button", onclick: () => pickJob(j) }, j.name),
    });
  }

  function pickJob(job) {
    focusAnswer = true;
    applications({ job_id: job.id }, S.applicationsTo(job.name));
  }

  node.querySelectorAll("form[data-find]").forEach((form) =>
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      focusAnswer = true;
      const kind = form.dataset.find;
      if (kind === "email") {
        const email = form.elements.email.value.trim();
        applications({ email }, S.applicationsOf(email));
      } else if (kind === "jobs") {
        jobs(form.elements.q.value.trim());
      } else {
        applications({}, S.mostRecent);
      }
    }),
  );
  applications({}, S.mostRecent); // something useful before the first search
  return { node };
}

// -- one application: uploader and attachments

function showApplication(app, { locked }) {
  leaveApplication();
  const node = clone("tpl-application");
  node.querySelector("[data-app-name]").textContent = app.candidate_name || S.application;
  node.querySelector("[data-app-meta]").textContent = [app.job_name, app.stage, app.email].filter(Boolean).join(" · ");
  const back = node.querySelector("[data-back]");
  node.querySelector("[data-back-wrap]").hidden = locked;
  const attachmentsUrl = `${applicationUrl(app.id)}/attachments`;

  const listRoot = node.querySelector("[data-attachments]");
  let list = null;
  if (session.scope.has("list")) {
    listRoot.dataset.listUrl = attachmentsUrl;
    // New marks last as long as the embed's session: it keeps nothing in the browser's storage.
    list = new AttachmentsList(listRoot, { api, storage: marksStorage });
  } else {
    listRoot.remove();
  }

  const upRoot = node.querySelector("[data-uploader]");
  const ready = prepareUploader(upRoot, attachmentsUrl);
  viewEl.replaceChildren(node);
  let uploader = null;
  if (ready) {
    uploader = new Uploader(upRoot, {
      api,
      existing: (file) => (list ? list.existing(file) : null),
      onUploaded: (item, data) => {
        const att = (data && data.attachment) || {};
        const name = att.name || item.file.name;
        refreshAfterUpload(list, uploader, item, data);
        post("upload.succeeded", {
          fileName: name,
          type: att.type || item.type,
          applicationId: data.application_id || app.id,
          contentType: att.content_type || null,
          size: Number.isFinite(att.size) ? att.size : item.file.size,
          alreadyUploaded: item.already === true,
        });
      },
      onFailed: (item, err) => {
        if (list && err.network) list.refresh();
        post("upload.failed", { fileName: item.file.name, code: err.code, message: err.message });
      },
    });
  }
  current = { uploader };
  back.addEventListener("click", () => {
    if (uploader && uploader.busy) {
      uploader.live.say(S.waitForUploads);
      return;
    }
    showFinder(true);
  });
  if (list) list.refresh();
  node.querySelector("[data-app-name]").focus();
}

/** Fill the uploader partial with this integration's types; false if uploads are not possible. */
function prepareUploader(upRoot, uploadUrl) {
  const tool = integration.tool || S.theAts;
  const form = upRoot.querySelector("[data-upload-form]");
  const upload = integration.upload || {};
  const reason = !session.scope.has("upload")
    ? S.mayNotUpload
    : !upload.available
      ? upload.reason || S.noUploads(tool)
      : null;
  if (reason) {
    form.replaceWith(h("p", { class: "notice", role: "status" }, reason));
    return false;
  }
  upRoot.dataset.uploadUrl = uploadUrl;
  upRoot.dataset.types = JSON.stringify(integration.types || []);
  upRoot.dataset.tool = tool;
  upRoot.querySelectorAll("[data-tool-name]").forEach((el) => {
    el.textContent = tool;
  });
  fillTypes(upRoot.querySelector("[data-type-choice]"), integration.types || [], tool);
  return true;
}

/** The same radios the server renders in the partial. */
function fillTypes(fieldset, types, tool) {
  let checked = false;
  const options = types.map((t) => {
    const id = `type-${t.type}`;
    const input = h("input", { type: "radio", name: "type", id, value: t.type, disabled: !t.supported, "aria-describedby": `${id}-rules` });
    if (t.supported && !checked) {
      input.checked = true;
      checked = true;
    }
    return h(
      "div",
      { class: `type-option${t.supported ? "" : " is-disabled"}` },
      input,
      h("label", { for: id }, t.label),
      h("span", { class: "hint", id: `${id}-rules` }, t.supported ? rules(t) : S.typeNotAccepted(tool)),
    );
  });
  fieldset.replaceChildren(fieldset.querySelector("legend"), ...options);
}

function rules(t) {
  const formats = (t.formats || []).map((f) => f.label).join(", ");
  const mb = t.max_bytes ? S.upTo(formatBytes(t.max_bytes)) : "";
  return formats + mb;
}

function leaveApplication() {
  if (current && current.uploader) current.uploader.destroy();
  current = null;
}

// ---------------------------------------------------------------- start

applyLook();
reportHeight = watchHeight();
window.addEventListener("message", onMessage);
boot();
