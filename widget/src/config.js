// Widget configuration from the <script> tag's data-* attributes and/or
// window.KefuWidget.init({...}). Unknown keys are ignored.

export const DEFAULTS = {
  server: 'http://127.0.0.1:5005',
  socketPath: '/socket.io',
  transports: ['polling', 'websocket'],
  title: '在线客服',
  subtitle: '',
  botName: '智能助手',
  color: '#1f6feb',
  greeting: '您好，我是智能客服助手，请问有什么可以帮您？',
  customerToken: '',
  historyUrl: '',
  open: false,
  maxLength: 500,
  zIndex: 2147483000,
};

const ATTRS = {
  server: 'data-server',
  socketPath: 'data-socket-path',
  transports: 'data-transports',
  title: 'data-title',
  subtitle: 'data-subtitle',
  botName: 'data-bot-name',
  color: 'data-color',
  greeting: 'data-greeting',
  customerToken: 'data-customer-token',
  historyUrl: 'data-history-url',
  open: 'data-open',
};

export function fromScript(script) {
  const options = {};
  if (!script) return options;
  for (const [key, attr] of Object.entries(ATTRS)) {
    if (script.hasAttribute(attr)) options[key] = script.getAttribute(attr);
  }
  // The history API lives next to the static bundle: <mount>/static/kefu-widget.js -> <mount>/api/history
  if (!options.historyUrl && script.src) {
    try {
      options.historyUrl = new URL('../api/history', script.src).href;
    } catch (_) {
      /* keep empty: history is optional */
    }
  }
  return options;
}

export function normalize(options) {
  const cfg = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    if (options[key] !== undefined && options[key] !== null) cfg[key] = options[key];
  }
  cfg.server = String(cfg.server).replace(/\/+$/, '');
  if (typeof cfg.transports === 'string') {
    cfg.transports = cfg.transports.split(/[\s,]+/).filter((t) => t === 'polling' || t === 'websocket');
  }
  if (!Array.isArray(cfg.transports) || cfg.transports.length === 0) cfg.transports = DEFAULTS.transports;
  cfg.open = cfg.open === true || cfg.open === 'true' || cfg.open === '';
  cfg.maxLength = Math.max(1, Number(cfg.maxLength) || DEFAULTS.maxLength);
  for (const key of ['title', 'subtitle', 'botName', 'greeting', 'customerToken', 'historyUrl']) {
    cfg[key] = String(cfg[key] ?? '');
  }
  return cfg;
}
