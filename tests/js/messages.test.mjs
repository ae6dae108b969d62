// What the embed accepts from its parent (static/portal/messages.js): one message, one origin.
import assert from "node:assert/strict";
import { test } from "node:test";

import { envelope, MAX_TOKEN, refreshToken, validOrigin } from "../../static/portal/messages.js";

const parent = { name: "parent window" };
const ORIGIN = "https://partner.example";
const good = () => ({ origin: ORIGIN, source: parent, data: envelope("session.refresh", { token: "abc.def.ghi" }) });

test("the partner's session.refresh from the parent's origin is accepted", () => {
  assert.equal(refreshToken(good(), ORIGIN, parent), "abc.def.ghi");
});

test("another origin, another window or no known parent is ignored", () => {
  assert.equal(refreshToken({ ...good(), origin: "https://evil.example" }, ORIGIN, parent), null);
  assert.equal(refreshToken({ ...good(), origin: "https://partner.example.evil.example" }, ORIGIN, parent), null);
  assert.equal(refreshToken({ ...good(), source: { other: true } }, ORIGIN, parent), null);
  assert.equal(refreshToken(good(), null, parent), null);
});

test("other protocols, versions, types and bad tokens are ignored", () => {
  const withData = (data) => ({ ...good(), data });
  const ok = good().data;
  assert.equal(refreshToken(withData({ ...ok, source: "other-widget" }), ORIGIN, parent), null);
  assert.equal(refreshToken(withData({ ...ok, v: 2 }), ORIGIN, parent), null);
  assert.equal(refreshToken(withData({ ...ok, v: "1" }), ORIGIN, parent), null);
  assert.equal(refreshToken(withData({ ...ok, type: "upload.succeeded" }), ORIGIN, parent), null);
  assert.equal(refreshToken(withData("session.refresh"), ORIGIN, parent), null);
  assert.equal(refreshToken(withData(null), ORIGIN, parent), null);
  for (const token of ["", 42, null, ["a"], { t: 1 }, "x".repeat(MAX_TOKEN + 1)]) {
    assert.equal(refreshToken(withData(envelope("session.refresh", { token })), ORIGIN, parent), null, String(token).slice(0, 20));
  }
  assert.equal(refreshToken(withData(envelope("session.refresh", { token: "x".repeat(MAX_TOKEN) })), ORIGIN, parent).length, MAX_TOKEN);
});

test("an origin is exactly scheme, host and port", () => {
  assert.equal(validOrigin("https://partner.example"), "https://partner.example");
  assert.equal(validOrigin("http://localhost:8080"), "http://localhost:8080");
  for (const bad of ["https://partner.example/", "https://partner.example/path", "https://u@partner.example", "partner.example", "null", "", 7, "javascript:alert(1)"]) {
    assert.equal(validOrigin(bad), null, String(bad));
  }
});

test("the envelope names us and the version", () => {
  assert.deepEqual(envelope("ready"), { source: "attachment-portal", v: 1, type: "ready", payload: {} });
});
