"""What a trained model was trained from, so that `run` and `test` retrain only when it changed.

Rasa 3 always packs a new model on `rasa train` (its cache only skips components), so
"models/ already has a model for the current data" is decided here: a model file gets a
sidecar `<model>.inputs` holding the hash of everything that shapes it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable, Optional

from kefu import settings

# Training inputs, relative to the repository root. The generated build/ assets
# (jieba dictionary, spaCy pipeline) are derived from the catalogue and kefu/nlp.
INPUTS = ("config.yml", "domain.yml", "data", "config/catalogue.yml", "config/chat_slang.yml", "components",
          "kefu/nlp", "requirements/lock.txt", "requirements/rasa.txt")
SUFFIXES = {".yml", ".yaml", ".py", ".txt", ".json", ".md"}


def _files(root: Path, names: Iterable[str]) -> Iterable[Path]:
    for name in names:
        path = root / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from sorted(p for p in path.rglob("*")
                              if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts)


def inputs_hash(root: Optional[Path] = None) -> str:
    root = root or settings.repo_root()
    digest = hashlib.sha256()
    for path in _files(root, INPUTS):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def sidecar(model: Path) -> Path:
    return model.with_name(model.name[: -len(".tar.gz")] + ".inputs")


def record(model: Path, digest: str) -> None:
    sidecar(model).write_text(digest + "\n", encoding="utf-8")


def recorded(model: Path) -> Optional[str]:
    """The inputs hash a model was trained from (None: trained before hashes were kept)."""
    try:
        return sidecar(model).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None


def model_for_inputs(models_dir: Path, digest: str) -> Optional[Path]:
    """The newest model in `models_dir` trained from exactly these inputs."""
    matches = [m for m in models_dir.glob("*.tar.gz") if recorded(m) == digest]
    return max(matches, key=lambda m: m.stat().st_mtime, default=None)
