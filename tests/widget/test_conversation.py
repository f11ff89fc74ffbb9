"""A customer conversation: text, quick replies, ticket card, links, images."""

import json
import re

from playwright.sync_api import expect


def test_quick_replies_and_ticket_card(chat, fake_rasa):
    page = chat.page
    chat.send("你好")
    expect(page.locator(".kf-typing")).to_be_visible()  # shown while the bot works
    chat.expect_bot("我是暖风家电智能助手")
    expect(page.locator(".kf-typing")).to_be_hidden()

    chips = page.locator(".kf-chip")
    expect(chips).to_have_text(["我要报修", "查询工单", "转人工客服"])
    chips.filter(has_text="我要报修").click()

    # The chat shows the button's title; the server gets its payload.
    expect(chat.user_bubbles().last).to_have_text("我要报修")
    chat.expect_bot("已为您登记报修")
    sent = fake_rasa.received(chat.session_id())
    assert [r["message"] for r in sent] == ["你好", "/report_repair"]
    assert sent[1]["customData"]["display_text"] == "我要报修"
    assert sent[1]["session_id"] == chat.session_id()

    card = page.locator(".kf-ticket")
    expect(card).to_be_visible()
    expect(card.locator(".kf-card__title")).to_have_text("报修工单")
    expect(card.locator(".kf-tag")).to_have_text("受理")
    fields = dict(zip(card.locator("dt").all_text_contents(), card.locator("dd").all_text_contents()))
    assert fields == {
        "工单号": "BX20261122-0042",
        "优先级": "普通",
        "联系时限": "11月23日 18:00",
        "预约时间": "11月23日 上午 9:00–12:00",
    }
    # Answered suggestions are retired.
    for chip in chips.all():
        expect(chip).to_be_disabled()


def test_session_request_and_confirm_use_a_uuid(chat):
    session_id = chat.session_id()
    assert len(session_id) == 36 and session_id.count("-") == 4
    stored = chat.page.evaluate("Object.entries(localStorage).find(([k]) => k.endsWith(':session_id'))[1]")
    assert json.loads(stored) == session_id


def test_links_are_auto_linked(chat, fake_rasa):
    chat.send("/query_ticket")
    bubble = chat.expect_bot("请提供工单号")
    link = bubble.locator("a")
    expect(link).to_have_count(1)
    expect(link).to_have_attribute("href", "https://example.com/service?id=1")
    expect(link).to_have_attribute("target", "_blank")
    assert "noopener" in link.get_attribute("rel")
    # The Chinese full stop after the URL is not part of the link.
    expect(link).to_have_text("https://example.com/service?id=1")

    chat.send("看看这个 http://example.org/manual.pdf 谢谢")
    expect(chat.user_bubbles().last.locator("a")).to_have_attribute("href", "http://example.org/manual.pdf")


def test_image_attachment(chat, fake_rasa):
    chat.send("图片")
    image = chat.page.locator(".kf-row--bot img.kf-image")
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", f"{fake_rasa.url}/img/sample.svg")
    assert chat.page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0


def test_timestamps_are_shown(chat, fake_rasa):
    chat.send("你好")
    chat.expect_bot("我是暖风家电智能助手")
    times = chat.page.locator(".kf-row--user .kf-meta time")
    expect(times.first).to_have_text(re.compile(r"^\d{2}:\d{2}$"))
    assert times.first.get_attribute("datetime")
