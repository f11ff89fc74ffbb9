"""Where a Rasa project's files are, and the text index the trainer tools share.

The trainer workflow (export -> review -> accept -> validate -> train -> evaluate ->
compare -> rollout) works on a *project*: config, domain, training data, held-out NLU
set, test stories and a models folder. ``Project.default()`` is Kefu's own layout;
tests build small projects in a temporary folder with ``Project.at(root)``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

from kefu import settings

# Entities that training examples annotate (DIET learns them). All others come from
# the spaCy entity ruler or regexes and must stay unannotated: annotating them makes
# DIET and the regex extractor return duplicates (see config.yml, data/nlu/*.yml).
DIET_ENTITIES: Tuple[str, ...] = ("time", "address", "person_name")

# Evaluation sets under tests/nlu/, by name (`./kefu.sh evaluate --set NAME`).
# `holdout` is the fresh held-out set the quality gates use: never opened by anyone who
# writes training data. The others are development sets for error analysis (their
# scores are optimistic): `dev` (written 2026-11-22) and `dev_holdout_v1` (the holdout
# until 2026-12-01). See tests/nlu/README.md.
EVALUATION_SETS: Dict[str, str] = {
    "holdout": "holdout.yml",
    "dev": "dev.yml",
    "dev_holdout_v1": "dev_holdout_v1.yml",
}

# Texts that must never enter data/ (accept, story review and validate refuse them): the
# holdout and the labelled real-customer test split (tests/nlu/README.md), next to the holdout.
HELD_OUT_FILES: Tuple[str, ...] = ("holdout.yml", "real_customers_test.yml")

_NOT_WORD = re.compile(r"[\s\W_]+")


def normalise(text: str) -> str:
    """The form two examples are compared in: no spaces/punctuation/emoji, lower case.

    The same normalisation as tests/nlu/test_holdout.py, so "holdout leakage" means the
    same thing everywhere.
    """
    return _NOT_WORD.sub("", text or "").lower()


@dataclass(frozen=True)
class Project:
    root: Path
    config: Path
    domain: Path
    data: Path
    holdout: Path
    test_stories: Path
    models: Path
    annotated_entities: Tuple[str, ...] = DIET_ENTITIES

    @classmethod
    def at(cls, root: Path, **overrides) -> "Project":
        """A project with Kefu's conventional layout under ``root``."""
        root = Path(root).resolve()
        paths = dict(
            root=root,
            config=root / "config.yml",
            domain=root / "domain.yml",
            data=root / "data",
            holdout=root / "tests" / "nlu" / "holdout.yml",
            test_stories=root / "tests" / "test_stories.yml",
            models=root / "models",
        )
        paths.update(overrides)
        return cls(**paths)

    @classmethod
    def default(cls) -> "Project":
        return cls.at(settings.repo_root())

    @property
    def reviewed_file(self) -> Path:
        """Where the review page and `kefu accept` write accepted examples."""
        return self.data / "nlu" / "reviewed.yml"

    def evaluation_set(self, name: str) -> Path:
        """The NLU file of a named evaluation set (see ``EVALUATION_SETS``)."""
        if name not in EVALUATION_SETS:
            raise KeyError(f"unknown evaluation set {name!r}; known: {', '.join(EVALUATION_SETS)}")
        return self.holdout.parent / EVALUATION_SETS[name]

    @property
    def held_out_files(self) -> List[Path]:
        """The holdout and the test splits beside it (``HELD_OUT_FILES``) that exist."""
        paths = [self.holdout] + [self.holdout.parent / name for name in HELD_OUT_FILES if name != self.holdout.name]
        return [p for p in paths if p.exists()]

    def latest_model(self, exclude: Iterable[Path] = ()) -> Optional[Path]:
        return settings.latest_model(self.models, exclude)

    # --- loading (rasa.shared only: no TensorFlow) ------------------------------------

    def importer(self):
        from rasa.shared.importers.importer import TrainingDataImporter

        return TrainingDataImporter.load_from_config(str(self.config), str(self.domain), [str(self.data)])

    def load_domain(self):
        """The domain including responses defined in data files (FAQ answers)."""
        return self.importer().get_domain()


def nlu_files(data_dir: Path) -> List[Path]:
    """Rasa NLU YAML files under a data folder (files with an ``nlu:`` section)."""
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    return sorted(p for p in Path(data_dir).rglob("*.yml") if RasaYAMLReader.is_yaml_nlu_file(p))


@dataclass
class TextIndex:
    """Normalised example text -> where it occurs (file, full intent)."""

    entries: Dict[str, List[Tuple[str, str, str]]] = field(default_factory=dict)  # norm -> [(file, intent, text)]

    def add(self, file: str, intent: str, text: str) -> None:
        self.entries.setdefault(normalise(text), []).append((file, intent, text))

    def intents(self, text: str) -> Set[str]:
        return {intent for _, intent, _ in self.entries.get(normalise(text), [])}

    def __contains__(self, text: str) -> bool:
        return normalise(text) in self.entries

    def file_of(self, text: str) -> Optional[str]:
        """The file where ``text`` (normalised) occurs first, or None. On the held-out index:
        the reason a text is refused, by NLU review and story review alike."""
        places = self.entries.get(normalise(text))
        return places[0][0] if places else None


@contextlib.contextmanager
def review_lock(kind: str, path: Path) -> Iterator[None]:
    """An exclusive lock (flock, in var/review) for writing a reviewed file: one writer at a time
    across the desk's workers and the command line."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    lock = settings.var_dir() / "review" / f"{kind}-{digest}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomic(path: Path, content: str) -> None:
    """Replace ``path`` with ``content`` at once (temporary file + rename): readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".reviewed-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_examples(path: Path):
    """Rasa's reader on one NLU file: the training examples with an intent."""
    from rasa.shared.nlu.training_data.loading import load_data

    return [m for m in load_data(str(path)).training_examples if m.get("intent") and m.get("text")]


def training_index(project: Project) -> TextIndex:
    index = TextIndex()
    for path in nlu_files(project.data):
        rel = str(path.relative_to(project.root)) if path.is_relative_to(project.root) else str(path)
        for message in load_examples(path):
            index.add(rel, message.get_full_intent(), message.get("text"))
    return index


def holdout_index(project: Project) -> TextIndex:
    """Every held-out text (holdout + test splits, ``Project.held_out_files``)."""
    index = TextIndex()
    for path in project.held_out_files:
        for message in load_examples(path):
            index.add(str(path.name), message.get_full_intent(), message.get("text"))
    return index
