// Derives readable colours from the one brand colour the host configures.

const HEX_RE = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i;

export function parseHex(value) {
  if (typeof value !== 'string' || !HEX_RE.test(value.trim())) return null;
  let hex = value.trim().slice(1);
  if (hex.length === 3) hex = hex.split('').map((c) => c + c).join('');
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

const toHex = (rgb) => `#${rgb.map((v) => Math.round(Math.max(0, Math.min(255, v))).toString(16).padStart(2, '0')).join('')}`;

function luminance([r, g, b]) {
  const lin = (v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

const mix = (rgb, target, t) => rgb.map((v, i) => v + (target[i] - v) * t);
const WHITE = [255, 255, 255];
const INK = [17, 24, 39];

export function themeFrom(color, fallback = '#1f6feb') {
  const brand = parseHex(color) || parseHex(fallback);
  // Text on the brand colour: whichever of white/ink reads better.
  const onBrand = contrast(brand, WHITE) >= contrast(brand, INK) ? WHITE : INK;
  // Brand-coloured text on white must reach WCAG AA (4.5:1): darken until it does.
  let text = brand;
  for (let t = 0.1; contrast(text, WHITE) < 4.5 && t <= 1; t += 0.1) text = mix(brand, INK, t);
  return {
    '--kf-brand': toHex(brand),
    '--kf-brand-ink': toHex(onBrand),
    '--kf-brand-strong': toHex(mix(brand, [0, 0, 0], 0.15)),
    '--kf-brand-text': toHex(text),
    '--kf-brand-soft': toHex(mix(brand, WHITE, 0.9)),
    '--kf-brand-line': toHex(mix(brand, WHITE, 0.65)),
  };
}
