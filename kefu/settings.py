"""Paths, database URL, secrets and the validated service configuration.

Environment variables:
  KEFU_DATABASE_URL   SQLAlchemy URL; default: SQLite file ``var/kefu.db`` in the repo.
  KEFU_CONFIG_DIR     directory holding service.yml and catalogue.yml; default ``config/``.
  KEFU_VAR_DIR        runtime state directory; default ``var/``.
  KEFU_RASA_TOKEN, KEFU_SESSION_SECRET, KEFU_CUSTOMER_TOKEN_KEY, KEFU_ACTION_SECRET
                      secrets; when unset they are generated once into
                      ``var/secrets.json`` (mode 0600, git-ignored).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Dict, Generic, Iterable, List, Mapping, Optional, Type, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, Field, ValidationError, conint, constr, root_validator, validator

from kefu.errors import ConfigError

SECRET_NAMES = ("KEFU_RASA_TOKEN", "KEFU_SESSION_SECRET", "KEFU_CUSTOMER_TOKEN_KEY", "KEFU_ACTION_SECRET", "KEFU_REST_TOKEN")
TICKET_TYPES = ("repair", "installation", "complaint", "return", "suggestion")
PRIORITIES = ("抢修", "高", "普通")  # highest first


@lru_cache(maxsize=1)
def repo_root() -> Path:
    # cached: every configuration read asks for it, and resolve() is a syscall per path part
    return Path(__file__).resolve().parent.parent


def config_dir() -> Path:
    return Path(os.environ.get("KEFU_CONFIG_DIR") or repo_root() / "config")


def var_dir() -> Path:
    return Path(os.environ.get("KEFU_VAR_DIR") or repo_root() / "var")


def rasa_url(env: Optional[Mapping[str, str]] = None) -> str:
    """Rasa's HTTP API: KEFU_RASA_URL, else 127.0.0.1 on KEFU_RASA_PORT (default 5005)."""
    env = os.environ if env is None else env
    url = env.get("KEFU_RASA_URL") or f"http://127.0.0.1:{env.get('KEFU_RASA_PORT') or 5005}"
    return url.rstrip("/")


def latest_model(models_dir: Optional[Path] = None, exclude: Iterable[Path] = ()) -> Optional[Path]:
    """The newest trained model (``*.tar.gz`` by modification time) in ``models/``, or None."""
    excluded = {Path(p).resolve() for p in exclude}
    models = sorted(
        (p for p in Path(models_dir or repo_root() / "models").glob("*.tar.gz") if p.resolve() not in excluded),
        key=lambda p: p.stat().st_mtime,
    )
    return models[-1] if models else None


def database_url() -> str:
    return os.environ.get("KEFU_DATABASE_URL") or f"sqlite:///{var_dir() / 'kefu.db'}"


# --- secrets -----------------------------------------------------------------


def get_secret(name: str) -> str:
    """A secret from the environment, else from ``var/secrets.json`` (created on first use)."""
    if name not in SECRET_NAMES:
        raise KeyError(name)
    return os.environ.get(name) or _stored_secrets(var_dir() / "secrets.json")[name]


def _stored_secrets(path: Path) -> Dict[str, str]:
    stored = json.loads(path.read_text("utf-8")) if path.exists() else {}
    if all(stored.get(name) for name in SECRET_NAMES):
        return stored
    fresh = {name: stored.get(name) or secrets.token_urlsafe(32) for name in SECRET_NAMES}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".secrets-")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(fresh, f, indent=2)
        if stored:
            os.replace(tmp, path)  # filling in a key someone removed by hand
        else:
            try:
                # link() fails if another process created the file first: theirs wins,
                # so every process ends up with the same secrets.
                os.link(tmp, path)
            except FileExistsError:
                return _stored_secrets(path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return fresh


# --- service.yml ---------------------------------------------------------------


class StrictConfig(BaseModel):
    """Base of every validated config file: unknown keys are errors, values are read-only."""

    class Config:
        extra = "forbid"
        allow_mutation = False


_Strict = StrictConfig


class TicketTypeConfig(_Strict):
    prefix: constr(regex=r"^[A-Z]{2}$")  # type: ignore[valid-type]
    label: constr(min_length=1)  # type: ignore[valid-type]
    department: constr(min_length=1)  # type: ignore[valid-type]
    group: constr(min_length=1)  # type: ignore[valid-type]
    groups_by_product: Dict[str, str] = {}
    cancel_note: str = ""  # said when the customer is asked to confirm a cancellation


class EmergencyConfig(_Strict):
    department: str
    group: str
    ticket_types: List[str]
    use_catalogue_faults: bool = True
    keywords: List[constr(min_length=1)] = []  # type: ignore[valid-type]


class SlaConfig(_Strict):
    first_response_minutes: conint(gt=0)  # type: ignore[valid-type]
    resolution_hours: conint(gt=0)  # type: ignore[valid-type]
    business_hours: bool = True


class BusinessHoursConfig(_Strict):
    weekdays: List[conint(ge=1, le=7)] = Field(min_items=1)  # type: ignore[valid-type]
    open: dt.time
    close: dt.time
    closed_dates: List[dt.date] = []

    @root_validator(skip_on_failure=True)
    def _open_before_close(cls, values):
        if values["open"] >= values["close"]:
            raise ValueError("business_hours.open must be earlier than close")
        return values


class RepeatComplaintRule(_Strict):
    window_days: conint(gt=0)  # type: ignore[valid-type]
    priority: str


class RepeatRepairRule(_Strict):
    nth: conint(ge=2)  # type: ignore[valid-type]
    window_days: conint(gt=0)  # type: ignore[valid-type]
    priority: str


class PriorityRules(_Strict):
    repeat_complaint: RepeatComplaintRule
    repeat_repair: RepeatRepairRule
    tiers: Dict[str, str] = {}


class UrgeConfig(_Strict):
    escalate_after_urges: conint(ge=1)  # type: ignore[valid-type]
    escalate_when_overdue: bool = True


class StalledConfig(_Strict):
    idle_hours: conint(gt=0)  # type: ignore[valid-type]


class SurveyConfig(_Strict):
    dimensions: Dict[str, str] = {}
    followup_after_hours: conint(gt=0) = 24  # type: ignore[valid-type]  # 回访 queue (desk and next chat)
    low_score_max: conint(ge=1, le=5) = 2  # type: ignore[valid-type]  # this or lower: a supervisor follows up
    low_score_days: conint(gt=0) = 7  # type: ignore[valid-type]  # how long the supervisor page lists it


class TierServiceConfig(_Strict):
    ticket_groups: Dict[str, str] = {}  # ticket type -> group, for verified customers of the tier


class TokensConfig(_Strict):
    customer_ttl_seconds: conint(gt=0)  # type: ignore[valid-type]
    history_ttl_seconds: conint(gt=0) = 2592000  # type: ignore[valid-type]


class ServiceConfig(_Strict):
    timezone: str
    ticket_types: Dict[str, TicketTypeConfig]
    emergency: EmergencyConfig
    sla: Dict[str, SlaConfig]
    business_hours: BusinessHoursConfig
    confirm_visit_minutes_before: conint(ge=0) = 60  # type: ignore[valid-type]
    priority_rules: PriorityRules
    urge: UrgeConfig
    stalled: StalledConfig
    survey: SurveyConfig
    tokens: TokensConfig
    tier_service: Dict[str, TierServiceConfig] = {}

    @validator("timezone")
    def _known_timezone(cls, value):
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @validator("ticket_types")
    def _all_types_unique_prefixes(cls, value):
        if set(value) != set(TICKET_TYPES):
            raise ValueError(f"ticket types must be exactly {', '.join(TICKET_TYPES)}")
        prefixes = [t.prefix for t in value.values()]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("ticket prefixes must be unique")
        return value

    @validator("emergency")
    def _emergency_types_known(cls, value):
        unknown = sorted(set(value.ticket_types) - set(TICKET_TYPES))
        if unknown:
            raise ValueError(f"unknown ticket types: {', '.join(unknown)}")
        return value

    @validator("tier_service")
    def _tier_service_known(cls, value):
        from kefu.models.service import TIERS

        unknown = sorted(set(value) - set(TIERS))
        if unknown:
            raise ValueError(f"unknown customer tiers: {', '.join(unknown)}")
        types = sorted({t for tier in value.values() for t in tier.ticket_groups} - set(TICKET_TYPES))
        if types:
            raise ValueError(f"unknown ticket types: {', '.join(types)}")
        return value

    @validator("sla")
    def _all_priorities(cls, value):
        if set(value) != set(PRIORITIES):
            raise ValueError(f"sla needs exactly the priorities {', '.join(PRIORITIES)}")
        return value

    @root_validator(skip_on_failure=True)
    def _rule_priorities_known(cls, values):
        rules = values["priority_rules"]
        used = [rules.repeat_complaint.priority, rules.repeat_repair.priority, *rules.tiers.values()]
        unknown = sorted(set(used) - set(PRIORITIES))
        if unknown:
            raise ValueError(f"priority_rules use unknown priorities: {', '.join(unknown)}")
        return values

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def local_iso(self, moment: Optional[dt.datetime]) -> Optional[str]:
        """ISO 8601 in the centre's time zone, to the minute: 2026-11-23T10:00+08:00."""
        return moment.astimezone(self.tz).isoformat(timespec="minutes") if moment else None

    def type_for_prefix(self, prefix: str) -> Optional[str]:
        return next((name for name, t in self.ticket_types.items() if t.prefix == prefix), None)


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must contain a mapping at the top level")
    return data


def load_yaml_config(path: Path, model: type):
    """Read a YAML config file into a pydantic model; ConfigError names the bad keys."""
    try:
        return model.parse_obj(_read_yaml(path))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid {path}: {problems}") from None


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class ConfigFile(Generic[ConfigT]):
    """One file of config/ read into its model: the one loader of every configuration file.

    ``load(path=None)`` reads and validates it (ConfigError names the bad keys); calling the
    instance returns it cached per file path, so tests that point ``config_dir()`` elsewhere
    get their own files.
    """

    def __init__(self, name: str, model: Type[ConfigT]) -> None:
        self.name = name
        self.model = model
        self._cached = lru_cache(maxsize=None)(self._read)

    def _read(self, path: Path) -> ConfigT:
        config: ConfigT = load_yaml_config(path, self.model)
        return config

    def load(self, path: Optional[Path] = None) -> ConfigT:
        return self._read(Path(path or config_dir() / self.name))

    def __call__(self) -> ConfigT:
        return self._cached(config_dir() / self.name)


service_config = ConfigFile("service.yml", ServiceConfig)  # the validated service configuration
load_service_config = service_config.load
