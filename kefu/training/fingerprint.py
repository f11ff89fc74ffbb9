"""What a trained model was trained from, so that `run` and `test` retrain only when it changed.

Rasa 3 always packs a new model on `rasa train` (its cache only skips components), so
"models/ already has a model for the current data" is decided here: a model file gets a
sidecar `<model>.inputs` holding the hash of everything that shapes it.
"""
from __future__ import annotations

import ast
import hashlib
from pathlib import Path
from typing import Iterable, List, Optional, Set

from kefu import settings

# Training inputs other than Python code, relative to the repository root. The generated
# build/ assets (jieba dictionary, spaCy pipeline) are derived from the catalogue, the NLP
# settings and the code of kefu/nlp/build.py. config/nlp.yml is optional.
INPUTS = ("config.yml", "domain.yml", "data", "config/catalogue.yml", "config/chat_slang.yml", "config/nlp.yml",
          "kefu/nlp/nlp_defaults.yml", "requirements/lock.txt", "requirements/rasa.txt")
SUFFIXES = {".yml", ".yaml", ".py", ".txt", ".json", ".md"}
# Python code the model depends on: the custom components and the NLP asset build, plus
# every project module they import (found by reading their imports, so a helper such as
# kefu/nlp/timeparse.py that no component imports does not force a retrain).
CODE_ROOTS = ("components", "kefu/nlp/build.py")
_LOCAL_PACKAGES = ("kefu", "components")


def _module_file(root: Path, dotted: str) -> Optional[Path]:
    base = root.joinpath(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imported_names(path: Path) -> Iterable[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def model_code(root: Optional[Path] = None) -> List[Path]:
    """The project's Python files the model depends on (import closure of CODE_ROOTS)."""
    root = root or settings.repo_root()
    todo = list(_files(root, CODE_ROOTS))
    seen: Set[Path] = set()
    while todo:
        path = todo.pop()
        if path in seen or path.suffix != ".py":
            continue
        seen.add(path)
        for name in _imported_names(path):
            parts = name.split(".")
            if parts[0] not in _LOCAL_PACKAGES:
                continue
            for i in range(1, len(parts) + 1):  # the packages' __init__ run too
                found = _module_file(root, ".".join(parts[:i]))
                if found is not None and found not in seen:
                    todo.append(found)
    return sorted(seen)


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
    files = sorted(set(_files(root, INPUTS)) | set(model_code(root)))
    for path in files:
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
