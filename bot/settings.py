"""Typed settings, read and validated once at start from the environment (and `.env`)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.delivery.config import DeliveryConfig
from bot.scheduling.recurring import crontab_trigger
from bot.services.digest_types import DigestConfig
from bot.services.tip_types import TipConfig

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///canhgac.sqlite3"
SUPPORTED_LANGUAGES = ("vi", "en")
RATE_STORES = ("auto", "local")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# The URL schemes people write, and the async driver each one runs on.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",  # what hosting platforms hand out
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
# libpq's sslmode values; asyncpg takes the same words in its `ssl` parameter.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

_URL_PASSWORD_RE = re.compile(r"(://[^:/?#@]*:).*@")
_TOKEN_RE = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{5,}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def file_base_url(api_base_url: str) -> str:
    """PTB builds file URLs from a separate base: `.../bot` becomes `.../file/bot`."""
    if api_base_url.endswith("/bot"):
        return api_base_url[: -len("/bot")] + "/file/bot"
    return api_base_url.rstrip("/") + "/file/bot"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one sentence naming it."""


class StartupError(SettingsError):
    """A well-formed setting does not work (the Bot API, the database or Telegram refused it);
    the message is one sentence naming the setting, never the token or a password."""


@dataclass(frozen=True)
class Settings:
    """Everything the program reads from its environment."""

    telegram_bot_token: str
    telegram_api_base_url: str = DEFAULT_API_BASE_URL
    database_url: str = DEFAULT_DATABASE_URL
    superadmin_ids: frozenset[int] = field(default_factory=frozenset)
    timezone: str = "Asia/Ho_Chi_Minh"
    default_language: str = "vi"
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_listen: str = "127.0.0.1:8443"
    log_level: str = "INFO"
    delivery_global_per_second: int = 30
    delivery_group_per_minute: int = 20
    delivery_private_per_second: int = 1
    delivery_paid_broadcast: bool = False
    delivery_rate_leases: bool = True
    delivery_rate_store: str = "auto"
    redis_url: str | None = None
    scheduler_tick_seconds: int = 5
    tips_per_hour: int = 5
    tip_ack_urgent_minutes: int = 30
    tip_ack_hours: int = 24
    tip_identity_retention_days: int = 30
    tip_hash_secret: str | None = None
    digest_schedule: str = "0 8 * * 1"
    digest_grace_hours: int = 24

    @property
    def digests(self) -> DigestConfig:
        """When weekly digests go out (a crontab line in TIMEZONE) and how late they may."""
        return DigestConfig(schedule=self.digest_schedule, grace_hours=self.digest_grace_hours)

    @property
    def tips(self) -> TipConfig:
        """Residents' tips: the per-person limit, acknowledgement deadlines, privacy."""
        return TipConfig(
            per_hour=self.tips_per_hour,
            ack_urgent_minutes=self.tip_ack_urgent_minutes,
            ack_hours=self.tip_ack_hours,
            identity_retention_days=self.tip_identity_retention_days,
            hash_secret=self.tip_hash_secret,
        )

    @property
    def delivery(self) -> DeliveryConfig:
        """The delivery engine's limits (Telegram's by default) and shared-limit store."""
        return DeliveryConfig(
            global_per_second=self.delivery_global_per_second,
            group_per_minute=self.delivery_group_per_minute,
            private_per_second=self.delivery_private_per_second,
            paid_broadcast=self.delivery_paid_broadcast,
            rate_store=self.delivery_rate_store,
            redis_url=self.redis_url,
            rate_leases=self.delivery_rate_leases,
        )

    @property
    def telegram_file_base_url(self) -> str:
        """The file URL PTB needs, derived from the Bot API base URL."""
        return file_base_url(self.telegram_api_base_url)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host, int(port)

    def __repr__(self) -> str:  # never print the token
        return f"Settings(api={self.telegram_api_base_url!r}, db={redact_url(self.database_url)!r})"


def redact_url(url: str) -> str:
    """The URL with its password replaced by *** (also when the URL does not parse)."""
    # Greedy up to the last "@": an unencoded "@" in a password is hidden too.
    return _URL_PASSWORD_RE.sub(r"\1***@", url)


def _require_token(env: Mapping[str, str]) -> str:
    token = env.get("TELEGRAM_BOT_TOKEN", "").strip()
    if not token:
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN is not set: put the token @BotFather gave you in .env "
            "(see config.example.env)."
        )
    if not _TOKEN_RE.match(token):
        raise SettingsError(
            "TELEGRAM_BOT_TOKEN is malformed: it must look like 123456789:AA... "
            "as @BotFather gives it."
        )
    return token


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(f"{name} must be an http(s) URL, got {value!r}.")
    return value


def normalise_database_url(value: str) -> str:
    """The async SQLAlchemy URL for a URL as people write it (`sqlite:///f.db`, `postgres://…`,
    `?sslmode=require`)."""
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise SettingsError(
            f"DATABASE_URL is malformed: {redact_url(value)!r} is not a URL such as "
            "sqlite:///canhgac.sqlite3 or postgresql://user:password@host:5432/name."
        ) from None
    driver = _ASYNC_DRIVERS.get(url.drivername)
    if driver is None:
        raise SettingsError(
            "DATABASE_URL must start with sqlite://, postgresql:// or postgres:// "
            f"(or their +aiosqlite / +asyncpg forms), got {redact_url(value)!r}."
        )
    url = url.set(drivername=driver)
    if driver == "postgresql+asyncpg":
        url = _asyncpg_ssl(url)
    return url.render_as_string(hide_password=False)


def _asyncpg_ssl(url: URL) -> URL:
    """asyncpg knows no `sslmode`: its `ssl` parameter takes the same values."""
    raw = url.query.get("sslmode")
    if raw is None:
        return url
    mode = raw if isinstance(raw, str) else raw[-1]
    if mode not in SSL_MODES:
        raise SettingsError(
            f"DATABASE_URL has sslmode={mode!r}; use one of {', '.join(SSL_MODES)}."
        )
    return url.difference_update_query(["sslmode"]).update_query_dict({"ssl": mode})


def _superadmins(value: str) -> frozenset[int]:
    ids: set[int] = set()
    for item in value.replace(" ", "").split(","):
        if not item:
            continue
        if not re.fullmatch(r"\d{1,20}", item) or int(item) >= 2**63:
            raise SettingsError(
                f"SUPERADMIN_IDS must be comma-separated Telegram user ids, {item!r} is not one."
            )
        ids.add(int(item))
    return frozenset(ids)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"TIMEZONE must be an IANA time zone such as Asia/Ho_Chi_Minh, got {value!r}."
        ) from None
    return value


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def _positive_int(env: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not 0 < int(value) <= maximum:
        raise SettingsError(f"{name} must be a whole number from 1 to {maximum}, got {value!r}.")
    return int(value)


def _int_between(
    env: Mapping[str, str], name: str, default: int, minimum: int, maximum: int
) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not minimum <= int(value) <= maximum:
        raise SettingsError(
            f"{name} must be a whole number from {minimum} to {maximum}, got {value!r}."
        )
    return int(value)


def _tip_hash_secret(value: str) -> str | None:
    """Optional: without it a random secret is generated once and kept in the database."""
    if not value:
        return None
    if not 32 <= len(value) <= 256 or not value.isprintable():
        raise SettingsError(
            "TIP_HASH_SECRET must be 32 to 256 printable characters, such as the output of "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )
    return value


def _digest_schedule(value: str, timezone: str) -> str:
    """A crontab line APScheduler reads (minute hour day month weekday, 1 = Monday)."""
    try:
        crontab_trigger(value, ZoneInfo(timezone))
    except ValueError:
        raise SettingsError(
            "DIGEST_SCHEDULE must be a crontab line (minute hour day month weekday), such as "
            f"0 8 * * 1 for Mondays at 08:00, got {value!r}."
        ) from None
    return value


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise SettingsError(f"{name} must be true or false, got {value!r}.")


def _redis_url(value: str) -> str | None:
    if not value:
        return None
    if not re.match(r"^rediss?://", value):
        raise SettingsError(
            f"REDIS_URL must start with redis:// or rediss://, got {redact_url(value)!r}."
        )
    return value


def _webhook(env: Mapping[str, str]) -> tuple[str | None, str | None, str]:
    url = env.get("WEBHOOK_URL", "").strip() or None
    secret = env.get("WEBHOOK_SECRET", "").strip() or None
    listen = env.get("WEBHOOK_LISTEN", "").strip() or "127.0.0.1:8443"
    if url is not None:
        _http_url("WEBHOOK_URL", url)
    if secret is not None and not _SECRET_RE.match(secret):
        raise SettingsError(
            "WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1 to 256 characters)."
        )
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SettingsError(
            f"WEBHOOK_LISTEN must be host:port, such as 0.0.0.0:8443, got {listen!r}."
        )
    return url, secret, listen


def load_settings(env: Mapping[str, str] | None = None, *, require_token: bool = True) -> Settings:
    """Build settings from `env` (default: the process environment), validating every value."""
    env = os.environ if env is None else env
    token = _require_token(env) if require_token else env.get("TELEGRAM_BOT_TOKEN", "")
    webhook_url, webhook_secret, webhook_listen = _webhook(env)
    timezone = _timezone(env.get("TIMEZONE", "").strip() or "Asia/Ho_Chi_Minh")
    return Settings(
        telegram_bot_token=token,
        telegram_api_base_url=_http_url(
            "TELEGRAM_API_BASE_URL",
            env.get("TELEGRAM_API_BASE_URL", "").strip() or DEFAULT_API_BASE_URL,
        ),
        database_url=normalise_database_url(
            env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL
        ),
        superadmin_ids=_superadmins(env.get("SUPERADMIN_IDS", "")),
        timezone=timezone,
        default_language=_choice(
            "DEFAULT_LANGUAGE", env.get("DEFAULT_LANGUAGE", "").strip() or "vi", SUPPORTED_LANGUAGES
        ),
        webhook_url=webhook_url,
        webhook_secret=webhook_secret,
        webhook_listen=webhook_listen,
        delivery_global_per_second=_positive_int(env, "DELIVERY_GLOBAL_PER_SECOND", 30, 1000),
        delivery_group_per_minute=_positive_int(env, "DELIVERY_GROUP_PER_MINUTE", 20, 1000),
        delivery_private_per_second=_positive_int(env, "DELIVERY_PRIVATE_PER_SECOND", 1, 100),
        delivery_paid_broadcast=_flag(env, "DELIVERY_PAID_BROADCAST"),
        delivery_rate_leases=_flag(env, "DELIVERY_RATE_LEASES", default=True),
        delivery_rate_store=_choice(
            "DELIVERY_RATE_STORE",
            env.get("DELIVERY_RATE_STORE", "").strip().lower() or "auto",
            RATE_STORES,
        ),
        redis_url=_redis_url(env.get("REDIS_URL", "").strip()),
        scheduler_tick_seconds=_positive_int(env, "SCHEDULER_TICK_SECONDS", 5, 3600),
        tips_per_hour=_int_between(env, "TIPS_PER_HOUR", 5, 1, 100),
        tip_ack_urgent_minutes=_int_between(env, "TIP_ACK_URGENT_MINUTES", 30, 1, 1440),
        tip_ack_hours=_int_between(env, "TIP_ACK_HOURS", 24, 1, 720),
        # At least the week in which a reporter may say "still happening" (needs their id).
        tip_identity_retention_days=_int_between(env, "TIP_IDENTITY_RETENTION_DAYS", 30, 7, 3650),
        tip_hash_secret=_tip_hash_secret(env.get("TIP_HASH_SECRET", "").strip()),
        digest_schedule=_digest_schedule(
            " ".join(env.get("DIGEST_SCHEDULE", "").split()) or "0 8 * * 1", timezone
        ),
        # Under a week: a weekly digest older than that would be confused with the next one.
        digest_grace_hours=_int_between(env, "DIGEST_GRACE_HOURS", 24, 1, 167),
        log_level=_choice(
            "LOG_LEVEL", env.get("LOG_LEVEL", "").strip().upper() or "INFO", LOG_LEVELS
        ),
    )


def load_dotenv_file(path: Path | None = None) -> None:
    """Load `.env` (if present) into the process environment without overriding real variables."""
    from dotenv import load_dotenv

    load_dotenv(dotenv_path=path or Path.cwd() / ".env", override=False)
