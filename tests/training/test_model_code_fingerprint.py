"""The model fingerprint covers the code the model depends on, not every NLP helper."""

from __future__ import annotations

import shutil
from pathlib import Path

from kefu.training import fingerprint

REPO = Path(__file__).resolve().parents[2]


def _copy_project(tmp_path: Path) -> Path:
    for name in ("config.yml", "domain.yml", "data", "components", "kefu", "config"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(
            src, tmp_path / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if src.is_dir() else {})
        )
    return tmp_path


def _touch(path: Path) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write("\n# edited\n")


def test_model_code_is_the_import_closure_of_components_and_the_nlp_build():
    code = {p.relative_to(REPO).as_posix() for p in fingerprint.model_code(REPO)}
    assert {
        "components/normalizer.py",
        "kefu/nlp/textnorm.py",
        "kefu/nlp/build.py",
        "kefu/nlp/spacy_zh.py",
        "kefu/numbers.py",
    } <= code
    assert "kefu/nlp/timeparse.py" not in code  # used by the actions only
    assert not any(p.startswith(("actions/", "desk/", "kefu/services/", "kefu/training/")) for p in code)


def test_editing_timeparse_keeps_the_model_but_editing_textnorm_does_not(tmp_path: Path):
    project = _copy_project(tmp_path)
    before = fingerprint.inputs_hash(project)
    _touch(project / "kefu" / "nlp" / "timeparse.py")
    _touch(project / "kefu" / "services" / "tickets.py")
    assert fingerprint.inputs_hash(project) == before
    _touch(project / "kefu" / "nlp" / "textnorm.py")
    assert fingerprint.inputs_hash(project) != before
