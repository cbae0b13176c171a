"""Settings are validated once; a bad value is one clear sentence naming the setting."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from bot.logs import RedactingFormatter, RedactSecrets
from bot.settings import SettingsError, load_settings, normalise_database_url, redact_url

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


def test_defaults() -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.telegram_api_base_url == "https://api.telegram.org/bot"
    assert settings.telegram_file_base_url == "https://api.telegram.org/file/bot"
    assert settings.database_url.startswith("sqlite+aiosqlite:///")
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.default_language == "vi"
    assert settings.superadmin_ids == frozenset()
    assert TOKEN not in repr(settings)


def test_full_configuration() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "DATABASE_URL": "postgresql+asyncpg://canhgac:pw@db:5432/canhgac",
            "SUPERADMIN_IDS": "5000000001, 42",
            "TIMEZONE": "UTC",
            "DEFAULT_LANGUAGE": "en",
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": "s3cret_value",
            "WEBHOOK_LISTEN": "0.0.0.0:8443",
            "LOG_LEVEL": "debug",
        }
    )
    assert settings.telegram_file_base_url == "http://127.0.0.1:8081/file/bot"
    assert settings.superadmin_ids == {5000000001, 42}
    assert settings.webhook_host_port == ("0.0.0.0", 8443)
    assert settings.log_level == "DEBUG"
    assert "pw" not in repr(settings)


def test_delivery_settings() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DELIVERY_GLOBAL_PER_SECOND": "300",
            "DELIVERY_GROUP_PER_MINUTE": "200",
            "DELIVERY_PRIVATE_PER_SECOND": "10",
            "DELIVERY_PAID_BROADCAST": "true",
            "DELIVERY_RATE_STORE": "local",
            "DELIVERY_RATE_LEASES": "false",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    config = settings.delivery
    assert not config.rate_leases
    assert (config.global_per_second, config.group_per_minute, config.private_per_second) == (
        300,
        200,
        10,
    )
    assert config.paid_broadcast and config.bulk_global_per_second == 1000
    assert config.rate_store == "local" and config.redis_url == "redis://127.0.0.1:6379/0"
    defaults = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}).delivery
    assert (defaults.global_per_second, defaults.group_per_minute) == (30, 20)
    assert not defaults.paid_broadcast and defaults.rate_store == "auto" and defaults.rate_leases


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TELEGRAM_BOT_TOKEN", ""),
        ("TELEGRAM_BOT_TOKEN", "not-a-token"),
        ("TELEGRAM_API_BASE_URL", "ftp://x"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "postgresql+psycopg2://u@h/db"),
        ("DATABASE_URL", "postgresql://u:pw@h:port/db"),
        ("DATABASE_URL", "not a url"),
        ("DATABASE_URL", "postgres://u:pw@h/db?sslmode=sometimes"),
        ("SUPERADMIN_IDS", "12,abc"),
        ("TIMEZONE", "Mars/Olympus"),
        ("DEFAULT_LANGUAGE", "fr"),
        ("WEBHOOK_URL", "not a url"),
        ("WEBHOOK_SECRET", "has spaces"),
        ("WEBHOOK_LISTEN", "8443"),
        ("LOG_LEVEL", "LOUD"),
        ("DELIVERY_GLOBAL_PER_SECOND", "0"),
        ("DELIVERY_GROUP_PER_MINUTE", "many"),
        ("DELIVERY_PRIVATE_PER_SECOND", "1000"),
        ("DELIVERY_PAID_BROADCAST", "maybe"),
        ("DELIVERY_RATE_LEASES", "sometimes"),
        ("DELIVERY_RATE_STORE", "memcached"),
        ("REDIS_URL", "http://127.0.0.1:6379"),
    ],
)
def test_bad_value_names_the_setting(name: str, value: str) -> None:
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, name: value}
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    message = str(raised.value)
    assert message.startswith(name) and message.endswith(".") and "\n" not in message
    assert TOKEN not in message


@pytest.mark.parametrize(
    ("written", "used"),
    [
        ("sqlite:///canhgac.sqlite3", "sqlite+aiosqlite:///canhgac.sqlite3"),
        (
            "sqlite:////var/lib/canhgac/db.sqlite3",
            "sqlite+aiosqlite:////var/lib/canhgac/db.sqlite3",
        ),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        (
            "postgresql://canhgac:pw@db:5432/canhgac",
            "postgresql+asyncpg://canhgac:pw@db:5432/canhgac",
        ),
        (
            "postgres://u:p%40ss@db.example.com/d1",
            "postgresql+asyncpg://u:p%40ss@db.example.com/d1",
        ),
        ("postgresql+asyncpg://u:pw@h/db", "postgresql+asyncpg://u:pw@h/db"),
        ("postgres://u:pw@h/db?sslmode=require", "postgresql+asyncpg://u:pw@h/db?ssl=require"),
        ("postgresql://u@h/db?sslmode=disable", "postgresql+asyncpg://u@h/db?ssl=disable"),
        ("postgresql://u@h/db?sslmode=verify-full", "postgresql+asyncpg://u@h/db?ssl=verify-full"),
        ("postgresql://u@h/db?ssl=prefer", "postgresql+asyncpg://u@h/db?ssl=prefer"),
    ],
)
def test_database_urls_as_people_write_them(written: str, used: str) -> None:
    assert normalise_database_url(written) == used
    assert load_settings({"DATABASE_URL": written}, require_token=False).database_url == used


@pytest.mark.parametrize(
    ("url", "shown_part"),
    [
        ("postgres://canhgac:S3cret-pw@db:5432/canhgac", "canhgac:***@db"),
        ("postgresql://canhgac:S3cret-pw@db:port/canhgac", "canhgac:***@db"),
        ("mysql://canhgac:S3cret-pw@db/canhgac", "canhgac:***@db"),
        ("postgres://canhgac:S3cret-pw@db/canhgac?sslmode=sometimes", "sslmode='sometimes'"),
    ],
)
def test_database_url_errors_and_repr_hide_the_password(url: str, shown_part: str) -> None:
    try:
        settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, "DATABASE_URL": url})
    except SettingsError as exc:
        shown = str(exc)
        assert shown.startswith("DATABASE_URL")
    else:
        shown = repr(settings)
    assert "S3cret-pw" not in shown and shown_part in shown


@pytest.mark.parametrize(
    ("url", "redacted"),
    [
        ("postgres://u:pw@h/db", "postgres://u:***@h/db"),
        ("postgres://u:p@ss@h/db", "postgres://u:***@h/db"),
        ("postgres://u@h/db", "postgres://u@h/db"),
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_redact_url(url: str, redacted: str) -> None:
    assert redact_url(url) == redacted


def test_run_without_token_exits_2_with_one_sentence(tmp_path: pytest.TempPathFactory) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(_root())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("canhgac: TELEGRAM_BOT_TOKEN is not set")
    assert len(result.stderr.strip().splitlines()) == 1


def test_token_is_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("test.redaction")
    redact = RedactSecrets(TOKEN)
    logger.addFilter(redact)
    try:
        with caplog.at_level(logging.INFO, logger="test.redaction"):
            logger.info("POST https://api.telegram.org/bot%s/getMe", TOKEN)
    finally:
        logger.removeFilter(redact)
    assert TOKEN not in caplog.text and "<redacted>" in caplog.text


def test_formatter_redacts_tracebacks_too() -> None:
    formatter = RedactingFormatter("%(levelname)s %(message)s", TOKEN)
    try:
        raise ValueError(f"The token `{TOKEN}` was rejected by the server.")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    text = formatter.format(record)
    assert "Traceback" in text and "<redacted>" in text and TOKEN not in text


def _root() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parents[2])


def test_digest_settings() -> None:
    default = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert (default.digest_schedule, default.digest_grace_hours) == ("0 8 * * 1", 24)
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "DIGEST_SCHEDULE": "  30 7  * * 5 ",
            "DIGEST_GRACE_HOURS": "6",
        }
    )
    assert settings.digest_schedule == "30 7 * * 5"
    assert settings.digests.grace.total_seconds() == 6 * 3600


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DIGEST_SCHEDULE", "every monday"),
        ("DIGEST_SCHEDULE", "0 8 * *"),
        ("DIGEST_SCHEDULE", "0 25 * * 1"),
        ("DIGEST_SCHEDULE", "0 8 * * 9"),
        ("DIGEST_GRACE_HOURS", "0"),
        ("DIGEST_GRACE_HOURS", "168"),
        ("DIGEST_GRACE_HOURS", "a day"),
    ],
)
def test_bad_digest_setting_names_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({"TELEGRAM_BOT_TOKEN": TOKEN, name: value})
