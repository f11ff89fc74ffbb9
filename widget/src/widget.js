// Wires storage, connection, transcript, composer and view into one widget.
import { Connection } from './connection.js';
import { Outbox } from './outbox.js';
import { createStore } from './store.js';
import { uuid, isUuid } from './ids.js';
import { fetchHistory } from './history.js';
import { Transcript, customOf, starsText } from './render/transcript.js';
import { createComposer } from './composer.js';
import { createView } from './view.js';

// Who the page says the customer is: the customer id in the signed token's payload
// (itsdangerous: base64url JSON before the first "."), '' when signed out. Only used to
// notice a change; the server verifies the token on every message.
function identityOf(token) {
  if (!token) return '';
  try {
    const part = String(token).split('.')[0].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
    return claims && claims.cid != null ? `customer:${claims.cid}` : 'signed';
  } catch (e) {
    return 'signed';
  }
}

export function createWidget(config) {
  const store = createStore(`kefu:${config.server}`);
  let sessionId = store.get('session_id');
  const identity = identityOf(config.customerToken);
  if (isUuid(sessionId) && (store.get('identity') || '') !== identity) {
    // Signed out, or another customer signed in: a new conversation, so nobody continues
    // (or reads the history of) the previous person's chat.
    sessionId = null;
    store.set('outbox', []);
  }
  if (!isUuid(sessionId)) store.set('history_token', null); // a token belongs to one conversation
  store.set('identity', identity);
  if (!isUuid(sessionId)) {
    sessionId = uuid();
    store.set('session_id', sessionId);
  }
  const outbox = new Outbox(store);
  let started = false;
  let hadHistory = false;
  let unread = 0;
  let tabs = null;

  const send = (message, display) => {
    const item = { id: uuid(), message, display: display || message, created_at: Date.now() / 1000 };
    outbox.add(item);
    transcript.addUser({ id: item.id, text: item.display, time: item.created_at, pending: true });
    if (tabs) tabs.postMessage({ type: 'user', item });
    start();
    connection.flush();
  };

  const transcript = new Transcript({
    botName: config.botName,
    onQuickReply: (payload, title) => send(payload, title),
    onSurvey: (score, comment) => {
      const message = `/inform${JSON.stringify({ satisfaction_score: score, satisfaction_comment: comment })}`;
      send(message, comment ? `${starsText(score)} ${comment}` : starsText(score));
    },
  });
  const composer = createComposer({ maxLength: config.maxLength, onSend: (text) => send(text) });
  const view = createView(config, {
    transcript,
    composer,
    onOpen: () => {
      unread = 0;
      start();
    },
    onClose: () => {},
  });

  const connection = new Connection({
    server: config.server,
    path: config.socketPath,
    transports: config.transports,
    sessionId,
    outbox,
    customData: config.customerToken ? { customer_token: config.customerToken } : {},
    handlers: {
      status(status, previous) {
        view.setConnection(status);
        if (status === 'reconnecting') view.showBanner('连接已断开，正在重新连接…', 'warn');
        else if (status === 'online' && previous === 'reconnecting') view.showBanner('已重新连接', 'ok', 2500);
        else if (status === 'online') view.hideBanner();
        if (status !== 'online') transcript.hideTyping();
      },
      bot(payload) {
        onBot(payload, Date.now());
      },
      emitted() {
        transcript.showTyping();
      },
      delivered(item) {
        transcript.setPending(item.id, false);
        if (tabs) tabs.postMessage({ type: 'delivered', id: item.id });
      },
      session(id) {
        sessionId = id;
        store.set('session_id', id);
        store.set('history_token', null);
      },
      historyToken(token) {
        store.set('history_token', token); // read the conversation's history after a reload
      },
    },
  });

  function onBot(payload, time, { live = true, answered = false } = {}) {
    const custom = customOf(payload);
    if (custom && custom.type === 'agent_joined') view.setAgent(String(custom.agent_name || ''));
    if (custom && custom.type === 'agent_left') view.setAgent('');
    if (live) transcript.hideTyping();
    const row = transcript.addBot(payload, { time, answered });
    if (row && live && !view.isOpen) view.setUnread(++unread);
  }

  // Messages typed in another tab of the same session show up here too.
  function listenToOtherTabs() {
    if (typeof BroadcastChannel !== 'function') return;
    tabs = new BroadcastChannel(`kefu:${sessionId}`);
    tabs.onmessage = ({ data }) => {
      if (!data || typeof data !== 'object') return;
      if (data.type === 'user' && data.item && !transcript.hasUser(data.item.id)) {
        transcript.addUser({ id: data.item.id, text: String(data.item.display ?? ''), time: data.item.created_at, pending: true });
      } else if (data.type === 'delivered') {
        transcript.setPending(String(data.id), false);
      }
    };
  }

  function renderHistory(messages) {
    const delivered = new Set();
    // A survey counts as answered once a later user message answers it.
    const lastAnswer = messages.map((m) => m.role === 'user' && !!m.survey_answer).lastIndexOf(true);
    messages.forEach((m, index) => {
      if (m.role === 'user') {
        if (m.client_message_id) delivered.add(m.client_message_id);
        transcript.addUser({ id: m.client_message_id || null, text: String(m.text ?? ''), time: m.timestamp });
      } else if (m.role === 'bot' && m.payload) {
        onBot(m.payload, m.timestamp, { live: false, answered: index < lastAnswer });
      }
    });
    // The server already has these (acked just before a reload): never resend.
    for (const id of delivered) outbox.remove(id);
    if (messages.length) transcript.addDivider('以上为历史消息');
  }

  async function boot() {
    const messages = await fetchHistory(config.historyUrl, sessionId, store.get('history_token'));
    hadHistory = messages.length > 0;
    if (config.greeting) transcript.addBot({ text: config.greeting }, { time: messages.length ? messages[0].timestamp : Date.now() });
    renderHistory(messages);
    for (const item of outbox.all()) if (!item.opened) transcript.addUser({ id: item.id, text: item.display, time: item.created_at, pending: true });
    listenToOtherTabs();
    // Returning visitors (or pending messages) reconnect right away; new
    // visitors only when they open the chat, to spare idle connections.
    if (store.get('engaged') || outbox.first()) start();
  }

  function start() {
    if (started) return;
    started = true;
    store.set('engaged', true);
    // After the history, so live messages never land above older ones.
    ready.then(() => {
      connection.start();
      greetSignedIn();
    });
  }

  // A signed-in customer's new conversation opens with the bot's personal greeting (their
  // open tickets, orders, reminders): the widget says "你好" for them once, without a bubble.
  // The server decides what to show from the verified token, never from this flag.
  function greetSignedIn() {
    if (!config.customerToken || hadHistory || outbox.first() || store.get('greeted') === sessionId) return;
    store.set('greeted', sessionId);
    outbox.add({ id: uuid(), message: '/greet', display: '你好', opened: true, created_at: Date.now() / 1000 });
    connection.flush();
  }

  view.mount();
  const ready = boot();
  if (config.open) view.open({ focus: false });

  return {
    ready,
    open: () => view.open(),
    close: () => view.close(),
    send: (text) => {
      const message = String(text ?? '').trim().slice(0, config.maxLength);
      if (message) send(message);
    },
    get sessionId() {
      return sessionId;
    },
    destroy() {
      connection.stop();
      if (tabs) tabs.close();
      view.unmount();
    },
  };
}
