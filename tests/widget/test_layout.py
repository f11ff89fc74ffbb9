"""Desktop and phone layouts, keyboard access, ARIA, contrast; saves screenshots."""

from playwright.sync_api import expect

from widget_driver import Chat


def _contrast(rgb_a: str, rgb_b: str) -> float:
    def lum(rgb: str) -> float:
        r, g, b = (int(v) / 255 for v in rgb[rgb.index("(") + 1: rgb.index(")")].split(",")[:3])
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((lum(rgb_a), lum(rgb_b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _rich_conversation(chat, fake_rasa):
    page = chat.page
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    page.locator(".kf-chip", has_text="我要报修").click()
    expect(page.locator(".kf-ticket")).to_be_visible()
    fake_rasa.push(chat.session_id(), {"custom": {"type": "agent_joined", "agent_name": "张敏"}})
    fake_rasa.push(chat.session_id(), {"text": "您好，我是客服张敏，师傅明早 9 点上门，请保持电话畅通。",
                                       "agent": {"id": "a1", "name": "张敏"}})
    chat.expect_bot("请保持电话畅通")
    page.wait_for_timeout(400)  # let the open animation settle


def test_desktop_layout(chat, fake_rasa, artifacts):
    page = chat.page
    _rich_conversation(chat, fake_rasa)
    panel = chat.panel.bounding_box()
    launcher = chat.launcher.bounding_box()
    assert (round(panel["width"]), round(panel["height"])) == (380, 600)
    assert 1280 - (panel["x"] + panel["width"]) == 24  # anchored bottom-right
    assert (round(launcher["width"]), round(launcher["height"])) == (60, 60)
    assert launcher["x"] + launcher["width"] == 1280 - 24 and launcher["y"] + launcher["height"] == 800 - 24
    page.screenshot(path=str(artifacts / "widget_desktop.png"))


def test_phone_layout_is_full_screen(new_context, widget_server, fake_rasa, artifacts):
    context = new_context(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True,
                          device_scale_factor=2)
    chat = Chat.open_demo(context.new_page(), widget_server, open_panel=False)
    launcher = chat.launcher.bounding_box()
    assert launcher["x"] + launcher["width"] <= 375 and launcher["y"] + launcher["height"] <= 812
    chat.launcher.tap()
    expect(chat.panel).to_be_visible()
    chat.wait_online()
    _rich_conversation(chat, fake_rasa)
    box = chat.panel.bounding_box()
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 812)
    expect(chat.launcher).to_be_hidden()  # the header's close button takes over
    # 16px input text stops iOS from zooming in when the field gets focus.
    assert chat.input.evaluate("(el) => getComputedStyle(el).fontSize") == "16px"
    chat.page.screenshot(path=str(artifacts / "widget_phone.png"))
    chat.page.locator(".kf-close").tap()
    expect(chat.panel).to_be_hidden()
    expect(chat.launcher).to_be_visible()


def test_keyboard_access_and_aria(context, widget_server):
    page = context.new_page()
    chat = Chat.open_demo(page, widget_server, open_panel=False)
    launcher = chat.launcher
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(chat.input).to_be_focused()
    expect(chat.panel).to_have_attribute("role", "dialog")
    expect(chat.log).to_have_attribute("role", "log")
    expect(chat.log).to_have_attribute("aria-live", "polite")
    expect(chat.input).to_have_attribute("aria-label", "输入消息")
    expect(page.locator(".kf-close")).to_have_attribute("aria-label", "关闭对话窗口")

    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Space")  # buttons work with Space too
    expect(chat.panel).to_be_visible()
    page.keyboard.press("Shift+Tab")  # back from the input into the log
    expect(chat.log).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.locator(".kf-close")).to_be_focused()
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_hidden()
    expect(launcher).to_be_focused()


def test_text_contrast_is_readable(chat, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    colours = chat.page.evaluate("""() => {
      const root = document.querySelector('#kefu-widget').shadowRoot;
      const pick = (sel) => { const s = getComputedStyle(root.querySelector(sel)); return [s.color, s.backgroundColor]; };
      return {
        user: pick('.kf-row--user .kf-bubble'),
        bot: pick('.kf-row--bot:not(.kf-typing) .kf-bubble'),
        chip: [getComputedStyle(root.querySelector('.kf-chip')).color, 'rgb(255, 255, 255)'],
        time: [getComputedStyle(root.querySelector('.kf-meta time')).color, getComputedStyle(root.querySelector('.kf-panel')).backgroundColor],
      };
    }""")
    for name, (fg, bg) in colours.items():
        assert _contrast(fg, bg) >= 4.5, (name, fg, bg)
