// Rasa socket.io channel client: session handshake, reconnect with backoff
// (socket.io's Manager), and delivery of the persisted outbox.
//
// Delivery rule: an outbox item is removed only after the server acknowledges
// the `user_uttered` event (python-socketio acks automatically once Rasa has
// handled the message). If the socket drops first, the item stays and is sent
// again after the next `session_confirm`; one flush runs at a time, across
// tabs too (Web Locks), so nothing is sent twice by this client.

import { io } from 'socket.io-client';

// A connected socket that never acks (a server without ack support) must not
// block the outbox forever. Kefu's channel acks once Rasa has handled the
// message, which takes 30-60 s for a busy server (many customers at once, an
// action server restarting): within this grace the item stays in the outbox, so
// a socket that drops before the ack delivers it again after reconnecting (the
// channel handles it once and sends its reply again if the reply was missed).
const ACK_GRACE_MS = 180000;

function withLock(name, fn) {
  const locks = globalThis.navigator && navigator.locks;
  return locks && typeof locks.request === 'function' ? locks.request(name, fn) : fn();
}

export class Connection {
  constructor({ server, path, transports, sessionId, outbox, customData, handlers }) {
    this.server = server;
    this.path = path;
    this.transports = transports;
    this.sessionId = sessionId;
    this.outbox = outbox;
    this.customData = customData || {};
    this.on = handlers; // { status, bot, emitted, delivered, session }
    this.status = 'idle';
    this.ready = false;
    this.everOnline = false;
    this.flushing = null;
  }

  start() {
    if (this.socket) return;
    this.setStatus('connecting');
    const socket = io(this.server, {
      path: this.path,
      transports: this.transports,
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 8000,
      randomizationFactor: 0.4,
      timeout: 10000,
      // Behind nginx with several Rasa instances (docs/deploy.md) the conversation id keeps
      // this chat on one instance (sticky hash on ?kefu_session=).
      query: { kefu_session: this.sessionId || '' },
    });
    this.socket = socket;

    socket.on('connect', () => {
      this.ready = false;
      socket.emit('session_request', { session_id: this.sessionId });
    });
    socket.on('session_confirm', (data) => {
      const confirmed = typeof data === 'string' ? data : data && data.session_id;
      if (confirmed && confirmed !== this.sessionId) {
        this.sessionId = confirmed;
        this.on.session(confirmed);
      }
      if (confirmed) socket.io.opts.query = { kefu_session: confirmed }; // reconnects stay sticky
      this.ready = true;
      this.everOnline = true;
      this.setStatus('online');
      this.flush();
    });
    socket.on('history_token', (data) => {
      if (data && data.session_id === this.sessionId && typeof data.token === 'string' && this.on.historyToken) {
        this.on.historyToken(data.token);
      }
    });
    socket.on('bot_uttered', (payload) => this.on.bot(payload || {}));
    socket.on('disconnect', (reason) => {
      this.ready = false;
      this.setStatus(this.everOnline ? 'reconnecting' : 'connecting');
      // The server closed us on purpose: socket.io does not retry that case by itself.
      if (reason === 'io server disconnect') socket.connect();
    });
    socket.on('connect_error', () => {
      this.setStatus(this.everOnline ? 'reconnecting' : 'connecting');
    });
  }

  stop() {
    if (this.socket) this.socket.disconnect();
    this.socket = null;
    this.ready = false;
  }

  setStatus(status) {
    if (status === this.status) return;
    const previous = this.status;
    this.status = status;
    this.on.status(status, previous);
  }

  // Sends every queued item in order; safe to call as often as you like.
  flush() {
    if (!this.ready) return Promise.resolve();
    if (this.flushing) {
      this.flushAgain = true;
      return this.flushing;
    }
    this.flushing = withLock(`kefu-outbox:${this.sessionId}`, async () => {
      let item;
      // Re-read storage each round: another tab may have sent items meanwhile.
      while (this.ready && (item = this.outbox.first())) {
        const delivered = await this.sendOne(item);
        if (!delivered) break;
        this.outbox.remove(item.id);
        this.on.delivered(item);
      }
    }).finally(() => {
      this.flushing = null;
      if (this.flushAgain) {
        this.flushAgain = false;
        this.flush();
      }
    });
    return this.flushing;
  }

  retryLater(seconds) {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.flush(), Math.min(seconds, 3600) * 1000);
  }

  sendOne(item) {
    const socket = this.socket;
    if (!socket || !socket.connected) return Promise.resolve(false);
    const customData = { ...this.customData, client_message_id: item.id };
    if (item.display && item.display !== item.message) customData.display_text = item.display;
    if (item.opened) customData.opened_chat = '1'; // the automatic greeting: not shown as a customer message
    const payload = { message: item.message, session_id: this.sessionId, customData };
    let connectedSinceEmit = true;
    const markDrop = () => {
      connectedSinceEmit = false;
    };
    socket.once('disconnect', markDrop);
    const ack = socket.emitWithAck('user_uttered', payload).then(
      (reply) => {
        if (reply && reply.rate_limited) {
          // Rate-limited: the server did not take the message. Keep it and send it
          // again once the window allows (the server has told the customer why).
          this.retryLater(Number(reply.retry_after) || 5);
          return false;
        }
        return true;
      },
      () => false // disconnected before the ack: keep the item for the next flush
    );
    this.on.emitted(item);
    let timer;
    const grace = new Promise((resolve) => {
      timer = setTimeout(() => resolve(connectedSinceEmit), ACK_GRACE_MS);
    });
    return Promise.race([ack, grace]).finally(() => {
      clearTimeout(timer);
      socket.off('disconnect', markDrop);
    });
  }
}
