"""CI runs the linters: ruff, mypy (strict core list) and import-linter (pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from kefu import lint


def test_lint_passes():
    status, output = lint.run(verbose=False)
    assert status == 0, output


def test_import_contract_catches_a_core_module_importing_rasa(tmp_path: Path):
    """The contract can fail: a copy of the tree with kefu importing rasa_sdk is refused."""
    root = Path(lint.ROOT)
    for name in ("kefu", "desk", "actions", "channels", "components", "widget"):
        shutil.copytree(
            root / name, tmp_path / name, ignore=shutil.ignore_patterns("node_modules", "dist", "__pycache__")
        )
    shutil.copy(root / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "kefu" / "leak.py").write_text("import rasa_sdk\n", encoding="utf-8")
    tool = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(tool)],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "kefu.leak -> rasa_sdk" in proc.stdout
