"""The form names put into responses ("刚才的{form}先放一放") read naturally: a chat probe got
"刚才的刚才的登记先放一放" when the paused form was not known (2026-12-08)."""
from __future__ import annotations

import re

import yaml

from actions.courtesy import FORM_LABELS, UNKNOWN_FORM_LABEL
from kefu import settings


def test_every_form_label_reads_naturally_in_every_response_that_names_a_form():
    domain = yaml.safe_load((settings.repo_root() / "domain.yml").read_text(encoding="utf-8"))
    texts = [variant["text"] for variants in domain["responses"].values() for variant in variants
             if "{form}" in variant.get("text", "")]
    assert texts, "responses name the form"
    for label in [*FORM_LABELS.values(), UNKNOWN_FORM_LABEL]:
        for text in texts:
            said = text.replace("{form}", label)
            assert not re.search(r"(刚才的|之前的)\1", said), said
            assert not re.search(r"(.{2,})\1", said.replace("……", "")), said
