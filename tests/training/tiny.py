"""A tiny Chinese Rasa project (5 intents, RulePolicy, small DIET) that trains in seconds.

Same layout as Kefu (config.yml, domain.yml, data/, tests/nlu/holdout.yml,
tests/test_stories.yml, models/), so every trainer tool runs on it unchanged.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Dict, List, Optional

from kefu.training.project import Project

CONFIG = """\
recipe: default.v1
language: zh
assistant_id: kefu_tiny
pipeline:
  - name: JiebaTokenizer
  - name: CountVectorsFeaturizer
  - name: CountVectorsFeaturizer
    analyzer: char
    min_ngram: 1
    max_ngram: 2
  - name: DIETClassifier
    epochs: {epochs}
    number_of_transformer_layers: 0
    hidden_layers_sizes:
      text: [64]
    embedding_dimension: 20
    constrain_similarities: true
    random_seed: 42
  - name: EntitySynonymMapper
policies:
  - name: RulePolicy
"""

DOMAIN = """\
version: "3.1"
intents: [greet, goodbye, report_repair, query_ticket, urge_ticket, inform]
entities: [time, address, person_name, phone]
slots:
  phone:
    type: text
    influence_conversation: false
    mappings:
      - type: from_entity
        entity: phone
responses:
  utter_greet:
    - text: 您好，这里是暖风家电售后服务中心，请问有什么可以帮您？
    - text: 您好！请问需要什么帮助？
  utter_goodbye:
    - text: 感谢您的咨询，再见！
    - text: 再见，祝您生活愉快！
  utter_repair:
    - text: 好的，我来帮您登记报修。
    - text: 收到，马上为您安排维修。
  utter_query:
    - text: 我来帮您查询工单进度。
    - text: 好的，正在查询您的工单。
  utter_urge:
    - text: 已为您催办，师傅会尽快联系您。
    - text: 收到，已经帮您加急处理。
  utter_noted:
    - text: 好的，已记下。
    - text: 收到，已为您登记。
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""

EXAMPLES: Dict[str, List[str]] = {
    "greet": ["你好", "您好", "在吗", "有人吗", "哈喽", "你好客服", "早上好", "晚上好"],
    "goodbye": ["再见", "拜拜", "没事了谢谢再见", "好的拜拜", "先这样吧再见", "下次再聊"],
    "report_repair": ["空调坏了", "我要报修", "洗衣机不转了", "冰箱不制冷了要修", "热水器不出热水",
                      "空调漏水了", "帮我报修一下油烟机", "洗衣机漏水需要维修", "空调开不了机"],
    "query_ticket": ["查一下我的工单", "工单进度怎么样了", "我的报修单处理到哪了", "查询维修进度",
                     "帮我看看工单状态", "我想查工单", "报修单现在什么情况"],
    "urge_ticket": ["催一下", "怎么还没人来修", "快点派师傅", "帮我催催", "等了三天还没人联系我",
                    "能不能快一点", "师傅怎么还不来"],
    "inform": ["我的电话是13900001111", "地址是示例市示例区示例路1号", "[明天下午](time)有空", "[周六上午](time)在家",
               "我叫[张三](person_name)", "型号不知道"],
}

HOLDOUT: Dict[str, List[str]] = {
    "greet": ["hello 有人在吗", "你好呀"],
    "goodbye": ["拜拜啦", "好的再见"],
    "report_repair": ["冰箱坏了要维修", "热水器漏水了"],
    "query_ticket": ["我的工单处理到哪一步了", "查下维修单"],
    "urge_ticket": ["催一下师傅", "怎么还没人来"],
}

RULES = """\
version: "3.1"
rules:
""" + "".join(
    f"  - rule: answer {intent}\n    steps:\n      - intent: {intent}\n      - action: {action}\n"
    for intent, action in [("greet", "utter_greet"), ("goodbye", "utter_goodbye"), ("report_repair", "utter_repair"),
                           ("query_ticket", "utter_query"), ("urge_ticket", "utter_urge"),
                           ("inform", "utter_noted")]
)

TEST_STORIES = """\
version: "3.1"
stories:
  - story: greet then repair
    steps:
      - user: |
          你好
        intent: greet
      - action: utter_greet
      - user: |
          空调坏了
        intent: report_repair
      - action: utter_repair
  - story: urge then goodbye
    steps:
      - user: |
          帮我催催
        intent: urge_ticket
      - action: utter_urge
      - user: |
          再见
        intent: goodbye
      - action: utter_goodbye
"""


def nlu_yaml(examples: Dict[str, List[str]], header: str = "") -> str:
    lines = [header, 'version: "3.1"', "nlu:"] if header else ['version: "3.1"', "nlu:"]
    for intent, texts in examples.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {t}" for t in texts]
    return "\n".join(lines) + "\n"


def make_project(root: Path, epochs: int = 60, examples: Optional[Dict[str, List[str]]] = None,
                 broken_rule: bool = False) -> Project:
    """The tiny project in ``root``; ``broken_rule`` answers a greeting with goodbye (a dialogue bug)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "tests" / "nlu").mkdir(parents=True, exist_ok=True)
    (root / "models").mkdir(exist_ok=True)
    (root / "config.yml").write_text(CONFIG.format(epochs=epochs), encoding="utf-8")
    (root / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    (root / "data" / "nlu" / "base.yml").write_text(nlu_yaml(examples or EXAMPLES), encoding="utf-8")
    rules = RULES.replace("- action: utter_greet", "- action: utter_goodbye") if broken_rule else RULES
    (root / "data" / "rules.yml").write_text(rules, encoding="utf-8")
    (root / "tests" / "nlu" / "holdout.yml").write_text(nlu_yaml(HOLDOUT), encoding="utf-8")
    (root / "tests" / "test_stories.yml").write_text(TEST_STORIES, encoding="utf-8")
    return Project.at(root)


def rasa_env() -> Dict[str, str]:
    env = dict(os.environ)
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def train(project: Project, out: Optional[Path] = None, fixed_name: Optional[str] = None, finetune: bool = False) -> Path:
    """`rasa train` on the tiny project (subprocess, like ./kefu.sh train)."""
    from kefu.training.train import rasa_train_args

    out = out or project.models
    args = rasa_train_args(out, finetune=finetune, force=False, project=project)
    if fixed_name:
        args += ["--fixed-model-name", fixed_name]
    before = set(out.glob("*.tar.gz"))
    started = time.monotonic()
    subprocess.run(args, cwd=project.root, env=rasa_env(), check=True, stdout=subprocess.DEVNULL)
    new = sorted(set(out.glob("*.tar.gz")) - before, key=lambda p: p.stat().st_mtime)
    if fixed_name:
        return out / f"{fixed_name}.tar.gz"
    assert new, f"rasa train wrote no model ({time.monotonic() - started:.0f} s)"
    return new[-1]
