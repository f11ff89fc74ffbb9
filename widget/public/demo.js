// Demo page: service buttons open the chat and (optionally) start a topic.
document.addEventListener('click', (event) => {
  const button = event.target.closest('[data-chat]');
  if (!button || !window.KefuWidget) return;
  window.KefuWidget.open();
  const text = button.getAttribute('data-chat');
  if (text) window.KefuWidget.send(text);
});
