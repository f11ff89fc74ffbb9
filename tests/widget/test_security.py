"""No party can inject HTML or script, and the host page's CSS cannot break the widget."""

from playwright.sync_api import expect

XSS = "<img src=x onerror=alert(1)>"

# Elements/attributes that must never appear inside the widget.
SCAN = """() => {
  const root = document.querySelector('#kefu-widget').shadowRoot;
  const all = [...root.querySelectorAll('*')];
  return {
    tags: all.filter((e) => ['IMG', 'SCRIPT', 'B', 'IFRAME', 'OBJECT'].includes(e.tagName)).map((e) => e.outerHTML),
    handlers: all.filter((e) => [...e.attributes].some((a) => a.name.startsWith('on'))).map((e) => e.outerHTML),
    badLinks: [...root.querySelectorAll('a')].map((a) => a.getAttribute('href')).filter((h) => !/^https?:/.test(h)),
    svgOnload: all.filter((e) => e.tagName.toLowerCase() === 'svg' && e.closest('.kf-bubble, .kf-notice')).length,
  };
}"""


def test_html_from_customer_bot_and_agent_is_shown_as_text(chat, fake_rasa):
    page = chat.page
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    chat.send(XSS)
    expect(chat.user_bubbles().last).to_have_text(XSS)
    chat.expect_bot(f"收到：{XSS}")

    session = chat.session_id()
    fake_rasa.push(session, {
        "text": "<script>alert(2)</script> 详情 javascript:alert(3) http://x.example/\"><img src=x onerror=alert(4)>",
        "quick_replies": [{"title": "<b onmouseover=alert(5)>粗体</b>", "payload": "/greet"}],
    })
    fake_rasa.push(session, {"text": "您好", "agent": {"id": "a1", "name": "<img src=x onerror=alert(6)>"}})
    fake_rasa.push(session, {"custom": {"type": "agent_joined", "agent_name": "<svg onload=alert(7)>"}})
    fake_rasa.push(session, {"custom": {"type": "ticket_card", "ticket_no": XSS, "type_label": "<i>报修</i>",
                                        "status": "<b>受理</b>", "priority": "普通"}})
    fake_rasa.push(session, {"attachment": {"type": "image", "payload": {"src": "javascript:alert(8)"}}})

    expect(page.locator(".kf-chip").last).to_have_text("<b onmouseover=alert(5)>粗体</b>")
    expect(page.locator(".kf-row--agent .kf-name")).to_have_text("<img src=x onerror=alert(6)>")
    expect(page.locator(".kf-notice").last).to_have_text("客服 <svg onload=alert(7)> 已接入，正在为您服务")
    expect(page.locator(".kf-ticket .kf-mono")).to_have_text(XSS)
    chat.expect_bot("<script>alert(2)</script>")
    page.locator(".kf-chip").last.hover()
    page.wait_for_timeout(500)

    found = page.evaluate(SCAN)
    assert found == {"tags": [], "handlers": [], "badLinks": [], "svgOnload": 0}
    # The one real link is the http URL, cut before the quote that tried to escape it.
    links = page.locator(".kf-log a.kf-link")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "http://x.example/")
    assert dialogs == []
    assert page.locator("body img").count() == 0  # nothing leaked into the host page either


def test_host_page_css_cannot_break_the_widget(chat, fake_rasa):
    page = chat.page
    page.add_style_tag(content="""
      * { font-size: 40px !important; color: red !important; line-height: 3 !important; }
      div, section, button { border: 6px solid lime !important; display: none !important; }
      .kf-launcher, .kf-panel, .kf-bubble { background: black !important; width: 10px !important; }
    """)
    chat.send("你好")
    bubble = chat.expect_bot("我是暖风家电智能助手")
    style = page.evaluate("""(el) => {
      const s = getComputedStyle(el);
      return { fontSize: s.fontSize, color: s.color, border: s.borderTopWidth };
    }""", bubble.element_handle())
    assert style == {"fontSize": "14px", "color": "rgb(31, 35, 41)", "border": "0px"}
    box = chat.panel.bounding_box()
    assert (round(box["width"]), round(box["height"])) == (380, 600)
    expect(chat.launcher).to_be_visible()
