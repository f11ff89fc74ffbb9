// Tiny DOM builder. Message data only ever reaches the page through
// textContent or validated attributes, never through innerHTML.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2), value);
    } else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of [].concat(children).flat(Infinity)) {
    if (child == null || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

// Icons are static path data defined in code (never message data).
export function icon(paths, { size = 20, label, viewBox = '0 0 24 24' } = {}) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', viewBox);
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('fill', 'currentColor');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else svg.setAttribute('aria-hidden', 'true');
  for (const d of [].concat(paths)) {
    const path = document.createElementNS(SVG_NS, 'path');
    path.setAttribute('d', d);
    svg.append(path);
  }
  return svg;
}

export const ICONS = {
  chat: 'M12 3C6.5 3 2 6.9 2 11.7c0 2.6 1.3 4.9 3.4 6.5L4.6 22l4.3-2.3c1 .3 2 .4 3.1.4 5.5 0 10-3.9 10-8.7S17.5 3 12 3zm-4.5 10a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6zm4.5 0a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6zm4.5 0a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6z',
  close: 'M18.3 5.7a1 1 0 00-1.4 0L12 10.6 7.1 5.7a1 1 0 10-1.4 1.4l4.9 4.9-4.9 4.9a1 1 0 101.4 1.4l4.9-4.9 4.9 4.9a1 1 0 001.4-1.4L13.4 12l4.9-4.9a1 1 0 000-1.4z',
  minimize: 'M5 12a1 1 0 011-1h12a1 1 0 110 2H6a1 1 0 01-1-1z',
  send: 'M3.4 20.4l17.4-7.5a1 1 0 000-1.8L3.4 3.6a1 1 0 00-1.4 1.1L3.9 11l9.1 1-9.1 1-1.9 6.3a1 1 0 001.4 1.1z',
  bot: [
    'M12 2a1.5 1.5 0 00-.8 2.8V6H8a5 5 0 00-5 5v5a5 5 0 005 5h8a5 5 0 005-5v-5a5 5 0 00-5-5h-3.2V4.8A1.5 1.5 0 0012 2zM8.8 11.2a1.7 1.7 0 110 3.4 1.7 1.7 0 010-3.4zm6.4 0a1.7 1.7 0 110 3.4 1.7 1.7 0 010-3.4zM9 17.2h6a.8.8 0 010 1.6H9a.8.8 0 010-1.6z',
  ],
  clock: 'M12 2a10 10 0 100 20 10 10 0 000-20zm1 10.6l3.2 1.9a1 1 0 11-1 1.7l-3.7-2.2a1 1 0 01-.5-.9V7a1 1 0 112 0v5.6z',
  ticket: 'M4 4h16a2 2 0 012 2v3a2 2 0 000 4v3a2 2 0 01-2 2H4a2 2 0 01-2-2v-3a2 2 0 000-4V6a2 2 0 012-2zm4 4a1 1 0 000 2h8a1 1 0 100-2H8zm0 4a1 1 0 000 2h5a1 1 0 100-2H8z',
  star: 'M12 2.8l2.8 5.8 6.3.9-4.6 4.4 1.1 6.3L12 17.2l-5.6 3 1.1-6.3L2.9 9.5l6.3-.9L12 2.8z',
  headset: 'M12 2a9 9 0 00-9 9v6a3 3 0 003 3h1a1 1 0 001-1v-6a1 1 0 00-1-1H5v-1a7 7 0 0114 0v1h-2a1 1 0 00-1 1v6a1 1 0 001 1h1.9a2 2 0 01-1.9 1.5h-3a1 1 0 100 2h3a4 4 0 004-4V11a9 9 0 00-9-9z',
};
