// The conversation log: message rows, notices, typing indicator, scrolling.
import { h, icon, ICONS } from '../dom.js';
import { formatTime, toDate } from '../time.js';
import { richText } from './text.js';
import { botAvatar, agentAvatar } from './avatar.js';
import { ticketCard, surveyCard, starsText } from './cards.js';

const GROUP_MS = 60 * 1000;
const KNOWN_CUSTOM = new Set(['ticket_card', 'survey', 'agent_joined', 'agent_left', 'queue']);

// Rasa's send_custom_json emits the dict itself; the Kefu channel wraps it in
// {custom: ...}. Accept both.
export function customOf(payload) {
  if (payload.custom && typeof payload.custom === 'object') return payload.custom;
  if (typeof payload.type === 'string' && KNOWN_CUSTOM.has(payload.type)) return payload;
  return null;
}

export function isNotice(payload) {
  const custom = customOf(payload);
  return !!custom && ['agent_joined', 'agent_left', 'queue'].includes(custom.type);
}

function queueText(c) {
  const position = Number(c.position);
  const wait = Number(c.wait_minutes);
  const parts = [];
  parts.push('正在为您转接人工客服');
  if (Number.isFinite(position) && position > 0) parts.push(`前面还有 ${position} 位客户`);
  parts.push(Number.isFinite(wait) && wait > 0 ? `预计等待约 ${Math.ceil(wait)} 分钟` : '请稍候');
  return parts.join('，');
}

export function noticeText(custom) {
  const name = String(custom.agent_name || '').trim() || '人工';
  if (custom.type === 'agent_joined') return `客服 ${name} 已接入，正在为您服务`;
  if (custom.type === 'agent_left') return `客服 ${name} 已离开，智能助手继续为您服务`;
  if (custom.type === 'queue') return queueText(custom);
  return '';
}

export class Transcript {
  constructor({ botName, onQuickReply, onSurvey }) {
    this.botName = botName;
    this.onQuickReply = onQuickReply;
    this.onSurvey = onSurvey;
    this.el = h('div', { class: 'kf-log', role: 'log', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': '对话记录', tabindex: '0' });
    this.typing = h(
      'div',
      { class: 'kf-row kf-row--bot kf-typing', hidden: true },
      botAvatar(),
      h('div', { class: 'kf-body' }, h('div', { class: 'kf-bubble', 'aria-label': '对方正在输入' }, h('span'), h('span'), h('span')))
    );
    this.el.append(this.typing);
    this.last = null; // { key, time } of the previous message row, for grouping
    this.typingTimer = null;
  }

  insert(node) {
    const stick = this.isNearBottom();
    this.el.insertBefore(node, this.typing);
    for (const img of node.querySelectorAll('img')) img.addEventListener('load', () => stick && this.scrollToEnd());
    if (stick || node.classList.contains('kf-row--user')) this.scrollToEnd();
    return node;
  }

  isNearBottom() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 80;
  }

  scrollToEnd() {
    this.el.scrollTop = this.el.scrollHeight;
  }

  // Returns true when this row continues the previous sender's group.
  groupWith(key, date) {
    const prev = this.last;
    this.last = { key, time: date.getTime() };
    return !!prev && prev.key === key && date.getTime() - prev.time < GROUP_MS;
  }

  meta(name, date, extra) {
    return h('div', { class: 'kf-meta' }, name ? h('span', { class: 'kf-name', text: name }) : null, extra, h('time', { datetime: date.toISOString(), text: formatTime(date) }));
  }

  addUser({ id, text, time, pending = false }) {
    const date = toDate(time) || new Date();
    const grouped = this.groupWith('user', date);
    this.disableQuickReplies();
    const status = h('span', { class: 'kf-status', role: 'status' });
    const row = h(
      'div',
      { class: `kf-row kf-row--user${grouped ? ' is-grouped' : ''}`, 'data-role': 'user', 'data-id': id || null },
      h('div', { class: 'kf-body' }, this.meta('', date), h('div', { class: 'kf-bubble' }, richText(text)), status)
    );
    this.insert(row);
    if (pending) this.setPending(id, true);
    return row;
  }

  setPending(id, pending) {
    const row = id && this.el.querySelector(`.kf-row--user[data-id="${CSS.escape(id)}"]`);
    if (!row) return;
    row.classList.toggle('is-pending', pending);
    const status = row.querySelector('.kf-status');
    status.replaceChildren();
    if (pending) status.append(icon(ICONS.clock, { size: 12 }), '等待发送');
  }

  hasUser(id) {
    return !!(id && this.el.querySelector(`.kf-row--user[data-id="${CSS.escape(id)}"]`));
  }

  // payload: a bot_uttered payload. Returns the row, or null if nothing to show.
  addBot(payload, { time, answered = false } = {}) {
    const date = toDate(time) || new Date();
    const custom = customOf(payload);
    if (custom && isNotice(payload)) return this.addNotice(noticeText(custom));

    const parts = [];
    if (typeof payload.text === 'string' && payload.text !== '') parts.push(h('div', { class: 'kf-bubble' }, richText(payload.text)));
    const attachment = payload.attachment;
    const image = attachment && attachment.type === 'image' && attachment.payload ? imageBubble(attachment.payload.src) : null;
    if (image) parts.push(image);
    if (custom && custom.type === 'ticket_card') parts.push(ticketCard(custom));
    if (custom && custom.type === 'survey') {
      this.surveys = this.surveys || [];
      const card = surveyCard(custom, { answered, onSubmit: (score, comment) => this.onSurvey(score, comment) });
      this.surveys.push(card);
      parts.push(card);
    }
    const replies = Array.isArray(payload.quick_replies) ? payload.quick_replies.filter((q) => q && q.title != null) : [];
    if (replies.length) parts.push(this.quickReplies(replies));
    if (!parts.length) return null;

    const agent = payload.agent && typeof payload.agent === 'object' && payload.agent.name ? payload.agent : null;
    const key = agent ? `agent:${agent.id ?? agent.name}` : 'bot';
    const grouped = this.groupWith(key, date);
    const tag = agent ? h('span', { class: 'kf-role-tag', text: '人工客服' }) : null;
    const row = h(
      'div',
      { class: `kf-row kf-row--bot${agent ? ' kf-row--agent' : ''}${grouped ? ' is-grouped' : ''}`, 'data-role': agent ? 'agent' : 'bot' },
      agent ? agentAvatar(agent) : botAvatar(),
      h('div', { class: 'kf-body' }, this.meta(agent ? String(agent.name) : this.botName, date, tag), parts)
    );
    return this.insert(row);
  }

  quickReplies(replies) {
    return h(
      'div',
      { class: 'kf-quick', role: 'group', 'aria-label': '快捷回复' },
      replies.map((q) =>
        h('button', {
          type: 'button',
          class: 'kf-chip',
          text: String(q.title),
          onclick: () => this.onQuickReply(String(q.payload ?? q.title), String(q.title)),
        })
      )
    );
  }

  // Old suggestions would answer a question that is no longer being asked.
  disableQuickReplies() {
    for (const chip of this.el.querySelectorAll('.kf-chip:not([disabled])')) chip.disabled = true;
  }

  lockSurveys() {
    for (const card of this.surveys || []) card.lock();
  }

  addNotice(text) {
    if (!text) return null;
    this.last = null;
    return this.insert(h('div', { class: 'kf-notice', 'data-role': 'notice' }, h('span', { text })));
  }

  addDivider(text) {
    this.last = null;
    return this.insert(h('div', { class: 'kf-divider', text }));
  }

  showTyping(ms = 15000) {
    this.typing.hidden = false;
    this.el.append(this.typing);
    this.scrollToEnd();
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), ms);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    this.typing.hidden = true;
  }
}

function imageBubble(src) {
  // Only http(s) or same-origin relative URLs: no javascript:, no data: tricks.
  let href = null;
  try {
    const url = new URL(String(src ?? ''), document.baseURI);
    if (url.protocol === 'http:' || url.protocol === 'https:') href = url.href;
  } catch (_) {
    href = null;
  }
  if (!href) return null;
  const img = h('img', { class: 'kf-image', src: href, alt: '图片消息', loading: 'lazy' });
  img.addEventListener('error', () => img.replaceWith(h('span', { class: 'kf-image-error', text: '[图片加载失败]' })));
  return h('a', { class: 'kf-image-link', href, target: '_blank', rel: 'noopener noreferrer', 'aria-label': '查看大图' }, img);
}

export { starsText };
