// Entry point: <script src=".../kefu-widget.js" data-server="..."> auto-starts;
// pages can also call window.KefuWidget.init({...}) themselves.
import { fromScript, normalize } from './config.js';
import { createWidget } from './widget.js';

const script = document.currentScript;
const scriptOptions = fromScript(script);
let instance = null;

function init(options = {}) {
  if (instance) instance.destroy();
  const config = normalize({ ...scriptOptions, ...options });
  const start = () => {
    instance = createWidget(config);
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start, { once: true });
  return api;
}

const api = {
  init,
  open: () => instance && instance.open(),
  close: () => instance && instance.close(),
  send: (text) => instance && instance.send(text),
  destroy: () => {
    if (instance) instance.destroy();
    instance = null;
  },
  get sessionId() {
    return instance ? instance.sessionId : null;
  },
};

window.KefuWidget = api;

// data-manual="true" leaves the start to an explicit KefuWidget.init(...).
if (script && script.getAttribute('data-manual') !== 'true') init();
