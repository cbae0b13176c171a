"""Logging set-up; the bot token never reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterable

# Loggers that speak while the database is prepared (migrations, the area list); commands
# whose output is their answer (`canhgac officer …`) keep them quiet.
PREPARATION_LOGGERS = ("storage.migrate", "bot.services.area_sync")
# Libraries whose INFO lines are noise to an operator (httpx's URLs also carry the token).
_NOISY = ("httpx", "httpcore", "apscheduler", "alembic")
# Libraries that log every call's parameters below INFO — PTB each Bot API call's chat ids and
# texts, httpcore each request; SQLAlchemy (from INFO) and aiosqlite each statement's values,
# such as a reporter's Telegram id. They stay at least this quiet whatever LOG_LEVEL says.
PARAMETER_LOGGERS = {
    "telegram": logging.INFO,
    "httpx": logging.INFO,
    "httpcore": logging.INFO,
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.INFO,
}


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<redacted>")
    return text


class RedactSecrets(logging.Filter):
    """Replaces secrets (the bot token, the webhook secret) in every record's message."""

    def __init__(self, *secrets: str | None) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self._secrets):
            record.msg, record.args = _redact(message, self._secrets), None
        return True


class RedactingFormatter(logging.Formatter):
    """Formats a record, then removes the secrets from all of it, tracebacks included
    (PTB's InvalidToken names the token in its message)."""

    def __init__(self, fmt: str, *secrets: str | None) -> None:
        super().__init__(fmt)
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record), self._secrets)


def configure_logging(level: str, *secrets: str | None, quiet: Iterable[str] = ()) -> None:
    """Log to stderr at `level`, secrets removed; library chatter and the `quiet` loggers are
    raised to WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", *secrets)
    )
    handler.addFilter(RedactSecrets(*secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    keep_parameters_out(quiet)


def keep_parameters_out(quiet: Iterable[str] = ()) -> None:
    """Raise library chatter and the `quiet` loggers to WARNING, and keep the loggers that
    would write call parameters (chat ids, a reporter's id) at INFO or above, so that no log
    line at any level carries a private chat's id."""
    for name in (*_NOISY, *quiet):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name, floor in PARAMETER_LOGGERS.items():
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < floor:
            logger.setLevel(floor)
