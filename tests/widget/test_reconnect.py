"""Server drops: the UI says so, and messages typed meanwhile arrive exactly once."""

from playwright.sync_api import expect

RECONNECT_MS = 20_000


def test_message_typed_while_server_is_down_is_delivered_once(chat, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    session = chat.session_id()

    fake_rasa.stop()
    expect(chat.banner).to_have_text("连接已断开，正在重新连接…", timeout=RECONNECT_MS)
    expect(chat.status).to_have_attribute("data-state", "reconnecting")

    chat.send("断线期间的消息")
    pending = chat.page.locator(".kf-row--user.is-pending")
    expect(pending).to_have_count(1)
    expect(pending.locator(".kf-status")).to_have_text("等待发送")
    assert [item["message"] for item in chat.outbox()] == ["断线期间的消息"]

    fake_rasa.start()
    expect(chat.banner).to_have_text("已重新连接", timeout=RECONNECT_MS)
    chat.expect_bot("收到：断线期间的消息")
    expect(pending).to_have_count(0)
    assert chat.outbox() == []
    chat.page.wait_for_timeout(1500)  # time for any duplicate to show up
    assert fake_rasa.received_texts(session) == ["你好", "断线期间的消息"]
    expect(chat.banner).to_be_hidden(timeout=5000)


def test_outbox_survives_a_reload_while_offline(chat, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    session = chat.session_id()

    fake_rasa.stop()
    expect(chat.banner).to_be_visible(timeout=RECONNECT_MS)
    chat.send("第一条离线消息")
    chat.send("第二条离线消息")
    chat.reload(open_panel=False)
    chat.launcher.click()
    expect(chat.page.locator(".kf-row--user.is-pending .kf-bubble")).to_have_text(["第一条离线消息", "第二条离线消息"])

    fake_rasa.start()
    chat.expect_bot("收到：第二条离线消息")
    chat.page.wait_for_timeout(1500)
    assert fake_rasa.received_texts(session) == ["你好", "第一条离线消息", "第二条离线消息"]
    expect(chat.page.locator(".kf-row--user.is-pending")).to_have_count(0)


def test_message_lost_with_the_connection_is_sent_again(chat, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    # The fake drops this message together with the connection, before acking it.
    chat.send("[丢包]请帮我查一下工单")
    chat.expect_bot("收到：[丢包]请帮我查一下工单")
    expect(chat.page.locator(".kf-row--user.is-pending")).to_have_count(0)
    chat.page.wait_for_timeout(1000)
    assert fake_rasa.received_texts(chat.session_id()) == ["你好", "[丢包]请帮我查一下工单"]
    assert chat.outbox() == []
