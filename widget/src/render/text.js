// Message text with safe auto-linking: text nodes plus <a> with validated hrefs.
import { h } from '../dom.js';
import { linkify } from '../linkify.js';

export function richText(text) {
  return linkify(String(text ?? '')).map((seg) =>
    seg.type === 'link'
      ? h('a', { class: 'kf-link', href: seg.href, target: '_blank', rel: 'noopener noreferrer nofollow', text: seg.value })
      : document.createTextNode(seg.value)
  );
}
