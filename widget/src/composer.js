// Message input: IME-safe Enter, Shift+Enter newline, length counter.
import { h, icon, ICONS } from './dom.js';

// True while an input method (pinyin, wubi…) is still composing: Enter then
// picks a candidate and must not send. Browsers disagree on which signal they
// give, so honour all three.
export function isImeEnter(event, composing) {
  return composing || event.isComposing || event.keyCode === 229;
}

export function createComposer({ maxLength, onSend }) {
  let composing = false;
  const input = h('textarea', {
    class: 'kf-input',
    rows: 1,
    maxlength: maxLength,
    placeholder: '请输入您的问题…',
    'aria-label': '输入消息',
    'aria-describedby': 'kf-composer-hint',
    enterkeyhint: 'send',
  });
  const counter = h('span', { class: 'kf-counter', 'aria-hidden': 'true', text: `0/${maxLength}` });
  const send = h('button', { type: 'submit', class: 'kf-send', 'aria-label': '发送消息', disabled: true }, icon(ICONS.send, { size: 18 }), h('span', { text: '发送' }));
  const hint = h('span', { class: 'kf-hint', id: 'kf-composer-hint', text: 'Enter 发送，Shift + Enter 换行' });
  const form = h(
    'form',
    { class: 'kf-composer', 'aria-label': '发送消息' },
    h('div', { class: 'kf-composer__row' }, input, send),
    h('div', { class: 'kf-composer__bar' }, hint, counter)
  );

  const refresh = () => {
    if (input.value.length > maxLength) input.value = input.value.slice(0, maxLength);
    const length = input.value.length;
    counter.textContent = `${length}/${maxLength}`;
    counter.classList.toggle('is-full', length >= maxLength);
    send.disabled = input.value.trim() === '';
    input.style.height = 'auto';
    // scrollHeight excludes the 1px borders of this border-box textarea.
    input.style.height = `${Math.min(input.scrollHeight + 2, 120)}px`;
  };

  const submit = () => {
    const text = input.value.trim();
    if (!text) return;
    onSend(text.slice(0, maxLength));
    input.value = '';
    refresh();
  };

  input.addEventListener('compositionstart', () => {
    composing = true;
  });
  input.addEventListener('compositionend', () => {
    composing = false;
    refresh();
  });
  input.addEventListener('input', refresh);
  input.addEventListener('keydown', (event) => {
    if (event.key !== 'Enter' || event.shiftKey || event.altKey || event.ctrlKey || event.metaKey) return;
    if (isImeEnter(event, composing)) return;
    event.preventDefault();
    submit();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit();
    input.focus();
  });

  return {
    el: form,
    input,
    focus: () => input.focus(),
    setText(text) {
      input.value = String(text).slice(0, maxLength);
      refresh();
    },
  };
}
