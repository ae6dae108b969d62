// The demo partner page: get an embed token from our own backend, frame the portal,
// log its messages, and hand it a fresh token when its session is about to expire.
// This is what a real partner integration needs, and no more.
(() => {
  "use strict";
  const root = document.getElementById("partner");
  const portalUrl = root.dataset.portalUrl;
  const portalOrigin = new URL(portalUrl).origin;
  const partner = root.dataset.partner;
  const frame = document.getElementById("portal-frame");
  const wrap = document.getElementById("frame-wrap");
  const form = document.getElementById("embed-form");
  const formError = document.getElementById("form-error");
  const log = document.getElementById("messages");

  /** Our backend signs the token after checking our own user; the browser never sees the secret. */
  async function mint() {
    const body = {
      integration_id: form.elements.integration_id.value,
      application_id: form.elements.application_id.value.trim() || null,
      locale: form.elements.locale.value || null,
    };
    const resp = await fetch("/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw new Error(`The token request failed (HTTP ${resp.status}).`);
    return (await resp.json()).token;
  }

  function note(type, payload) {
    const li = document.createElement("li");
    li.dataset.type = type;
    li.textContent = `${new Date().toLocaleTimeString()} ${type} ${JSON.stringify(payload || {})}`;
    log.prepend(li);
  }

  async function open(event) {
    if (event) event.preventDefault();
    formError.hidden = true;
    let token;
    try {
      token = await mint();
    } catch (err) {
      formError.textContent = err.message;
      formError.hidden = false;
      return;
    }
    const url = new URL("/embed", portalUrl);
    url.searchParams.set("partner", partner);
    if (form.elements.theme.value) url.searchParams.set("theme", form.elements.theme.value);
    url.searchParams.set("accent", form.elements.accent.value);
    // The page's language (the token's locale then answers the session's messages in it too).
    if (form.elements.locale.value) url.searchParams.set("locale", form.elements.locale.value);
    url.hash = `token=${encodeURIComponent(token)}`; // the fragment never reaches a server log
    wrap.classList.toggle("is-narrow", form.elements.width.value === "narrow");
    frame.src = url.toString();
  }

  async function refresh() {
    try {
      const token = await mint();
      frame.contentWindow.postMessage(
        { source: "attachment-portal", v: 1, type: "session.refresh", payload: { token } },
        portalOrigin, // never "*": the token is a credential
      );
    } catch (err) {
      note("partner.error", { message: err.message });
    }
  }

  window.addEventListener("message", (event) => {
    // Only the portal, only from our frame.
    if (event.origin !== portalOrigin || event.source !== frame.contentWindow) return;
    const msg = event.data;
    if (!msg || msg.source !== "attachment-portal" || msg.v !== 1) return;
    note(msg.type, msg.payload);
    if (msg.type === "resize" && msg.payload && Number.isFinite(msg.payload.height)) {
      frame.style.height = `${Math.min(Math.max(240, Math.ceil(msg.payload.height)), 4000)}px`;
    }
    if (msg.type === "session.expiring") refresh();
  });

  form.addEventListener("submit", open);
  open();
})();
