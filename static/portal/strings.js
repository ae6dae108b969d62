// Every sentence the front end shows or announces, in one catalogue.
//
// Modules never write user-facing English inline: they call S.name(...) here. The English here is
// the source (the msgid): `pybabel extract` reads every _("…") and ngettext("…", "…", n) of this
// file into the server's catalogue, and the server renders this page's language into the page as
// <script type="application/json" id="portal-strings"> (msgid -> text, or -> [one, many]).
// Values go in as {name} placeholders, so word order stays with the translated sentence.
// No DOM beyond reading that block, so node --test can check the catalogue too (in English).

/** The page's translations (none outside a browser or on a page without them: English). */
function pageCatalogue() {
  if (typeof document === "undefined") return {};
  const block = document.getElementById("portal-strings");
  try {
    const parsed = block ? JSON.parse(block.textContent) : {};
    return parsed && typeof parsed === "object" ? parsed : {};
  } catch {
    return {};
  }
}

const T = pageCatalogue();

/** The page's language (what the server chose: the user's choice, not navigator.language). */
export const pageLang = () => (typeof document !== "undefined" && document.documentElement.lang) || "en";

const plurals = new Intl.PluralRules(pageLang());

/** Put values into {name} placeholders (unknown ones stay visible, so a typo shows). */
export function fill(text, values = {}) {
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

/** A sentence in the page's language; `msgid` is its English. */
export function _(msgid, values) {
  const text = T[msgid];
  return fill(typeof text === "string" && text ? text : msgid, values);
}

/**
 * A sentence with a count `n` (as {n}): the page language's form for n. Our languages have two
 * forms (gettext's index 0 is Intl's "one"; French counts 0 as one, as gettext's n > 1 does).
 */
export function ngettext(one, many, n, values = {}) {
  const forms = T[one];
  const text =
    Array.isArray(forms) && forms.length === 2 && forms.every((f) => typeof f === "string" && f)
      ? forms[plurals.select(n) === "one" ? 0 : 1]
      : n === 1
        ? one
        : many;
  return fill(text, { n, ...values });
}

export const S = {
  // -- generic
  somethingWrong: _("Something went wrong."),
  cancelled: _("Cancelled."),
  connectionLost: _("The connection to the portal was lost."),
  reference: (ref) => _("Reference {ref}", { ref }),
  komboLog: _("Kombo log"),
  theAts: _("the ATS"),
  loading: _("Loading…"),
  tryAgain: _("Try again"),
  bytes: { B: _("B"), KB: _("KB"), MB: _("MB"), GB: _("GB") },
  statusMessages: {
    413: _("This file is too large for the portal."),
    429: _("The portal is busy right now. Try again in a moment."),
    502: _("The portal could not be reached properly. Try again in a moment."),
    503: _("The portal is not available right now. Try again in a moment."),
    504: _("The portal took too long to answer. Check the attachments list before trying again."),
  },
  httpError: (status) => _("The portal answered with an error (HTTP {status}).", { status }),
  signInAgain: _("Sign in again"),
  signInAgainTail: " " + _("(opens a new tab), then choose Retry here."),

  // -- the queue
  typeLabel: _("Type"),
  typeOf: (name) => " " + _("of {name}", { name }),
  typeIs: (label) => _("Type: {label}", { label }),
  notAccepted: (label) => _("{label} (not accepted)", { label }),
  uploadOf: (name) => _("Upload of {name}", { name }),
  cancel: _("Cancel"),
  retry: _("Retry"),
  remove: _("Remove"),
  dismiss: _("Dismiss"),
  chooseAnother: _("Choose another file"),
  uploadAnyway: _("Upload anyway"),
  nounFor: (label) => _("{label} files", { label }),
  folderSkipped: (n) =>
    ngettext("{n} folder was skipped: drop the files inside instead.", "{n} folders were skipped: drop the files inside instead.", n),
  added: (n, names) =>
    ngettext(
      "Added {n} file: {names}. Check each file's type, then choose Upload.",
      "Added {n} files: {names}. Check each file's type, then choose Upload.",
      n,
      { names },
    ),
  typeRefused: (tool) => _("{tool} does not accept this type. Choose another type.", { tool }),
  tooLarge: (size, tool, max, noun) => _("This file is {size}; {tool} accepts up to {max} for {noun}.", { size, tool, max, noun }),
  empty: _("This file is empty (0 bytes), so there is nothing to send. Choose the file again, or another one."),
  mayBeRefused: (tool, labels, noun) => _("{tool} takes {labels} for {noun}; this file may be refused.", { tool, labels, noun }),
  alreadyInList: _("This file is already in the list."),
  submit: (n, tool) => ngettext("Upload {n} file to {tool}", "Upload {n} files to {tool}", n, { tool }),
  blockedSummary: (n) =>
    ngettext("{n} file cannot be sent as it is: see its note.", "{n} files cannot be sent as they are: see their notes.", n),
  uploading: (n, tool) => ngettext("Uploading {n} file to {tool}.", "Uploading {n} files to {tool}.", n, { tool }),
  waiting: _("Waiting to upload…"),
  sending: (done, total) => _("Sending… {done} of {total}", { done, total }),
  checking: (tool) => _("Checking the file and sending it to {tool}…", { tool }),
  stillWaiting: (tool) =>
    _("Still waiting for {tool}. Some ATSs take a few minutes to accept a file; please don't send it again.", { tool }),
  stalled: _("No progress for 30 seconds. The connection may be slow or stalled: keep waiting, or Cancel and Retry."),
  stalledLive: (name) => _("{name}: no progress for 30 seconds.", { name }),
  uploadedTo: (tool) => _("Uploaded to {tool}", { tool }),
  uploadedAs: (name) => " " + _("as “{name}”", { name }),
  confirmedFromList: (tool) => " " + _("(confirmed from {tool}'s list of attachments)", { tool }),
  alreadyUploaded: _("Already uploaded a moment ago."),
  alreadyUploadedLive: (name) => _("{name} was already uploaded a moment ago.", { name }),
  uploadedLive: (name, tool) => _("{name} uploaded to {tool}.", { name, tool }),
  cancelledNothingSent: _("Cancelled. Nothing was sent to the ATS."),
  cancelledLive: (name) => _("Upload of {name} cancelled.", { name }),
  lostAfterSending: (tool) =>
    _("The connection was lost while {tool} was receiving the file. Check the attachments list before trying again.", { tool }),
  lostBeforeSending: _("The connection to the portal was lost before the file was sent. Nothing reached the ATS."),
  notUploadedLive: (name, message) => _("{name} was not uploaded: {message}", { name, message }),
  keyReused: _("This upload was already sent with different content. Remove it and add the file again."),
  busyRetrying: (wait) => ngettext("Busy; trying again in {n} second…", "Busy; trying again in {n} seconds…", wait),
  lostRetrying: (wait) => ngettext("Connection lost; trying again in {n} second…", "Connection lost; trying again in {n} seconds…", wait),
  retrying: (name) => _("Retrying {name}.", { name }),
  removed: (name) => _("Removed {name} from the list.", { name }),
  onProfile: (tool) => _("{tool} keeps this file on the candidate's profile, not on this application.", { tool }),
  onCandidate: (name, date) =>
    date
      ? _("{name} is already on this application (added {date}). Upload anyway?", { name, date })
      : _("{name} is already on this application. Upload anyway?", { name }),
  waitForUploads: _("Wait for the uploads to finish before going back."),

  // -- the attachments list
  attachmentsUnavailable: _("The attachments cannot be shown."),
  noAttachments: _("No attachments yet."),
  attachmentsFailed: (message) => _("The attachments could not be loaded: {message}", { message }),
  download: _("Download") + " ",
  columns: { name: _("Name"), type: _("Type"), belongs: _("Belongs to"), format: _("Format"), added: _("Added"), size: _("Size") },
  otherType: _("Other"),
  sortBy: _("Sort by"),
  sorts: { newest: _("Newest first"), oldest: _("Oldest first"), name: _("Name"), type: _("Type") },
  show: _("Show"),
  allTypes: (n) => _("All types ({n})", { n }),
  typeCount: (label, n) => _("{label} ({n})", { label, n }),
  listed: (shown, total) =>
    shown === total
      ? ngettext("{n} attachment.", "{n} attachments.", total)
      : ngettext("{shown} of {n} attachment shown.", "{shown} of {n} attachments shown.", total, { shown }),
  newCount: (n) => " " + ngettext("{n} new file from you.", "{n} new files from you.", n),
  newBadge: _("New"),
  otherFormat: _("Other format"),
  formatOf: (ext) => _("{ext} file", { ext: ext.toUpperCase() }),
  // -- previews
  previewOf: (name) => _("Preview of {name}", { name }),
  openPreview: _("Open preview"),
  openPreviewOf: (name) => " " + _("of {name}", { name }),
  noPreview: _("No preview"),
  previewPageFailed: _("This page could not be shown. Reload the list and open the preview again."),
  previewActualSize: _("Actual size"),

  // -- the embed
  sessionExpired: _("Your session has expired. Reopen this page from the partner app."),
  renewing: _("Your session has expired. Renewing it…"),
  renewFailed: (message) => _("The session could not be renewed: {message}", { message }),
  needsToken: _("This page needs a sign-in token. Open it from the partner app."),
  waitingForPartner: _("Waiting for the partner app to sign you in…"),
  partnerSilent: _("The partner app did not sign you in. Reload the partner page."),
  otherSite: _("The new sign-in token is for another site."),
  referenceParen: (ref) => " " + _("(reference {ref})", { ref }),
  attachments: _("Attachments"),
  orgSuffix: (org) => `· ${org}`,
  mayNotList: _("This session may not look up applications. Ask the partner app to open a specific application."),
  mayNotUpload: _("This session may look at attachments but not add any."),
  noUploads: (tool) => _("{tool} does not accept uploads right now.", { tool }),
  application: _("Application"),
  more: _("More"),
  // What a result list holds (a key, not words): found() and moreLoaded() pick the sentence.
  nounApplication: "application",
  nounJob: "job",
  moreLoaded: (n, noun) =>
    noun === "job"
      ? ngettext("{n} more job loaded.", "{n} more jobs loaded.", n)
      : ngettext("{n} more application loaded.", "{n} more applications loaded.", n),
  found: (n, noun) =>
    noun === "job"
      ? ngettext("{n} job found.", "{n} jobs found.", n)
      : ngettext("{n} application found.", "{n} applications found.", n),
  noCandidateWithEmail: (tool) => _("No candidate has this e-mail address in {tool}.", { tool }),
  noApplications: _("No applications."),
  openJobs: _("Open jobs"),
  noJobMatches: (q) => _("No open job matches “{q}”.", { q }),
  applicationsTo: (job) => _("Applications to {job}", { job }),
  applicationsOf: (email) => _("Applications of {email}", { email }),
  mostRecent: _("Most recent applications"),
  applied: (date) => _("Applied {date}", { date }),
  typeNotAccepted: (tool) => _("{tool} does not accept this type.", { tool }),
  upTo: (size) => " · " + _("up to {size}", { size }),
};
