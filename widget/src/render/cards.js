// Rich cards for the custom payloads: ticket_card and survey.
import { h, icon, ICONS } from '../dom.js';
import { formatDateTimeText } from '../time.js';

const STATUS_TONE = { 受理: 'info', 已派单: 'info', 派发: 'info', 处理中: 'warn', 已解决: 'ok', 已回访: 'ok', 已关闭: 'muted', 关闭: 'muted', 已取消: 'muted' };

function appointmentText(value) {
  if (value == null || value === '') return '';
  if (typeof value === 'string') return formatDateTimeText(value);
  if (typeof value === 'object') {
    if (value.label) return String(value.label);
    const start = formatDateTimeText(value.start);
    const end = value.end ? formatDateTimeText(value.end).replace(/^.*\s(?=\d{2}:\d{2}$)/, '') : '';
    return end ? `${start}–${end}` : start;
  }
  return String(value);
}

function field(label, value, extra = {}) {
  if (value == null || value === '') return null;
  return h('div', { class: 'kf-field' }, h('dt', { text: label }), h('dd', { ...extra, text: value }));
}

export function ticketCard(data) {
  const status = String(data.status ?? '');
  const priority = String(data.priority ?? '');
  const ticketNo = String(data.ticket_no ?? '');
  const copy = h('button', { type: 'button', class: 'kf-card__action', text: '复制工单号' });
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(ticketNo);
      copy.textContent = '已复制';
    } catch (_) {
      copy.textContent = '请长按工单号复制';
    }
    setTimeout(() => {
      copy.textContent = '复制工单号';
    }, 2000);
  });
  return h(
    'div',
    { class: 'kf-card kf-ticket', 'data-ticket-no': ticketNo },
    h(
      'div',
      { class: 'kf-card__head' },
      h('span', { class: 'kf-card__icon' }, icon(ICONS.ticket, { size: 18 })),
      h('span', { class: 'kf-card__title', text: data.type_label ? `${data.type_label}工单` : '服务工单' }),
      status ? h('span', { class: `kf-tag kf-tag--${STATUS_TONE[status] || 'info'}`, text: status }) : null
    ),
    h(
      'dl',
      { class: 'kf-fields' },
      field('工单号', ticketNo, { class: 'kf-mono' }),
      field('优先级', priority, { class: priority === '抢修' ? 'kf-urgent' : null }),
      field('联系时限', formatDateTimeText(data.due_at)),  // first_response_due: "会在…前与您联系"
      field('预约时间', appointmentText(data.appointment))
    ),
    ticketNo ? copy : null
  );
}

const SCORE_LABELS = ['非常不满意', '不满意', '一般', '满意', '非常满意'];

export function starsText(score) {
  const n = Math.max(0, Math.min(5, Number(score) || 0));
  return '★'.repeat(n) + '☆'.repeat(5 - n);
}

// onSubmit(score, comment) sends the answer; the card then locks itself.
export function surveyCard(data, { onSubmit, answered = false }) {
  let score = 0;
  const label = h('div', { class: 'kf-survey__label', 'aria-live': 'polite', text: '请点击星星评分' });
  const comment = h('textarea', { class: 'kf-survey__comment', rows: 2, maxlength: 200, placeholder: '说说您的感受或建议（选填）', 'aria-label': '评价内容（选填）' });
  const submit = h('button', { type: 'button', class: 'kf-btn', disabled: true, text: '提交评价' });
  const stars = SCORE_LABELS.map((text, i) =>
    h('button', {
      type: 'button',
      class: 'kf-star',
      role: 'radio',
      'aria-checked': 'false',
      'aria-label': `${i + 1} 星：${text}`,
      tabindex: i === 0 ? '0' : '-1',
      'data-score': String(i + 1),
    }, icon(ICONS.star, { size: 28 }))
  );
  const group = h('div', { class: 'kf-stars', role: 'radiogroup', 'aria-label': '服务满意度评分' }, stars);

  const choose = (n, focus) => {
    score = n;
    stars.forEach((star, i) => {
      star.classList.toggle('is-on', i < n);
      star.setAttribute('aria-checked', String(i === n - 1));
      star.tabIndex = i === n - 1 ? 0 : -1;
    });
    if (focus) stars[n - 1].focus();
    label.textContent = SCORE_LABELS[n - 1];
    submit.disabled = false;
  };
  stars.forEach((star, i) => {
    star.addEventListener('click', () => choose(i + 1, false));
    star.addEventListener('keydown', (e) => {
      const step = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
      if (!step) return;
      e.preventDefault();
      choose(Math.max(1, Math.min(5, (score || i + 1) + step)), true);
    });
  });

  const card = h(
    'form',
    { class: 'kf-card kf-survey', 'data-ticket-no': data.ticket_no ?? '' },
    h('div', { class: 'kf-card__title', text: '请为本次服务评价' }),
    data.ticket_no ? h('div', { class: 'kf-card__sub', text: `工单 ${data.ticket_no}` }) : null,
    group,
    label,
    comment,
    submit
  );
  const lock = (text) => {
    card.classList.add('is-done');
    for (const el of card.querySelectorAll('button, textarea')) el.disabled = true;
    submit.textContent = text;
  };
  card.addEventListener('submit', (e) => e.preventDefault());
  submit.addEventListener('click', () => {
    if (!score) return;
    onSubmit(score, comment.value.trim());
    lock('感谢您的评价');
  });
  if (answered) lock('已评价');
  card.lock = () => lock('已评价');
  return card;
}
