// Avatars: the bot's icon, or a human agent's initial on a stable colour.
import { h, icon, ICONS } from '../dom.js';

const AGENT_COLOURS = ['#0f766e', '#7c3aed', '#b45309', '#be185d', '#1d4ed8', '#15803d'];

function hashCode(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) | 0;
  return Math.abs(hash);
}

export function botAvatar() {
  return h('div', { class: 'kf-avatar kf-avatar--bot', 'aria-hidden': 'true' }, icon(ICONS.bot, { size: 20 }));
}

export function agentAvatar(agent) {
  const name = String(agent.name || '客服');
  const el = h('div', { class: 'kf-avatar kf-avatar--agent', 'aria-hidden': 'true', text: Array.from(name)[0] });
  el.style.backgroundColor = AGENT_COLOURS[hashCode(agent.id ?? name) % AGENT_COLOURS.length];
  return el;
}
