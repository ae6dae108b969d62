// WCAG arithmetic (static/portal/color.js) against published reference values.
import assert from "node:assert/strict";
import { test } from "node:test";

import { contrast, luminance, parseHex, textOn, toHex } from "../../static/portal/color.js";

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
