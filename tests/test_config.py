"""Configuration: every setting documented in config.example.toml, TOML < environment, clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.config import ConfigError, Settings, load_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def _fields(model: type[BaseModel], prefix: str = "") -> set[str]:
    names: set[str] = set()
    for name, info in model.model_fields.items():
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= _fields(kind, f"{prefix}{name}.")
        elif name != "alerts":  # per-department tables, documented as a commented example
            names.add(prefix + name)
    return names


def _documented(text: str) -> set[str]:
    found: set[str] = set()
    section = ""
    for line in text.splitlines():
        bare = line.lstrip("# ").strip()
        if bare.startswith("[") and not bare.startswith("[alerts"):
            section = bare.strip("[]").split(".")[0]
        elif "=" in bare and section and not line.startswith("#"):
            found.add(f"{section}.{bare.split('=')[0].strip()}")
        elif "=" in bare and section:
            found.add(f"{section}.{bare.split('=')[0].strip()}")
    return found


def test_example_documents_every_setting_and_loads() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = _fields(Settings) - _documented(text) - {"tickets.tiers", "tickets.matter_deadlines"}
    assert not missing, f"undocumented settings: {sorted(missing)}"
    assert "tiers" in tomllib.loads(text)["tickets"]
    settings = load_settings(EXAMPLE)
    assert settings.wechat.path == "/wechat" and settings.wecom.path == "/wecom"


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[server]\nport = 9000\n[redis]\nkey_prefix = "a:"\n', encoding="utf-8")
    monkeypatch.setenv("WUYE_SERVER__PORT", "9100")
    settings = load_settings(path)
    assert settings.server.port == 9100 and settings.redis.key_prefix == "a:"


def test_alert_channels_per_department(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[alerts.police]\nwecom_webhook = "https://x/send?key=k"\nwecom_users = ["zs"]\n', encoding="utf-8")
    settings = load_settings(path)
    assert settings.alerts["police"].wecom_users == ["zs"]


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ('[server]\nport = "eighty"\n', "server.port"),
        ('[wechat]\nencoding_aes_key = "short"\n', "wechat.encoding_aes_key"),
        ('[tickets]\nsign_within = "soon"\n', "tickets.sign_within"),
        ('[outbox]\nclaim_idle = 1000\nbackoff_cap = 60\n', "outbox"),
        ("[server\n", "cannot read"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, toml: str, key: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_settings(path)


def test_secrets_do_not_show_in_repr() -> None:
    settings = load_settings(None, wechat={"token": "tok-secret", "app_secret": "app-secret"})
    assert "tok-secret" not in repr(settings) and "app-secret" not in repr(settings)
