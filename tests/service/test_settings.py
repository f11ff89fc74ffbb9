import json
import shutil
import stat

import pytest
import yaml

from kefu import settings
from kefu.errors import ConfigError


def test_service_config_is_valid_and_complete():
    config = settings.service_config()
    assert {t: c.prefix for t, c in config.ticket_types.items()} == {
        "repair": "BX", "installation": "AZ", "complaint": "TS", "return": "TH", "suggestion": "JY",
    }
    assert config.sla["普通"].first_response_minutes == 24 * 60  # the 24 h service standard
    assert config.sla["抢修"].resolution_hours < config.sla["高"].resolution_hours
    assert config.tz.key == "Asia/Shanghai"
    assert config.type_for_prefix("TS") == "complaint"


def _write_config(tmp_path, mutate):
    data = yaml.safe_load((settings.repo_root() / "config" / "service.yml").read_text("utf-8"))
    mutate(data)
    path = tmp_path / "service.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    return path


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda d: d["ticket_types"]["repair"].update(prefix="bx1"), "ticket_types.repair.prefix"),
        (lambda d: d["ticket_types"]["return"].update(prefix="BX"), "prefixes must be unique"),
        (lambda d: d["ticket_types"].pop("suggestion"), "ticket types must be exactly"),
        (lambda d: d["sla"]["普通"].update(first_response_minutes=0), "sla.普通.first_response_minutes"),
        (lambda d: d["business_hours"].update(open="21:00"), "open must be earlier than close"),
        (lambda d: d.update(timezone="Mars/Olympus"), "unknown time zone"),
        (lambda d: d["priority_rules"]["tiers"].update(VIP="特急"), "unknown priorities: 特急"),
        (lambda d: d["urge"].update(typo=1), "urge.typo"),
    ],
)
def test_invalid_config_names_the_problem(tmp_path, mutate, expected):
    with pytest.raises(ConfigError) as info:
        settings.load_service_config(_write_config(tmp_path, mutate))
    assert expected in str(info.value)
    assert info.value.code == "config_invalid"


def test_missing_or_broken_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        settings.load_service_config(tmp_path / "nope.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("ticket_types: [unclosed", "utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        settings.load_service_config(broken)


def test_config_dir_from_environment(tmp_path, monkeypatch):
    for name in ("service.yml", "catalogue.yml"):
        shutil.copy(settings.repo_root() / "config" / name, tmp_path / name)
    _write_config(tmp_path, lambda d: d["stalled"].update(idle_hours=7))
    monkeypatch.setenv("KEFU_CONFIG_DIR", str(tmp_path))
    assert settings.service_config().stalled.idle_hours == 7
    monkeypatch.delenv("KEFU_CONFIG_DIR")
    assert settings.service_config().stalled.idle_hours == 48


def test_database_url_default_and_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KEFU_DATABASE_URL", raising=False)
    monkeypatch.setenv("KEFU_VAR_DIR", str(tmp_path))
    assert settings.database_url() == f"sqlite:///{tmp_path / 'kefu.db'}"
    monkeypatch.setenv("KEFU_DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
    assert settings.database_url() == "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def test_secrets_are_generated_once_private_and_overridable(monkeypatch, tmp_path):
    monkeypatch.setenv("KEFU_VAR_DIR", str(tmp_path))
    for name in settings.SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
    token = settings.get_secret("KEFU_RASA_TOKEN")
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text("utf-8"))
    assert set(stored) == set(settings.SECRET_NAMES)
    assert len(set(stored.values())) == len(settings.SECRET_NAMES) and all(len(v) >= 32 for v in stored.values())
    assert settings.get_secret("KEFU_RASA_TOKEN") == token  # read back, not regenerated
    assert settings.get_secret("KEFU_SESSION_SECRET") == stored["KEFU_SESSION_SECRET"]
    monkeypatch.setenv("KEFU_RASA_TOKEN", "from-env")
    assert settings.get_secret("KEFU_RASA_TOKEN") == "from-env"
    with pytest.raises(KeyError):
        settings.get_secret("HOME")


def test_the_desk_has_no_time_zone_of_its_own(tmp_path):
    """One time zone for the product: config/service.yml's. desk.yml's agent hours are read in it,
    and a desk.yml that still names a zone is refused (it would be silently ignored otherwise)."""
    from kefu.escalation.desk_config import desk_config, load_desk_config

    assert desk_config().tz == settings.service_config().tz
    data = yaml.safe_load((settings.config_dir() / "desk.yml").read_text("utf-8"))
    assert "timezone" not in data
    path = tmp_path / "desk.yml"
    path.write_text(yaml.safe_dump({**data, "timezone": "Asia/Tokyo"}, allow_unicode=True), "utf-8")
    with pytest.raises(ConfigError, match="timezone"):
        load_desk_config(path)
