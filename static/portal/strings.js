// Every sentence the front end shows or announces, in one catalogue.
//
// Modules never write user-facing English inline: they call S.name(...) here. Plain strings
// are constants; sentences with values are small functions, so word order stays with the
// sentence (German and French put the values elsewhere). Translating the front end is then
// replacing this one object, e.g. with a catalogue the server renders for the user's locale.
// No DOM here, so node --test can check the catalogue too.

/** "1 file" / "3 files": the count with the right noun. */
export const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

export const S = {
  // -- generic
  somethingWrong: "Something went wrong.",
  cancelled: "Cancelled.",
  connectionLost: "The connection to the portal was lost.",
  reference: (ref) => `Reference ${ref}`,
  komboLog: "Kombo log",
  atsSays: (w) => `The ATS says: ${w}`,
  theAts: "the ATS",
  loading: "Loading…",
  tryAgain: "Try again",
  bytes: { B: "B", KB: "KB", MB: "MB", GB: "GB" },
  statusMessages: {
    413: "This file is too large for the portal.",
    429: "The portal is busy right now. Try again in a moment.",
    502: "The portal could not be reached properly. Try again in a moment.",
    503: "The portal is not available right now. Try again in a moment.",
    504: "The portal took too long to answer. Check the attachments list before trying again.",
  },
  httpError: (status) => `The portal answered with an error (HTTP ${status}).`,
  signInAgain: "Sign in again",
  signInAgainTail: " (opens a new tab), then choose Retry here.",

  // -- the queue
  typeLabel: "Type",
  typeOf: (name) => ` of ${name}`,
  typeIs: (label) => `Type: ${label}`,
  notAccepted: (label) => `${label} (not accepted)`,
  uploadOf: (name) => `Upload of ${name}`,
  cancel: "Cancel",
  retry: "Retry",
  remove: "Remove",
  dismiss: "Dismiss",
  chooseAnother: "Choose another file",
  uploadAnyway: "Upload anyway",
  nouns: { CV: "CVs", COVER_LETTER: "cover letters", OTHER: "other files" },
  nounFor: (label) => `${label} files`,
  folderSkipped: (n) => `${count(n, "folder was", "folders were")} skipped: drop the files inside instead.`,
  added: (n, names) => `Added ${count(n, "file", "files")}: ${names}. Check each file's type, then choose Upload.`,
  typeRefused: (tool) => `${tool} does not accept this type. Choose another type.`,
  tooLarge: (size, tool, max, noun) => `This file is ${size}; ${tool} accepts up to ${max} for ${noun}.`,
  empty: "This file is empty (0 bytes), so there is nothing to send. Choose the file again, or another one.",
  mayBeRefused: (tool, labels, noun) => `${tool} takes ${labels} for ${noun}; this file may be refused.`,
  alreadyInList: "This file is already in the list.",
  submit: (n, tool) => `Upload ${count(n, "file", "files")} to ${tool}`,
  blockedSummary: (n) =>
    n === 1 ? "1 file cannot be sent as it is: see its note." : `${n} files cannot be sent as they are: see their notes.`,
  uploading: (n, tool) => `Uploading ${count(n, "file", "files")} to ${tool}.`,
  waiting: "Waiting to upload…",
  sending: (done, total) => `Sending… ${done} of ${total}`,
  checking: (tool) => `Checking the file and sending it to ${tool}…`,
  stillWaiting: (tool) =>
    `Still waiting for ${tool}. Some ATSs take a few minutes to accept a file; please don't send it again.`,
  stalled: "No progress for 30 seconds. The connection may be slow or stalled: keep waiting, or Cancel and Retry.",
  stalledLive: (name) => `${name}: no progress for 30 seconds.`,
  uploadedTo: (tool) => `Uploaded to ${tool}`,
  uploadedAs: (name) => ` as “${name}”`,
  confirmedFromList: (tool) => ` (confirmed from ${tool}'s list of attachments)`,
  alreadyUploaded: "Already uploaded a moment ago.",
  alreadyUploadedLive: (name) => `${name} was already uploaded a moment ago.`,
  uploadedLive: (name, tool) => `${name} uploaded to ${tool}.`,
  atsNotes: (n) => ` ${count(n, "note", "notes")} from the ATS.`,
  cancelledNothingSent: "Cancelled. Nothing was sent to the ATS.",
  cancelledLive: (name) => `Upload of ${name} cancelled.`,
  lostAfterSending: (tool) =>
    `The connection was lost while ${tool} was receiving the file. Check the attachments list before trying again.`,
  lostBeforeSending: "The connection to the portal was lost before the file was sent. Nothing reached the ATS.",
  notUploadedLive: (name, message) => `${name} was not uploaded: ${message}`,
  keyReused:
    "This upload was already sent with different content. Remove it and add the file again.",
  busyRetrying: (wait) => `Busy; trying again in ${count(wait, "second", "seconds")}…`,
  lostRetrying: (wait) => `Connection lost; trying again in ${count(wait, "second", "seconds")}…`,
  retrying: (name) => `Retrying ${name}.`,
  removed: (name) => `Removed ${name} from the list.`,
  onProfile: (tool) => `${tool} keeps this file on the candidate's profile, not on this application.`,
  onCandidate: (name, date) =>
    date ? `${name} is already on this application (added ${date}). Upload anyway?` : `${name} is already on this application. Upload anyway?`,
  waitForUploads: "Wait for the uploads to finish before going back.",

  // -- the attachments list
  attachmentsUnavailable: "The attachments cannot be shown.",
  noAttachments: "No attachments yet.",
  attachmentsFailed: (message) => `The attachments could not be loaded: ${message}`,
  download: "Download ",
  columns: { name: "Name", type: "Type", belongs: "Belongs to", format: "Format", added: "Added", size: "Size" },
  otherType: "Other",
  newBadge: "New",
  otherFormat: "Other format",
  formatOf: (ext) => `${ext.toUpperCase()} file`,

  // -- the embed
  sessionExpired: "Your session has expired. Reopen this page from the partner app.",
  renewing: "Your session has expired. Renewing it…",
  renewFailed: (message) => `The session could not be renewed: ${message}`,
  needsToken: "This page needs a sign-in token. Open it from the partner app.",
  waitingForPartner: "Waiting for the partner app to sign you in…",
  partnerSilent: "The partner app did not sign you in. Reload the partner page.",
  otherSite: "The new sign-in token is for another site.",
  referenceParen: (ref) => ` (reference ${ref})`,
  attachments: "Attachments",
  orgSuffix: (org) => `· ${org}`,
  mayNotList: "This session may not look up applications. Ask the partner app to open a specific application.",
  mayNotUpload: "This session may look at attachments but not add any.",
  noUploads: (tool) => `${tool} does not accept uploads right now.`,
  application: "Application",
  more: "More",
  moreLoaded: (n, noun) => `${count(n, `more ${noun}`, `more ${noun}s`)} loaded.`,
  found: (n, noun) => `${count(n, noun, `${noun}s`)} found.`,
  nounApplication: "application",
  nounJob: "job",
  noCandidateWithEmail: (tool) => `No candidate has this e-mail address in ${tool}.`,
  noApplications: "No applications.",
  openJobs: "Open jobs",
  noJobMatches: (q) => `No open job matches “${q}”.`,
  applicationsTo: (job) => `Applications to ${job}`,
  applicationsOf: (email) => `Applications of ${email}`,
  mostRecent: "Most recent applications",
  typeNotAccepted: (tool) => `${tool} does not accept this type.`,
  upTo: (size) => ` · up to ${size}`,
};
