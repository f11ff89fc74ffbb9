"""Generate the NLP artefacts from ``config/catalogue.yml`` (and ``nlp.yml``).

    python -m kefu.nlp.build [--force] [--check] [--targets userdict,spacy,nlu] [--out DIR]

Targets (paths relative to the repo root, or to ``--out``):
  userdict  build/jieba/userdict.txt   jieba user dictionary (Rasa JiebaTokenizer
                                       ``dictionary_path: build/jieba`` — a directory)
  spacy     build/spacy_zh/            spaCy pipeline (Rasa SpacyNLP ``model: build/spacy_zh``)
  nlu       data/nlu/catalogue.yml     Rasa synonyms + lookup tables (committed)

Idempotent: text files are rewritten only when their content changes; the spaCy
pipeline records a hash of its inputs in meta.json and is rebuilt only when that
hash changes (or with --force). ``--check`` writes nothing and exits 1 if any
selected target is stale or missing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from kefu.nlp import paths
from kefu.nlp.catalogue import Catalogue, CatalogueError, load_catalogue
from kefu.nlp.config import load_settings
from kefu.nlp.jieba_dict import render_userdict
from kefu.nlp.rasa_data import render_nlu_catalogue

TARGETS = ("userdict", "spacy", "nlu")
STAMP_KEY = "kefu_source_hash"
_SPACY_MODULE = Path(__file__).with_name("spacy_zh.py")


@dataclass(frozen=True)
class BuildPaths:
    catalogue: Path
    userdict: Path
    spacy_dir: Path
    nlu: Path

    @classmethod
    def under(cls, root: Path, catalogue: Optional[Path] = None) -> "BuildPaths":
        """The standard layout below ``root`` (the repo root by default)."""
        rel = lambda p: root / p.relative_to(paths.REPO_ROOT)  # noqa: E731
        return cls(
            catalogue=catalogue or paths.catalogue_path(),
            userdict=rel(paths.userdict_path()),
            spacy_dir=rel(paths.spacy_model_dir()),
            nlu=rel(paths.nlu_catalogue_path()),
        )


@dataclass(frozen=True)
class _Sources:
    catalogue: Catalogue
    userdict: str
    nlu: str
    spacy_hash: str


def _sources(build_paths: BuildPaths) -> _Sources:
    catalogue = load_catalogue(build_paths.catalogue)
    userdict = render_userdict(catalogue, load_settings().jieba)
    return _Sources(catalogue, userdict, render_nlu_catalogue(catalogue), _spacy_hash(catalogue, userdict))


def _spacy_hash(catalogue: Catalogue, userdict: str) -> str:
    """Everything the pipeline depends on, without importing spaCy (slow)."""
    digest = hashlib.sha256()
    digest.update(userdict.encode("utf-8"))
    terms = {kind: {name: list(item.terms) for name, item in group.items()}
             for kind, group in (("product", catalogue.products), ("fault", catalogue.faults))}
    digest.update(json.dumps(terms, ensure_ascii=False, sort_keys=True).encode("utf-8"))
    for package in ("spacy", "jieba"):  # jieba's own dictionary shapes the patterns
        digest.update(importlib.metadata.version(package).encode())
    digest.update(_SPACY_MODULE.read_bytes())
    return digest.hexdigest()


def _stamp(spacy_dir: Path) -> Optional[str]:
    try:
        return json.loads((spacy_dir / "meta.json").read_text("utf-8")).get(STAMP_KEY)
    except (OSError, ValueError):
        return None


def _read(path: Path) -> Optional[str]:
    try:
        return path.read_text("utf-8")
    except OSError:
        return None


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _write_spacy(target: Path, sources: _Sources) -> None:
    from kefu.nlp.spacy_zh import build_pipeline  # imports spaCy (several seconds)

    nlp = build_pipeline(sources.catalogue, sources.userdict)
    nlp.meta[STAMP_KEY] = sources.spacy_hash
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    nlp.to_disk(staging)
    old = target.with_name(f".{target.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _is_current(name: str, build_paths: BuildPaths, sources: _Sources) -> bool:
    if name == "userdict":
        return _read(build_paths.userdict) == sources.userdict
    if name == "nlu":
        return _read(build_paths.nlu) == sources.nlu
    return _stamp(build_paths.spacy_dir) == sources.spacy_hash


def _target_path(name: str, build_paths: BuildPaths) -> Path:
    return {"userdict": build_paths.userdict, "spacy": build_paths.spacy_dir, "nlu": build_paths.nlu}[name]


def run(
    build_paths: BuildPaths,
    targets: Sequence[str] = TARGETS,
    force: bool = False,
    check: bool = False,
    say: Callable[[str], None] = print,
) -> Dict[str, str]:
    """Build (or check) the targets; returns {target: status}.

    Status: ``up to date``, ``written`` (build) or ``stale`` (check).
    """
    sources = _sources(build_paths)
    writers: Dict[str, Callable[[Path], None]] = {
        "userdict": lambda p: _write_text(p, sources.userdict),
        "nlu": lambda p: _write_text(p, sources.nlu),
        "spacy": lambda p: _write_spacy(p, sources),
    }
    result: Dict[str, str] = {}
    for name in targets:
        path = _target_path(name, build_paths)
        if _is_current(name, build_paths, sources) and not (force and not check):
            status = "up to date"
        elif check:
            status = "stale"
        else:
            writers[name](path)
            status = "written"
        result[name] = status
        say(f"{name:9} {_display(path)}: {status}")
    if "userdict" in targets:
        _warn_foreign_files(build_paths.userdict, say)
    return result


def _warn_foreign_files(userdict: Path, say: Callable[[str], None]) -> None:
    # Rasa's JiebaTokenizer loads every file in the directory as a dictionary.
    if userdict.parent.is_dir():
        others = sorted(
            p.name for p in userdict.parent.iterdir() if p != userdict and not p.name.startswith(".")
        )
        if others:
            say(f"warning: {_display(userdict.parent)} also holds {others}; JiebaTokenizer loads them all")


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(paths.REPO_ROOT))
    except ValueError:
        return str(path)


def _parse_targets(value: str) -> List[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    unknown = set(names) - set(TARGETS)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown targets {sorted(unknown)}; choose from {TARGETS}")
    return names


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kefu.nlp.build", description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is stale")
    parser.add_argument("--targets", type=_parse_targets, default=list(TARGETS),
                        help=f"comma-separated subset of {','.join(TARGETS)}")
    parser.add_argument("--out", type=Path, help="write below this directory instead of the repo root")
    args = parser.parse_args(argv)

    build_paths = BuildPaths.under(args.out.resolve() if args.out else paths.REPO_ROOT)
    try:
        result = run(build_paths, targets=args.targets, force=args.force, check=args.check)
    except CatalogueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.check and "stale" in result.values():
        print("stale: run `python -m kefu.nlp.build`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
