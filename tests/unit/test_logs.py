"""LOG_LEVEL=DEBUG never lets a library write call parameters (chat ids, a reporter's id)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.logs import PARAMETER_LOGGERS, configure_logging, keep_parameters_out

WATCHED = [*PARAMETER_LOGGERS, "telegram.ext.ExtBot", "sqlalchemy.engine.Engine", "bot", ""]


@pytest.fixture(autouse=True)
def _restore_levels() -> Iterator[None]:
    root = logging.getLogger()
    saved = {name: logging.getLogger(name).level for name in WATCHED}
    handlers = list(root.handlers)
    yield
    root.handlers[:] = handlers
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


# (logger, the most verbose level it may log at when LOG_LEVEL is DEBUG)
FLOORS = [
    ("telegram.ext.ExtBot", logging.INFO),  # "Calling Bot API endpoint … with parameters …"
    ("httpcore.http11", logging.INFO),
    ("httpx", logging.INFO),
    ("sqlalchemy.engine.Engine", logging.WARNING),  # statements and their values, from INFO
    ("aiosqlite", logging.INFO),  # each statement with its values, at DEBUG
    ("bot.services.tips", logging.DEBUG),  # the bot's own lines follow LOG_LEVEL
]


@pytest.mark.parametrize(("name", "floor"), FLOORS)
def test_debug_keeps_the_parameter_loggers_quiet(name: str, floor: int) -> None:
    configure_logging("DEBUG")
    logger = logging.getLogger(name)
    assert logger.getEffectiveLevel() == floor or (
        floor == logging.INFO and logger.getEffectiveLevel() == logging.WARNING  # _NOISY
    )
    assert not logger.isEnabledFor(floor - 1)


def test_a_quieter_level_is_kept() -> None:
    logging.getLogger().setLevel(logging.ERROR)
    keep_parameters_out()
    assert not logging.getLogger("telegram").isEnabledFor(logging.WARNING)
