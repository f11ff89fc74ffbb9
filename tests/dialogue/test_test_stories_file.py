"""tests/test_stories.yml must be readable by Rasa, every story of it: a YAML error there
(a title like `"对，取消吧" to …`) made `rasa test` read no stories at all, and a gate that
counts failed stories saw none fail."""
from __future__ import annotations

import re

from rasa.shared.core.domain import Domain
from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader

from kefu import settings


def test_rasa_reads_every_test_story():
    path = settings.repo_root() / "tests" / "test_stories.yml"
    written = len(re.findall(r"^\s*- story:", path.read_text("utf-8"), flags=re.M))
    domain = Domain.load(str(settings.repo_root() / "domain.yml"))
    steps = YAMLStoryReader(domain, source_name=str(path)).read_from_file(path)
    assert written >= 30
    assert len({step.block_name for step in steps}) == written
