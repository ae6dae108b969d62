// The catalogue (static/portal/strings.js) is the one home of every sentence: each S.name the
// modules use exists, and the modules write no sentences of their own.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { S } from "../../static/portal/strings.js";

const STATIC = fileURLToPath(new URL("../../static/", import.meta.url));
const sources = () =>
  ["portal.js", "embed.js", ...readdirSync(join(STATIC, "portal")).filter((f) => f.endsWith(".js")).map((f) => `portal/${f}`)]
    .filter((f) => f !== "portal/strings.js")
    .map((f) => [f, readFileSync(join(STATIC, f), "utf8")]);

test("every S.name used by a module is in the catalogue", () => {
  const missing = [];
  for (const [file, text] of sources()) {
    for (const [, key] of text.matchAll(/\bS\.([A-Za-z]+)/g)) if (!(key in S)) missing.push(`${file}: S.${key}`);
  }
  assert.deepEqual(missing, []);
});

test("modules write no sentences of their own (only the catalogue does)", () => {
  // A capitalised string literal with a space and a word after it is a sentence for a person.
  const sentence = /(["'`])[A-Z][a-z]+ [a-z][^"'`\n]*\1/g;
  const found = [];
  for (const [file, text] of sources()) {
    const code = text.replace(/^\s*(\/\/|\*|\/\*).*$/gm, ""); // comments may speak English
    for (const [match] of code.matchAll(sentence)) found.push(`${file}: ${match}`);
  }
  assert.deepEqual(found, []);
});

test("catalogue entries are strings, functions or tables of strings", () => {
  for (const [key, value] of Object.entries(S)) {
    const ok = typeof value === "string" || typeof value === "function" || (typeof value === "object" && Object.values(value).every((v) => typeof v === "string"));
    assert.ok(ok, key);
  }
});
