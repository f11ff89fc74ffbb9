"""Human handoff: queue notice, agent joins/leaves, agent messages, survey, unread badge."""

import json

from playwright.sync_api import expect


def test_queue_agent_joined_message_and_left(chat, fake_rasa):
    page = chat.page
    chat.send("你好")
    page.locator(".kf-chip", has_text="转人工客服").click()
    expect(page.locator(".kf-notice").last).to_have_text("正在为您转接人工客服，前面还有 2 位客户，预计等待约 3 分钟")

    session = chat.session_id()
    fake_rasa.push(session, {"custom": {"type": "agent_joined", "agent_name": "张敏"}})
    expect(page.locator(".kf-notice").last).to_have_text("客服 张敏 已接入，正在为您服务")
    expect(chat.status).to_contain_text("人工客服 张敏 正在为您服务")

    fake_rasa.push(session, {"text": "您好，我是客服张敏，请问空调是什么问题？", "agent": {"id": "agent-7", "name": "张敏"}})
    row = page.locator(".kf-row--agent")
    expect(row.locator(".kf-bubble")).to_have_text("您好，我是客服张敏，请问空调是什么问题？")
    expect(row.locator(".kf-name")).to_have_text("张敏")
    expect(row.locator(".kf-avatar")).to_have_text("张")
    expect(row.locator(".kf-role-tag")).to_have_text("人工客服")
    expect(row.locator(".kf-avatar--bot")).to_have_count(0)

    fake_rasa.push(session, {"custom": {"type": "agent_left", "agent_name": "张敏"}})
    expect(page.locator(".kf-notice").last).to_have_text("客服 张敏 已离开，智能助手继续为您服务")
    expect(chat.status).not_to_contain_text("张敏")


def test_survey_sends_score_and_comment(chat, fake_rasa):
    page = chat.page
    chat.send("评价")
    survey = page.locator(".kf-survey")
    expect(survey).to_be_visible()
    submit = survey.locator(".kf-btn")
    expect(submit).to_be_disabled()
    survey.locator(".kf-star").nth(3).click()
    expect(survey.locator(".kf-survey__label")).to_have_text("满意")
    survey.locator("textarea").fill("师傅很专业")
    submit.click()

    expect(chat.user_bubbles().last).to_have_text("★★★★☆ 师傅很专业")
    chat.expect_bot("感谢您的评价")
    message = fake_rasa.received_texts(chat.session_id())[-1]
    assert message.startswith("/inform{")
    assert json.loads(message[len("/inform"):]) == {"satisfaction_score": 4, "satisfaction_comment": "师傅很专业"}
    expect(survey.locator(".kf-star").first).to_be_disabled()

    chat.reload()  # the answered survey stays answered; the answer shows as stars
    expect(page.locator(".kf-survey .kf-btn")).to_have_text("已评价")
    expect(chat.user_bubbles().last).to_have_text("★★★★☆ 师傅很专业")


def test_survey_is_keyboard_operable(chat, fake_rasa):
    page = chat.page
    chat.send("评价")
    stars = page.locator(".kf-survey .kf-star")
    stars.first.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(stars.nth(4)).to_have_attribute("aria-checked", "true")
    expect(stars.nth(4)).to_be_focused()
    page.locator(".kf-survey .kf-btn").click()
    expect(chat.user_bubbles().last).to_have_text("★★★★★")
    assert json.loads(fake_rasa.received_texts(chat.session_id())[-1][len("/inform"):]) == {
        "satisfaction_score": 5, "satisfaction_comment": ""}


def test_unread_badge_while_closed(chat, fake_rasa):
    page = chat.page
    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    fake_rasa.push(chat.session_id(), {"text": "您的工单已派单", "agent": {"id": "a1", "name": "李雷"}})
    badge = page.locator(".kf-badge")
    expect(badge).to_have_text("1")
    expect(chat.launcher).to_have_attribute("aria-label", "打开暖风家电在线客服，1 条未读消息")
    chat.launcher.click()
    expect(badge).to_be_hidden()
    chat.expect_bot("您的工单已派单")
