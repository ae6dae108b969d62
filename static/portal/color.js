// WCAG 2 colour arithmetic for partner accents: relative luminance and contrast ratio.
// Pure: the embed uses it to derive readable text, link and focus colours from an accent.

/** #rrggbb to [r, g, b] in 0..255, or null. */
export function parseHex(hex) {
  if (typeof hex !== "string" || !/^#[0-9a-f]{6}$/i.test(hex)) return null;
  return [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/** [r, g, b] to #rrggbb. */
export const toHex = (rgb) => `#${rgb.map((c) => Math.round(c).toString(16).padStart(2, "0")).join("")}`;

/** WCAG relative luminance of #rrggbb (0 black .. 1 white). */
export function luminance(hex) {
  const rgb = parseHex(hex);
  if (!rgb) return NaN;
  const [r, g, b] = rgb.map((v) => v / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours, 1..21. */
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white, whichever contrasts more with the accent (text on accent-coloured buttons). */
export const textOn = (hex) => (contrast(hex, "#ffffff") >= contrast(hex, "#000000") ? "#ffffff" : "#000000");

/** The colour `t` of the way from a to b (sRGB, like CSS color-mix). */
export function mix(a, b, t) {
  const [x, y] = [parseHex(a), parseHex(b)];
  return toHex(x.map((c, i) => c + (y[i] - c) * t));
}

/** `color`, moved towards `toward` just enough to reach `min` contrast on every background. */
export function readableOn(color, backgrounds, toward, min) {
  for (let step = 0; step <= 50; step += 1) {
    const candidate = mix(color, toward, step / 50);
    if (backgrounds.every((bg) => contrast(candidate, bg) >= min)) return candidate;
  }
  return toward;
}

export const AA_TEXT = 4.5; // WCAG 1.4.3, normal text
export const AA_NON_TEXT = 3; // WCAG 1.4.11, focus rings and borders

/**
 * The portal's accent colours derived from a partner's accent for one theme ({bg, surface,
 * surface2, text, tints: [...]} as #rrggbb; tints are the other backgrounds links sit on, such
 * as the green of a new row and the red of a failed one): buttons keep the partner's colour with black or white text;
 * links, the tint behind selected options and the focus ring are moved towards the theme's
 * text colour until they reach WCAG AA on every background they appear on. Null if the
 * accent or the theme is not a #rrggbb colour (the caller then keeps ours).
 */
export function accentPalette(accent, theme) {
  const tints = theme.tints || [];
  const colours = [accent, theme.bg, theme.surface, theme.surface2, theme.text, ...tints];
  if (!colours.every(parseHex)) return null;
  let soft = mix(theme.surface, accent, 0.16);
  for (let t = 0.16; t > 0 && contrast(theme.text, soft) < AA_TEXT; t -= 0.02) soft = mix(theme.surface, accent, t);
  if (contrast(theme.text, soft) < AA_TEXT) soft = theme.surface;
  return {
    accent,
    accentContrast: textOn(accent),
    accentSoft: soft,
    accentText: readableOn(accent, [theme.bg, theme.surface, theme.surface2, soft, ...tints], theme.text, AA_TEXT),
    focus: readableOn(accent, [theme.bg, theme.surface], theme.text, AA_NON_TEXT),
  };
}
