// The widget shell in a Shadow DOM: launcher, panel, header, banner.
import { h, icon, ICONS } from './dom.js';
import { themeFrom } from './theme.js';
import css from './styles.css';

const STATUS_TEXT = {
  idle: '在线',
  connecting: '正在连接…',
  online: '在线',
  reconnecting: '网络中断，正在重连…',
};

export function createView(config, { transcript, composer, onOpen, onClose }) {
  const host = document.createElement('div');
  host.id = 'kefu-widget';
  host.setAttribute('data-kefu-widget', '');
  host.style.setProperty('--kf-z', String(Math.trunc(Number(config.zIndex)) || 2147483000));
  const shadow = host.attachShadow({ mode: 'open' });
  shadow.append(h('style', { text: css }));

  const badge = h('span', { class: 'kf-badge', hidden: true, 'aria-hidden': 'true' });
  const launcher = h(
    'button',
    { type: 'button', class: 'kf-launcher', 'aria-label': `打开${config.title}`, 'aria-expanded': 'false', 'aria-controls': 'kf-panel', 'aria-haspopup': 'dialog' },
    h('span', { class: 'kf-launcher__icon kf-launcher__icon--chat' }, icon(ICONS.chat, { size: 28 })),
    h('span', { class: 'kf-launcher__icon kf-launcher__icon--close' }, icon(ICONS.close, { size: 26 })),
    badge
  );

  const statusText = h('span', { class: 'kf-header__status-text', text: STATUS_TEXT.idle });
  const statusLine = h('p', { class: 'kf-header__status', 'data-state': 'idle' }, h('span', { class: 'kf-dot', 'aria-hidden': 'true' }), statusText);
  const closeBtn = h('button', { type: 'button', class: 'kf-close', 'aria-label': '关闭对话窗口' }, icon(ICONS.close, { size: 20 }));
  const banner = h('div', { class: 'kf-banner', role: 'status', hidden: true });
  const header = h(
    'header',
    { class: 'kf-header' },
    h('div', { class: 'kf-header__avatar', 'aria-hidden': 'true' }, icon(ICONS.headset, { size: 22 })),
    h('div', { class: 'kf-header__text' }, h('h2', { class: 'kf-title', id: 'kf-title', text: config.title }), statusLine),
    closeBtn
  );
  const panel = h(
    'section',
    { class: 'kf-panel', id: 'kf-panel', role: 'dialog', 'aria-labelledby': 'kf-title', hidden: true },
    header,
    banner,
    transcript.el,
    composer.el
  );
  const root = h('div', { class: 'kf-root', 'data-open': 'false' }, panel, launcher);
  for (const [name, value] of Object.entries(themeFrom(config.color))) root.style.setProperty(name, value);
  shadow.append(root);

  let open = false;
  let bannerTimer = null;
  let agentName = '';
  let connection = 'idle';

  const renderStatus = () => {
    const text = connection === 'online' && agentName ? `人工客服 ${agentName} 正在为您服务` : STATUS_TEXT[connection] || STATUS_TEXT.idle;
    statusText.textContent = connection === 'online' && !agentName && config.subtitle ? `${text} · ${config.subtitle}` : text;
    statusLine.setAttribute('data-state', connection);
  };

  const view = {
    host,
    shadow,
    root,
    panel,
    launcher,
    get isOpen() {
      return open;
    },
    mount() {
      (document.body || document.documentElement).append(host);
    },
    unmount() {
      host.remove();
    },
    open({ focus = true } = {}) {
      if (open) return;
      open = true;
      panel.hidden = false;
      root.setAttribute('data-open', 'true');
      launcher.setAttribute('aria-expanded', 'true');
      launcher.setAttribute('aria-label', `关闭${config.title}`);
      view.setUnread(0);
      transcript.scrollToEnd();
      if (focus) composer.focus();
      onOpen();
    },
    close({ focus = true } = {}) {
      if (!open) return;
      open = false;
      panel.hidden = true;
      root.setAttribute('data-open', 'false');
      launcher.setAttribute('aria-expanded', 'false');
      launcher.setAttribute('aria-label', `打开${config.title}`);
      if (focus) launcher.focus();
      onClose();
    },
    setUnread(count) {
      badge.hidden = count <= 0;
      badge.textContent = count > 99 ? '99+' : String(count);
      launcher.setAttribute('aria-label', count > 0 ? `打开${config.title}，${count} 条未读消息` : `${open ? '关闭' : '打开'}${config.title}`);
    },
    setConnection(state) {
      connection = state;
      renderStatus();
    },
    setAgent(name) {
      agentName = name || '';
      renderStatus();
    },
    showBanner(text, tone, ms = 0) {
      clearTimeout(bannerTimer);
      banner.textContent = text;
      banner.setAttribute('data-tone', tone);
      banner.hidden = false;
      if (ms) bannerTimer = setTimeout(() => view.hideBanner(), ms);
    },
    hideBanner() {
      clearTimeout(bannerTimer);
      banner.hidden = true;
    },
  };

  launcher.addEventListener('click', () => (open ? view.close() : view.open()));
  closeBtn.addEventListener('click', () => view.close());
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && !event.isComposing) {
      event.stopPropagation();
      view.close();
    }
  });
  return view;
}
