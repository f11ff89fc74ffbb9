"""Engines built from the real config files (spaCy loads once per test session)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kefu.escalation import EscalationEngine

CONFIG = Path(__file__).resolve().parents[2] / "config"


@pytest.fixture(scope="session")
def engine() -> EscalationEngine:
    return EscalationEngine.from_file(CONFIG / "escalation_rules.yml")


@pytest.fixture()
def config_copy(tmp_path: Path) -> Path:
    """A private copy of the rules file and lexicons, safe to edit in a test."""
    shutil.copy(CONFIG / "escalation_rules.yml", tmp_path / "escalation_rules.yml")
    shutil.copytree(CONFIG / "lexicons", tmp_path / "lexicons")
    return tmp_path
