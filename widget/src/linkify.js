// Splits plain text into text and http(s) link segments. Only URLs that parse
// with an http/https protocol become links, so `javascript:` can never slip in.

const URL_RE = /https?:\/\/[^\s<>"'`\u3000-\u303f\uff00-\uffef“”‘’]+/gi;
const TRAILING = /[.,;:!?)\]}>'"]+$/;

export function safeHttpUrl(value, base) {
  if (typeof value !== 'string' || !value.trim()) return null;
  try {
    const url = new URL(value.trim(), base || undefined);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch (_) {
    return null;
  }
}

export function linkify(text) {
  const segments = [];
  let last = 0;
  for (const match of String(text).matchAll(URL_RE)) {
    const raw = match[0].replace(TRAILING, '');
    const href = safeHttpUrl(raw);
    if (!href) continue;
    if (match.index > last) segments.push({ type: 'text', value: text.slice(last, match.index) });
    segments.push({ type: 'link', value: raw, href });
    last = match.index + raw.length;
  }
  if (last < String(text).length) segments.push({ type: 'text', value: String(text).slice(last) });
  return segments;
}
