"""The example messages of the product spec (issue "Conversational core") are understood.

They are the spec, not held-out data, so they may also appear in data/. Loads the latest
model in models/ (./kefu.sh test trains it first).
"""
from __future__ import annotations

import asyncio

import pytest

from kefu.cli import latest_model

SPEC_EXAMPLES = {
    "greet": ["你好", "在吗"],
    "goodbye": ["再见", "没事了"],
    "thank": ["谢谢", "辛苦了"],
    "affirm": ["好的", "对", "可以"],
    "deny": ["不是", "不用了"],
    "request_human": ["转人工", "我要找人工客服", "找个真人"],
    "report_repair": ["空调不制冷了", "洗衣机漏水", "热水器打不着火要报修"],
    "request_installation": ["新买的空调预约安装", "移机"],
    "request_return": ["我要退货", "能换一台吗", "退款什么时候到"],
    "complain": ["师傅态度太差", "修了三次还没好", "我要投诉"],
    "query_ticket": ["我的报修进度怎么样", "师傅什么时候上门"],
    "urge_ticket": ["怎么还没人来", "等了三天了快点处理"],
    "cancel_ticket": ["不用修了帮我取消"],
    "query_order": ["什么时候发货", "物流到哪了", "我还没收到"],
    "give_suggestion": ["建议你们周末也安排上门"],
    "bot_challenge": ["你是机器人吗"],
    "faq": ["保修期多久", "上门费怎么收", "配件费贵吗", "滤芯多久换"],
    "stop_form": ["算了不报了"],
    "correct": ["不对，是冰箱"],
}
# A mistyped phone or ticket number must reach the form's validator, not small talk.
BARE_NUMBERS = ["12345", "1234", "138", "13812345", "0571-8888"]


@pytest.fixture(scope="module")
def parse():
    from rasa.core.agent import Agent

    model = latest_model()
    assert model is not None, "no trained model in models/"
    agent = Agent.load(str(model))

    def run(text: str) -> str:
        return asyncio.run(agent.parse_message(text))["intent"]["name"]

    return run


def test_spec_examples(parse):
    cases = [(intent, text) for intent, texts in SPEC_EXAMPLES.items() for text in texts]
    predicted = [(text, intent, parse(text)) for intent, text in cases]
    wrong = [case for case in predicted if case[1] != case[2]]
    # Training is not bit-for-bit deterministic on CPU: allow one borderline miss.
    assert len(wrong) <= 1, wrong


@pytest.mark.parametrize("text", BARE_NUMBERS)
def test_bare_numbers_are_form_answers(parse, text):
    assert parse(text) == "inform"
