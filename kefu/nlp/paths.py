"""Where the NLP helpers read configuration and write generated files.

Deliberately independent of ``kefu.settings`` so the build can run before the
service layer is configured.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    """Operator configuration directory (env ``KEFU_CONFIG_DIR``, default ``config/``)."""
    return Path(os.environ.get("KEFU_CONFIG_DIR") or REPO_ROOT / "config")


def catalogue_path() -> Path:
    return config_dir() / "catalogue.yml"


def build_dir() -> Path:
    return REPO_ROOT / "build"


def jieba_dict_dir() -> Path:
    """Directory for Rasa's JiebaTokenizer ``dictionary_path`` (it globs ``dir/*``)."""
    return build_dir() / "jieba"


def userdict_path() -> Path:
    return jieba_dict_dir() / "userdict.txt"


def spacy_model_dir() -> Path:
    return build_dir() / "spacy_zh"


def nlu_catalogue_path() -> Path:
    return REPO_ROOT / "data" / "nlu" / "catalogue.yml"
