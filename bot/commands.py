"""The bot's commands: names in each language, where they work and who may use them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, Flag, auto


class Where(Flag):
    PRIVATE = auto()
    GROUP = auto()
    ANYWHERE = PRIVATE | GROUP


class Role(Enum):
    EVERYONE = "everyone"
    GROUP_ADMIN = "group_admin"
    OFFICER = "officer"
    SUPERADMIN = "superadmin"


@dataclass(frozen=True)
class Command:
    """A command; `key` names its catalogue entries (`help.<key>`, `commands.<key>`)."""

    key: str
    vi: str
    en: str
    where: Where
    role: Role = Role.EVERYONE

    @property
    def names(self) -> list[str]:
        return list(dict.fromkeys([self.vi, self.en]))

    def name(self, language: str) -> str:
        return self.en if language == "en" else self.vi


COMMANDS = (
    Command("start", "start", "start", Where.ANYWHERE),
    Command("help", "help", "help", Where.ANYWHERE),
    Command("tip", "baotin", "report", Where.ANYWHERE),  # in a group: a link to the private chat
    Command("my_tips", "tincuatoi", "myreports", Where.PRIVATE),
    Command("subscribe", "dangky", "subscribe", Where.GROUP, Role.GROUP_ADMIN),
    Command("status", "trangthai", "status", Where.GROUP),
    Command("unsubscribe", "huydangky", "unsubscribe", Where.GROUP, Role.GROUP_ADMIN),
    Command("settings", "caidat", "settings", Where.GROUP, Role.GROUP_ADMIN),
    # /thongke: a group's area for its admins, an officer's jurisdiction in private.
    Command("group_stats", "thongke", "stats", Where.GROUP, Role.GROUP_ADMIN),
    Command("language", "ngonngu", "language", Where.ANYWHERE),
    Command("digest", "tonghop", "digest", Where.ANYWHERE),
    Command("alert", "canhbao", "alert", Where.PRIVATE, Role.OFFICER),
    Command("triage", "xulytin", "triage", Where.PRIVATE, Role.OFFICER),
    Command("stats", "thongke", "stats", Where.PRIVATE, Role.OFFICER),
    Command("export", "xuatdulieu", "export", Where.PRIVATE, Role.OFFICER),
    # In a group; listed under /xulytin's help (group menus show group admins' commands only).
    Command("duty_group", "nhomtruc", "dutygroup", Where.GROUP, Role.OFFICER),
    Command("cancel", "huy", "cancel", Where.PRIVATE),
    Command("grant", "capquyen", "grant", Where.PRIVATE, Role.SUPERADMIN),
    Command("revoke", "thuhoi", "revoke", Where.PRIVATE, Role.SUPERADMIN),
    Command("officers", "canbo", "officers", Where.PRIVATE, Role.SUPERADMIN),
)


def command(key: str) -> Command:
    """The command with this key."""
    return next(c for c in COMMANDS if c.key == key)


def visible(where: Where, roles: frozenset[Role]) -> list[Command]:
    """The commands a person with these roles may use in a chat of this kind."""
    return [c for c in COMMANDS if where & c.where and c.role in roles | {Role.EVERYONE}]
