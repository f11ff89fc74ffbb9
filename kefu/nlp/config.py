"""Settings of the NLP helpers: packaged defaults overlaid by ``config/nlp.yml``."""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import conint, validator

from kefu.nlp import paths
from kefu.settings import StrictConfig

DEFAULTS_PATH = Path(__file__).with_name("nlp_defaults.yml")
OVERRIDE_NAME = "nlp.yml"
_WORD = re.compile(r"^\S+$")


def _clock(value: str) -> dt.time:
    return dt.datetime.strptime(value, "%H:%M").time()


def _window(value: List[str]) -> Tuple[dt.time, dt.time]:
    if len(value) != 2:
        raise ValueError("a window is [start, end] as HH:MM")
    start, end = _clock(value[0]), _clock(value[1])
    if start >= end:
        raise ValueError(f"window {value} ends before it starts")
    return start, end


class _Strict(StrictConfig):
    class Config:  # merged with StrictConfig's (pydantic 1): also allows ZoneInfo fields
        arbitrary_types_allowed = True


class JiebaSettings(_Strict):
    word_freq: conint(gt=0)
    catalogue_pos: str
    service_words: Dict[str, List[str]]

    @validator("service_words")
    def _no_spaces(cls, value: Dict[str, List[str]]) -> Dict[str, List[str]]:
        for words in value.values():
            for word in words:
                if not _WORD.match(word):
                    raise ValueError(f"dictionary word {word!r} must not contain spaces")
        return value


class AppointmentSettings(_Strict):
    timezone: ZoneInfo
    service_day: Tuple[dt.time, dt.time]
    visit_hours: Tuple[dt.time, dt.time]
    exact_minutes: conint(gt=0)
    lead_minutes: conint(ge=0)
    round_minutes: conint(gt=0, le=60)
    min_window_minutes: conint(gt=0)
    max_days_ahead: conint(gt=0)
    pm_below_hour: conint(ge=0, le=12)
    periods: Dict[str, Tuple[dt.time, dt.time]]
    period_aliases: Dict[str, str]
    shorthands: Dict[str, str]
    asap_words: List[str]
    negations: List[str]
    service_slots: List[Tuple[dt.time, dt.time]]

    @validator("timezone", pre=True)
    def _zone(cls, value: str) -> ZoneInfo:
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:  # a KeyError pydantic would not catch
            raise ValueError(f"unknown timezone {value!r}") from exc

    _day = validator("service_day", "visit_hours", pre=True, allow_reuse=True)(_window)

    @validator("periods", pre=True)
    def _periods(cls, value: Dict[str, List[str]]) -> Dict[str, Tuple[dt.time, dt.time]]:
        return {name: _window(window) for name, window in value.items()}

    @validator("service_slots", pre=True)
    def _slots(cls, value: List[List[str]]) -> List[Tuple[dt.time, dt.time]]:
        slots = sorted(_window(window) for window in value)
        if not slots:
            raise ValueError("at least one service slot is needed")
        return slots

    @validator("period_aliases")
    def _aliases_known(cls, value: Dict[str, str], values: Dict[str, Any]) -> Dict[str, str]:
        unknown = set(value.values()) - set(values.get("periods", {}))
        if unknown:
            raise ValueError(f"aliases point to unknown periods: {sorted(unknown)}")
        return value


class NormalizerSettings(_Strict):
    leading_courtesy: List[str]
    leading_acknowledgements: List[str]
    trailing_courtesy: List[str]
    min_content_chars: conint(ge=1)  # type: ignore[valid-type]


class NlpSettings(_Strict):
    jieba: JiebaSettings
    appointment: AppointmentSettings
    normalizer: NormalizerSettings


def _merge(base: Dict[str, Any], override: Dict[str, Any]) -> Dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def override_path() -> Path:
    return paths.config_dir() / OVERRIDE_NAME


def raw_settings(override: Optional[Path] = None) -> Dict[str, Any]:
    """Defaults merged with the operator file (``config/nlp.yml`` if it exists)."""
    data = yaml.safe_load(DEFAULTS_PATH.read_text("utf-8"))
    override = override or override_path()
    if override.exists():
        data = _merge(data, yaml.safe_load(override.read_text("utf-8")) or {})
    return data


def load_settings(override: Optional[Path] = None) -> NlpSettings:
    return _load(override or override_path())


@lru_cache(maxsize=8)
def _load(override: Path) -> NlpSettings:
    return NlpSettings.parse_obj(raw_settings(override))
