"""Embedding: the one-<script> snippet with data-* config, and KefuWidget.init()."""

import re

from playwright.sync_api import expect

from widget_driver import Chat


def _host_page(context, host_site, name, html):
    """Opens `html` served by another origin than the widget app, like a shop's site."""
    page = context.new_page()
    page.goto(host_site.page(name, html))
    return page


def test_script_tag_config(context, host_site, widget_server, rasa_url, fake_rasa):
    html = f"""<!doctype html><html><head><meta charset="utf-8"></head><body><h1>商城</h1>
      <script src="{widget_server}/static/kefu-widget.js" data-server="{rasa_url}" data-title="测试店铺客服"
        data-color="#ffd400" data-bot-name="小暖" data-greeting="欢迎光临，有什么可以帮您？"
        data-customer-token="signed.token.value"></script></body></html>"""
    sockets = []
    context.on("page", lambda p: p.on("websocket", lambda ws: sockets.append(ws.url)))
    page = _host_page(context, host_site, "shop.html", html)
    chat = Chat(page, widget_server)
    expect(chat.launcher).to_have_attribute("aria-label", "打开测试店铺客服")
    chat.open()
    expect(page.locator(".kf-title")).to_have_text("测试店铺客服")
    chat.expect_bot("欢迎光临，有什么可以帮您？")
    expect(page.locator(".kf-row--bot .kf-name").first).to_have_text("小暖")
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    sent = fake_rasa.received(chat.session_id())
    assert sent[0]["customData"]["customer_token"] == "signed.token.value"
    assert any("/socket.io/" in url and "transport=websocket" in url for url in sockets)  # upgraded
    # A light brand colour gets dark text so the customer's bubbles stay readable.
    colour = chat.user_bubbles().first.evaluate("(el) => getComputedStyle(el).color")
    assert colour == "rgb(17, 24, 39)"
    page.mouse.move(0, 0)  # not hovered: the plain brand colour
    expect(page.locator(".kf-launcher")).to_have_css("background-color", "rgb(255, 212, 0)")
    # History is read cross-origin from the widget app (CORS) after a reload.
    chat.reload()
    expect(page.locator(".kf-divider")).to_have_text("以上为历史消息")
    expect(chat.user_bubbles()).to_have_text(["你好"])


def test_init_api_on_a_gbk_page(context, host_site, widget_server, rasa_url, fake_rasa):
    # Many older Chinese sites are GBK-encoded: the bundle must not depend on the page charset.
    html = f"""<!doctype html><html><head><meta charset="gbk"></head><body>
      <script src="{widget_server}/static/kefu-widget.js" data-manual="true"></script>
      <script>window.KefuWidget.init({{ server: "{rasa_url}", title: "API 初始化", open: true, greeting: "",
                                        transports: ["polling"] }});</script>
      </body></html>"""
    page = context.new_page()
    sockets = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(host_site.page("init.html", html, encoding="gbk"))
    chat = Chat(page, widget_server)
    expect(chat.panel).to_be_visible()
    chat.wait_online()
    expect(page.locator(".kf-title")).to_have_text("API 初始化")
    expect(chat.bot_bubbles()).to_have_count(0)  # no greeting configured
    expect(chat.input).to_have_attribute("placeholder", "请输入您的问题…")
    page.evaluate("window.KefuWidget.send('你好')")
    chat.expect_bot("我是暖风家电智能助手")
    assert sockets == []  # long-polling only, as configured
    page.evaluate("window.KefuWidget.close()")
    expect(chat.panel).to_be_hidden()
    assert page.locator("[data-kefu-widget]").count() == 1


def test_demo_page(context, widget_server, rasa_url, fake_rasa):
    page = context.new_page()
    page.goto(widget_server.rsplit("/widget", 1)[0] + "/")  # / redirects to the demo
    assert page.url.endswith("/widget/demo")
    expect(page).to_have_title(re.compile("暖风家电"))
    script = page.locator("script[data-server]")
    expect(script).to_have_attribute("data-server", rasa_url)
    expect(script).to_have_attribute("data-title", "暖风家电在线客服")
    # The service shortcuts open the chat on that topic.
    page.locator(".service", has_text="在线报修").click()
    chat = Chat(page, widget_server)
    expect(chat.user_bubbles().last).to_have_text("我要报修")
    chat.expect_bot("收到：我要报修")
