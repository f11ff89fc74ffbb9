"""The session survives reloads and is shared by tabs; history comes from the tracker."""

from playwright.sync_api import expect

from widget_driver import Chat


def test_reload_keeps_session_and_history(chat, fake_rasa):
    page = chat.page
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    page.locator(".kf-chip", has_text="我要报修").click()
    expect(page.locator(".kf-ticket")).to_be_visible()
    session = chat.session_id()

    chat.reload()
    assert chat.session_id() == session
    expect(page.locator(".kf-divider")).to_have_text("以上为历史消息")
    # Button payloads come back as the titles the customer saw.
    expect(chat.user_bubbles()).to_have_text(["你好", "我要报修"])
    chat.expect_bot("我是暖风家电智能助手")
    chat.expect_bot("已为您登记报修")
    expect(page.locator(".kf-ticket .kf-mono")).to_have_text("BX20261122-0042")
    # Old quick replies stay visible but answered.
    expect(page.locator(".kf-chip").first).to_be_disabled()
    # Reloading sends nothing again.
    page.wait_for_timeout(500)
    assert fake_rasa.received_texts(session) == ["你好", "/report_repair"]

    chat.send("还在吗")
    chat.expect_bot("收到：还在吗")


def test_second_tab_shares_the_session(chat, context, widget_server, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    other = Chat.open_demo(context.new_page(), widget_server)
    assert other.session_id() == chat.session_id()
    other.expect_bot("我是暖风家电智能助手")  # from the history

    other.send("第二个标签页")
    other.expect_bot("收到：第二个标签页")
    # The first tab sees both the customer's message and the reply.
    expect(chat.user_bubbles().last).to_have_text("第二个标签页")
    chat.expect_bot("收到：第二个标签页")
    assert fake_rasa.received_texts(chat.session_id()).count("第二个标签页") == 1


def test_new_visitor_does_not_connect_until_the_chat_is_opened(context, widget_server):
    page = context.new_page()
    chat = Chat.open_demo(page, widget_server, open_panel=False)
    page.wait_for_timeout(800)
    expect(chat.status).to_have_attribute("data-state", "idle")
    chat.open()  # connects now
    expect(chat.status).to_have_attribute("data-state", "online")
