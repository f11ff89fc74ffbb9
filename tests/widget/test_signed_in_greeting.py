"""Issue 14: a signed-in customer's new conversation opens with the bot's personal greeting.

The widget says "你好" (/greet) once for them, without a bubble; the actions decide from
the verified token what to show (tests/actions/test_archive_actions.py). Anonymous
visitors get no automatic message, and a returning conversation is not greeted again."""

from playwright.sync_api import expect

from kefu.tokens import sign_customer_token
from widget_driver import Chat

KEY = "widget-greeting-test-key"


def _page(context, host_site, widget_server, rasa_url, name, token):
    attr = f'data-customer-token="{token}"' if token else ""
    html = f"""<!doctype html><html><head><meta charset="utf-8"></head><body>
      <script src="{widget_server}/static/kefu-widget.js" data-server="{rasa_url}" {attr}></script></body></html>"""
    page = context.new_page()
    page.goto(host_site.page(name, html))
    chat = Chat(page, widget_server)
    chat.open()
    return chat


def test_signed_in_customer_is_greeted_once(context, host_site, widget_server, rasa_url, fake_rasa):
    token = sign_customer_token(9, "13800000009", key=KEY)
    chat = _page(context, host_site, widget_server, rasa_url, "signed-greet.html", token)
    chat.expect_bot("您好，我是暖风家电智能助手")  # the fake Rasa's answer to /greet
    session = chat.session_id()
    received = fake_rasa.received(session)
    assert [r["message"] for r in received] == ["/greet"]
    assert received[0]["customData"]["customer_token"] == token
    assert received[0]["customData"]["display_text"] == "你好"
    expect(chat.user_bubbles()).to_have_count(0)  # no bubble the customer did not type
    chat.page.close()
    again = _page(context, host_site, widget_server, rasa_url, "signed-greet-again.html", token)
    assert again.session_id() == session
    again.send("查询工单")
    again.expect_bot("收到：查询工单")
    assert fake_rasa.received_texts(session) == ["/greet", "查询工单"]  # not greeted twice
    again.reload()  # the history shows what the customer wrote, not the automatic greeting
    expect(again.page.locator(".kf-divider")).to_have_text("以上为历史消息")
    expect(again.user_bubbles()).to_have_text(["查询工单"])


def test_anonymous_visitor_gets_no_automatic_message(context, host_site, widget_server, rasa_url, fake_rasa):
    chat = _page(context, host_site, widget_server, rasa_url, "anon-greet.html", "")
    chat.send("你好")
    chat.expect_bot("您好，我是暖风家电智能助手")
    assert fake_rasa.received_texts(chat.session_id()) == ["你好"]
