"""Fixtures for the NLP helper tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kefu.nlp import paths
from kefu.nlp.catalogue import Catalogue, load_catalogue


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(paths.REPO_ROOT / "config" / "catalogue.yml")


def run_python(args, env_extra=None, cwd=None, timeout=600) -> subprocess.CompletedProcess:
    """Run the venv's Python in a fresh process with the repo importable."""
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT), **(env_extra or {})}
    return subprocess.run(
        [sys.executable, *args], env=env, cwd=cwd or paths.REPO_ROOT,
        capture_output=True, text=True, timeout=timeout,
    )


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """All NLP artefacts built by the CLI from a copy of the catalogue, below a temp root."""
    root = tmp_path_factory.mktemp("nlp-build")
    config = root / "config"
    config.mkdir()
    shutil.copy(paths.REPO_ROOT / "config" / "catalogue.yml", config / "catalogue.yml")
    proc = run_python(["-m", "kefu.nlp.build", "--out", str(root)], {"KEFU_CONFIG_DIR": str(config)})
    assert proc.returncode == 0, proc.stderr
    return root
