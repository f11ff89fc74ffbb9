"""`./kefu.sh evaluate` picks its NLU set: the fresh holdout by default, dev sets by name."""
from __future__ import annotations


import pytest

from kefu.training import evaluate
from kefu.training.project import EVALUATION_SETS, Project


def test_default_is_the_fresh_holdout(tmp_path):
    project = Project.at(tmp_path)
    assert evaluate.resolve_nlu_set(project=project) == tmp_path.resolve() / "tests/nlu/holdout.yml"


def test_dev_sets_by_name(tmp_path):
    project = Project.at(tmp_path)
    nlu = tmp_path.resolve() / "tests/nlu"
    assert evaluate.resolve_nlu_set("dev", project=project) == nlu / "dev.yml"
    assert evaluate.resolve_nlu_set("dev_holdout_v1", project=project) == nlu / "dev_holdout_v1.yml"
    with pytest.raises(KeyError):
        project.evaluation_set("nope")


def test_an_explicit_file_wins(tmp_path):
    assert evaluate.resolve_nlu_set("dev", tmp_path / "x.yml") == tmp_path / "x.yml"


def test_every_named_set_exists_in_the_repository():
    project = Project.default()
    missing = [name for name in EVALUATION_SETS if not project.evaluation_set(name).exists()]
    assert missing == []


def test_set_and_holdout_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        evaluate.main(["--set", "dev", "--holdout", "x.yml"])
