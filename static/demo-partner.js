// The demo partner page: get an embed token from our own backend, frame the portal,
// log its messages, and hand it a fresh token when its session is about to expire.
(() => {
  "use strict";
  const root = document.getElementById("partner");
  const portalUrl = root.dataset.portalUrl;
  const portalOrigin = new URL(portalUrl).origin;
  const partner = root.dataset.partner;
  const frame = document.getElementById("portal-frame");
  const form = document.getElementById("embed-form");
  const log = document.getElementById("messages");
  let current = null;

  async function mint() {
    const body = {
      integration_id: form.integration.value,
      application_id: form.application.value.trim() || null,
    };
    const resp = await fetch("/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!resp.ok) throw new Error("token request failed: " + resp.status);
    return (await resp.json()).token;
  }

  function note(type, payload) {
    const li = document.createElement("li");
    li.dataset.type = type;
    li.textContent = type + " " + JSON.stringify(payload || {});
    log.prepend(li);
  }

  async function open(event) {
    if (event) event.preventDefault();
    current = await mint();
    const url = new URL("/embed", portalUrl);
    url.searchParams.set("partner", partner);
    url.hash = "token=" + encodeURIComponent(current);
    frame.src = url.toString();
  }

  window.addEventListener("message", async (event) => {
    // Only the portal, only from our frame.
    if (event.origin !== portalOrigin || event.source !== frame.contentWindow) return;
    const msg = event.data;
    if (!msg || msg.source !== "attachment-portal" || msg.v !== 1) return;
    note(msg.type, msg.payload);
    if (msg.type === "resize" && msg.payload && Number.isFinite(msg.payload.height)) {
      frame.style.height = Math.max(200, Math.ceil(msg.payload.height)) + "px";
    }
    if (msg.type === "session.expiring") {
      const token = await mint();
      frame.contentWindow.postMessage(
        { source: "attachment-portal", v: 1, type: "session.refresh", payload: { token } },
        portalOrigin,
      );
    }
  });

  form.addEventListener("submit", open);
  open();
})();
