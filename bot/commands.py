"""The bot's commands: names in each language, where they work and who may use them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Flag, auto


class Where(Flag):
    PRIVATE = auto()
    GROUP = auto()
    ANYWHERE = PRIVATE | GROUP


@dataclass(frozen=True)
class Command:
    """A command; `key` names its catalogue entries (`help.<key>`, `commands.<key>`)."""

    key: str
    vi: str
    en: str
    where: Where
    admins_only: bool = False

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.vi, self.en]))

    def name(self, language: str) -> str:
        return self.en if language == "en" else self.vi


COMMANDS = (
    Command("start", "start", "start", Where.ANYWHERE),
    Command("help", "help", "help", Where.ANYWHERE),
    Command("subscribe", "dangky", "subscribe", Where.GROUP, admins_only=True),
    Command("status", "trangthai", "status", Where.GROUP),
    Command("unsubscribe", "huydangky", "unsubscribe", Where.GROUP, admins_only=True),
    Command("language", "ngonngu", "language", Where.ANYWHERE),
)


def command(key: str) -> Command:
    """The command with this key."""
    return next(c for c in COMMANDS if c.key == key)


def visible(where: Where, *, admin: bool) -> list[Command]:
    """The commands a person may use in a chat of this kind."""
    return [c for c in COMMANDS if where & c.where and (admin or not c.admins_only)]
