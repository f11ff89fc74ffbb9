"""Composer: IME composition, Shift+Enter, length limit, empty messages."""

from playwright.sync_api import expect

DISPATCH = """([type, init]) => {
  const input = document.querySelector('#kefu-widget').shadowRoot.querySelector('.kf-input');
  const Ctor = type.startsWith('composition') ? CompositionEvent : KeyboardEvent;
  input.dispatchEvent(new Ctor(type, { bubbles: true, cancelable: true, composed: true, ...init }));
}"""


def fire(page, event_type, **init):
    page.evaluate(DISPATCH, [event_type, init])


def test_enter_while_composing_pinyin_does_not_send(chat, fake_rasa):
    page = chat.page
    chat.input.focus()
    fire(page, "compositionstart", data="")
    chat.input.fill("nihao")  # the pinyin being composed
    # Enter picks the IME candidate: every signal browsers use must hold it back.
    fire(page, "keydown", key="Enter", code="Enter", isComposing=True)
    fire(page, "keydown", key="Enter", code="Enter", keyCode=229)
    fire(page, "keydown", key="Enter", code="Enter")  # between compositionstart/end
    chat.input.fill("你好")
    fire(page, "compositionend", data="你好")
    # Safari sends the candidate-confirming Enter after compositionend, as keyCode 229.
    fire(page, "keydown", key="Enter", code="Enter", keyCode=229)

    page.wait_for_timeout(600)
    expect(chat.user_bubbles()).to_have_count(0)
    assert fake_rasa.received(chat.session_id()) == []
    expect(chat.input).to_have_value("你好")

    chat.input.press("Enter")  # a real Enter after the composition sends
    expect(chat.user_bubbles()).to_have_text(["你好"])
    chat.expect_bot("我是暖风家电智能助手")
    assert fake_rasa.received_texts(chat.session_id()) == ["你好"]


def test_shift_enter_inserts_a_new_line(chat, fake_rasa):
    chat.input.fill("第一行")
    chat.input.press("Shift+Enter")
    chat.input.type("第二行")
    expect(chat.input).to_have_value("第一行\n第二行")
    expect(chat.user_bubbles()).to_have_count(0)
    chat.input.press("Enter")
    expect(chat.user_bubbles().last).to_have_text("第一行\n第二行")
    chat.expect_bot("收到：第一行")
    assert fake_rasa.received_texts(chat.session_id()) == ["第一行\n第二行"]


def test_length_limit_and_counter(chat, fake_rasa):
    counter = chat.page.locator(".kf-counter")
    expect(counter).to_have_text("0/500")
    chat.input.fill("好" * 600)
    expect(chat.input).to_have_value("好" * 500)
    expect(counter).to_have_text("500/500")
    expect(counter).to_have_class("kf-counter is-full")
    chat.input.press("Enter")
    expect(counter).to_have_text("0/500")
    chat.expect_bot("收到：好")
    assert fake_rasa.received_texts(chat.session_id()) == ["好" * 500]


def test_empty_and_whitespace_messages_are_not_sent(chat, fake_rasa):
    send = chat.page.locator(".kf-send")
    expect(send).to_be_disabled()
    chat.input.fill("  \n \u3000 ")
    expect(send).to_be_disabled()
    chat.input.press("Enter")
    chat.page.wait_for_timeout(500)
    expect(chat.user_bubbles()).to_have_count(0)
    assert fake_rasa.received(chat.session_id()) == []
    chat.input.fill("  在吗  ")
    expect(send).to_be_enabled()
    send.click()
    expect(chat.user_bubbles()).to_have_text(["在吗"])
