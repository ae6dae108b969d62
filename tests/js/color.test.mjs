// WCAG arithmetic (static/portal/color.js) against published reference values.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { AA_NON_TEXT, AA_TEXT, accentPalette, contrast, luminance, mix, parseHex, textOn, toHex } from "../../static/portal/color.js";

const near = (a, b, eps = 0.01) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test("luminance of black, white and mid grey", () => {
  near(luminance("#000000"), 0);
  near(luminance("#ffffff"), 1);
  near(luminance("#777777"), 0.184, 0.001);
});

test("contrast ratios match WebAIM's checker", () => {
  near(contrast("#ffffff", "#000000"), 21);
  near(contrast("#ffffff", "#777777"), 4.48); // the classic "just fails AA" grey
  near(contrast("#ffffff", "#2a9aa6"), 3.34); // issue 14: white on the old dark-mode button
  near(contrast("#3b2f7a", "#111419"), 1.6, 0.05);
  assert.equal(contrast("#123456", "#abcdef"), contrast("#abcdef", "#123456"));
});

test("text on an accent is whichever of black and white reads better", () => {
  assert.equal(textOn("#ffee00"), "#000000");
  assert.equal(textOn("#3b2f7a"), "#ffffff");
  assert.equal(textOn("#2a9aa6"), "#000000");
});

test("hex parsing is strict", () => {
  assert.deepEqual(parseHex("#0F6b75"), [15, 107, 117]);
  for (const bad of ["0f6b75", "#0f6b7", "#0f6b75;", "red", "#0f6b75 ", null]) assert.equal(parseHex(bad), null);
  assert.equal(toHex([15, 107, 117]), "#0f6b75");
  assert.ok(Number.isNaN(luminance("url(x)")));
});

// The theme tokens, read from the stylesheet itself so this test follows the CSS.
const CSS = readFileSync(new URL("../../static/portal.css", import.meta.url), "utf8");
function tokens(selector) {
  const start = CSS.indexOf(`${selector} {`);
  const block = CSS.slice(start, CSS.indexOf("}", start));
  return Object.fromEntries([...block.matchAll(/--([a-z0-9-]+):\s*(#[0-9a-fA-F]{3,6})\b/g)].map(([, k, v]) => [k, v]));
}
const LIGHT = tokens(":root");
const DARK = { ...LIGHT, ...tokens(':root[data-theme="dark"]') };
const theme = (t) => ({ bg: t.bg, surface: t.surface, surface2: t["surface-2"], text: t.text, tints: [t["ok-soft"], t["warn-soft"], t["danger-soft"]] });

test("our own tokens reach AA in light and dark (issue 14: 3.34:1 buttons in dark)", () => {
  for (const [name, t] of [["light", LIGHT], ["dark", DARK]]) {
    const on = (fg, bgs, min) => bgs.forEach((bg) => assert.ok(contrast(t[fg], t[bg]) >= min, `${name}: ${fg} on ${bg} ${contrast(t[fg], t[bg]).toFixed(2)}`));
    on("accent-contrast", ["accent"], AA_TEXT);
    on("text", ["bg", "surface", "surface-2", "accent-soft", "ok-soft", "warn-soft", "danger-soft"], AA_TEXT);
    on("muted", ["bg", "surface"], AA_TEXT);
    on("ok", ["surface", "ok-soft"], AA_TEXT);
    on("danger", ["surface", "danger-soft"], AA_TEXT);
    on("warn", ["surface"], AA_TEXT);
    on("focus", ["bg", "surface"], AA_NON_TEXT);
  }
});

test("any partner accent gives AA text, links, tints and focus rings in both themes", () => {
  const levels = [0, 0x33, 0x66, 0x99, 0xcc, 0xff];
  let checked = 0;
  for (const t of [theme(LIGHT), theme(DARK)]) {
    for (const r of levels) for (const g of levels) for (const b of levels) {
      const accent = toHex([r, g, b]);
      const p = accentPalette(accent, t);
      assert.equal(p.accent, accent); // buttons keep the partner's colour
      assert.ok(contrast(p.accentContrast, accent) >= AA_TEXT, `${accent} button text`);
      for (const bg of [t.bg, t.surface, t.surface2, p.accentSoft, ...t.tints]) {
        assert.ok(contrast(p.accentText, bg) >= AA_TEXT, `${accent} link on ${bg}`);
      }
      for (const bg of [t.bg, t.surface]) assert.ok(contrast(p.focus, bg) >= AA_NON_TEXT, `${accent} focus on ${bg}`);
      assert.ok(contrast(t.text, p.accentSoft) >= AA_TEXT, `${accent} text on tint`);
      checked += 1;
    }
  }
  assert.equal(checked, 432);
});

test("a readable accent is kept as it is; the issue's #3b2f7a on near-black is lifted", () => {
  assert.equal(accentPalette("#0f6b75", theme(LIGHT)).accentText, "#0f6b75");
  const dark = accentPalette("#3b2f7a", theme(DARK));
  assert.notEqual(dark.accentText, "#3b2f7a");
  assert.ok(contrast(dark.accentText, DARK.bg) >= AA_TEXT);
  assert.equal(accentPalette("#3b2f7a", { ...theme(DARK), bg: "var(--x)" }), null); // ours, then
  assert.equal(mix("#000000", "#ffffff", 0.5), "#808080");
});
