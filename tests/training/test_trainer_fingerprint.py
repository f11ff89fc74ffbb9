"""`run` and `test` retrain only when the training inputs changed (not on every start)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from kefu import settings
from kefu.training import fingerprint, train as train_module

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path, monkeypatch) -> Path:
    for name in ("config.yml", "domain.yml", "data", "components"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / name)
    (tmp_path / "config").mkdir()
    shutil.copy(REPO / "config/catalogue.yml", tmp_path / "config/catalogue.yml")
    (tmp_path / "models").mkdir()
    monkeypatch.setattr(settings, "repo_root", lambda: tmp_path)
    return tmp_path


def test_hash_follows_training_inputs_only(project: Path):
    before = fingerprint.inputs_hash(project)
    (project / "README.md").write_text("docs change nothing")
    (project / "config" / "desk.yml").write_text("agent_hours: {}")  # operator config, not training input
    assert fingerprint.inputs_hash(project) == before
    with (project / "data" / "nlu" / "greetings.yml").open("a", encoding="utf-8") as f:
        f.write("\n")
    assert fingerprint.inputs_hash(project) != before


def test_model_for_inputs_picks_a_matching_model(project: Path):
    models = project / "models"
    old, new = models / "20260101-old.tar.gz", models / "20260102-new.tar.gz"
    old.write_bytes(b"x")
    new.write_bytes(b"y")
    fingerprint.record(old, "abc")
    assert fingerprint.model_for_inputs(models, "abc") == old
    assert fingerprint.model_for_inputs(models, "other") is None  # `new` has no record: unknown inputs


def test_train_skips_when_a_model_matches_and_retrains_after_a_change(project: Path, monkeypatch):
    calls, packed = [], []

    def fake_run(args, cwd=None, check=False):
        calls.append(args)
        if "rasa" in args:  # pretend `rasa train` packed a model
            packed.append(args)
            (project / "models" / f"model-{len(packed)}.tar.gz").write_bytes(b"model")
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(train_module.subprocess, "run", fake_run)
    monkeypatch.setattr(settings, "var_dir", lambda: project / "var")
    first = train_module.train()
    assert first is not None and fingerprint.sidecar(first).is_file()
    calls.clear()
    assert train_module.train() is None and calls == []  # nothing changed: no training at all
    (project / "domain.yml").write_text((project / "domain.yml").read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert train_module.train() is not None and any("rasa" in c for c in calls)
    calls.clear()
    assert train_module.train(force=True) is not None  # --force always trains
