"""Queries about weekly digests: due groups, their administrators as read this week, who
can be reached, the frozen figures, the digests of a run and what follows each text. Each takes
a session and never commits."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Executable
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Area,
    Chat,
    Delivery,
    Digest,
    DigestAdmin,
    DigestAudience,
    DigestGroupSetting,
    DigestOptOut,
    DigestRun,
    DigestSnapshot,
    Officer,
    Subscription,
    User,
)
from storage.types import utcnow

_CHUNK = 500  # ids per IN (...) list
LANGUAGES = ("vi", "en")


def chunks(values: Sequence[int]) -> Iterable[Sequence[int]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


async def run(session: AsyncSession, statement: Executable) -> Any:  # a Result
    """Execute Core SQL on the session's connection, inside the caller's transaction."""
    connection = await session.connection()
    return await connection.execute(statement)


async def dialect_insert(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT into `table` (both have ON CONFLICT)."""
    connection = await session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


@dataclass(frozen=True)
class DueGroup:
    """A subscribed group whose digest this run prepares."""

    chat_id: int
    telegram_id: int
    commune_code: str
    language: str | None
    post_in_group: bool
    note_sent: bool


@dataclass(frozen=True)
class OfficerRef:
    """An officer with rights: who, and the jurisdiction's official code."""

    telegram_id: int
    area_code: str


@dataclass(frozen=True)
class DigestRow:
    """A stored digest: for whom, what it names (snapshots, groups, a link), what it answers."""

    audience: DigestAudience
    body: dict[str, Any]
    reply_to_message_id: int | None = None


@dataclass(frozen=True)
class FollowUp:
    """A chart or table not yet queued, and the text it follows."""

    digest_id: int
    telegram_chat_id: int
    chat_id: int | None
    audience: DigestAudience
    position: int
    previous: DigestAudience  # what comes right before it in the chat


@dataclass(frozen=True)
class RunCopy:
    """A delivery row of the run: where it is, how it stands, its main message."""

    telegram_chat_id: int
    status: str
    message_id: int | None
    language: str | None


def copy_key(kind: str, telegram_chat_id: int, chat_id: int | None) -> tuple[str, str, int]:
    # A group found by its chat row: migration to a supergroup changes its Telegram id.
    return (kind, "row", chat_id) if chat_id is not None else (kind, "tg", telegram_chat_id)


async def subscribed_chat(session: AsyncSession, telegram_chat_id: int) -> int | None:
    """The chat row of a group with a subscription (paused or not)."""
    result = await run(
        session,
        select(col(Chat.id))
        .join(Subscription, col(Subscription.chat_id) == col(Chat.id))
        .where(col(Chat.telegram_id) == telegram_chat_id),
    )
    found: int | None = result.scalar_one_or_none()
    return found


def _due_group_query() -> Any:
    commune = Area.__table__.alias("commune")  # type: ignore[attr-defined]
    setting = DigestGroupSetting.__table__  # type: ignore[attr-defined]
    return (
        select(
            col(Chat.id),
            col(Chat.telegram_id),
            commune.c.code,
            col(Chat.language),
            setting.c.post_in_group,
            setting.c.note_sent_at,
        )
        .select_from(Subscription)
        .join(Chat, col(Chat.id) == col(Subscription.chat_id))
        .join(commune, commune.c.id == col(Subscription.commune_id))
        .outerjoin(setting, setting.c.chat_id == col(Chat.id))
        .where(~col(Subscription.paused), col(Chat.bot_member))
    )


def _due(row: Any) -> DueGroup:
    chat_id, telegram_id, code, language, post, noted = row
    return DueGroup(chat_id, telegram_id, code, language, bool(post), noted is not None)


async def due_groups(
    session: AsyncSession, slot: tuple[int, int] | None, period_start: datetime
) -> list[DueGroup]:
    """Subscribed groups (bot present, digest on) of this weekly time not yet sent this week."""
    setting = DigestGroupSetting.__table__  # type: ignore[attr-defined]
    query = _due_group_query().where(
        or_(setting.c.chat_id.is_(None), setting.c.enabled),
        or_(setting.c.last_period_start.is_(None), setting.c.last_period_start < period_start),
    )
    if slot is None:
        query = query.where(or_(setting.c.weekday.is_(None), setting.c.hour.is_(None)))
    else:
        query = query.where(setting.c.weekday == slot[0], setting.c.hour == slot[1])
    result = await run(session, query.order_by(col(Chat.id)))
    return [_due(row) for row in result.all()]


async def due_group(session: AsyncSession, telegram_chat_id: int) -> DueGroup | None:
    """A subscribed group with the bot in it, by its Telegram id."""
    result = await run(session, _due_group_query().where(col(Chat.telegram_id) == telegram_chat_id))
    row = result.first()
    return None if row is None else _due(row)


async def groups_administered(session: AsyncSession, person: int) -> list[DueGroup]:
    """The subscribed groups Telegram last listed `person` as an administrator of."""
    latest = (
        select(col(DigestAdmin.chat_id))
        .where(col(DigestAdmin.telegram_id) == person)
        .group_by(col(DigestAdmin.chat_id))
    )
    result = await run(
        session, _due_group_query().where(col(Chat.id).in_(latest)).order_by(col(Chat.id))
    )
    return [_due(row) for row in result.all()]


async def groups_with_admins(
    session: AsyncSession, chat_ids: Sequence[int], period_start: datetime
) -> set[int]:
    """The groups whose administrators were already read for this week."""
    found: set[int] = set()
    for chunk in chunks(chat_ids):
        result = await run(
            session,
            select(col(DigestAdmin.chat_id))
            .where(col(DigestAdmin.chat_id).in_(chunk))
            .where(col(DigestAdmin.period_start) == period_start)
            .distinct(),
        )
        found.update(result.scalars().all())
    return found


async def remember_admins(
    session: AsyncSession, chat_id: int, period_start: datetime, admins: Iterable[int]
) -> None:
    """Keep the administrators Telegram listed for the group this week."""
    rows = [
        {"chat_id": chat_id, "period_start": period_start, "telegram_id": a}
        for a in sorted(set(admins))
    ]
    if rows:
        await run(
            session,
            (await dialect_insert(session, DigestAdmin)).values(rows).on_conflict_do_nothing(),
        )


async def admins_of(
    session: AsyncSession, chat_ids: Sequence[int], period_start: datetime
) -> dict[int, list[int]]:
    """Each group's administrators as read for this week."""
    admins: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(chat_ids):
        result = await run(
            session,
            select(col(DigestAdmin.chat_id), col(DigestAdmin.telegram_id))
            .where(col(DigestAdmin.chat_id).in_(chunk))
            .where(col(DigestAdmin.period_start) == period_start)
            .order_by(col(DigestAdmin.chat_id), col(DigestAdmin.telegram_id)),
        )
        for chat_id, person in result.all():
            admins[chat_id].append(person)
    return admins


async def reachable_people(session: AsyncSession, people: Sequence[int]) -> dict[int, bool]:
    """Of these people, those who opened the bot: True if they want digests, False if they
    turned them off (/tonghop tat)."""
    found: dict[int, bool] = {}
    for chunk in chunks(people):
        result = await run(
            session,
            select(col(User.telegram_id), col(DigestOptOut.telegram_id))
            .outerjoin(DigestOptOut, col(DigestOptOut.telegram_id) == col(User.telegram_id))
            .where(col(User.telegram_id).in_(chunk), col(User.can_message)),
        )
        found.update({person: opted is None for person, opted in result.all()})
    return found


async def person_languages(
    session: AsyncSession, people: Sequence[int], default: str
) -> dict[int, str | None]:
    """Each person's language: their private chat's choice, else their Telegram language."""
    languages: dict[int, str | None] = {}
    for chunk in chunks(people):
        result = await run(
            session,
            select(col(User.telegram_id), col(User.language_code), col(Chat.language))
            .outerjoin(Chat, col(Chat.telegram_id) == col(User.telegram_id))
            .where(col(User.telegram_id).in_(chunk)),
        )
        for person, code, chosen in result.all():
            base = (code or "").split("-")[0].lower()
            languages[person] = chosen or (base if base in LANGUAGES else default)
    return languages


async def active_officers(session: AsyncSession) -> list[OfficerRef]:
    """Every officer with rights now."""
    result = await run(
        session,
        select(col(Officer.telegram_id), col(Officer.area_code))
        .where(col(Officer.active))
        .order_by(col(Officer.id)),
    )
    return [OfficerRef(person, code) for person, code in result.all()]


async def officer_of(session: AsyncSession, person: int) -> OfficerRef | None:
    """The person's officer rights, if active."""
    result = await run(
        session,
        select(col(Officer.telegram_id), col(Officer.area_code)).where(
            col(Officer.telegram_id) == person, col(Officer.active)
        ),
    )
    row = result.first()
    return None if row is None else OfficerRef(*row)


async def chat_titles(session: AsyncSession, chat_ids: Sequence[int]) -> dict[int, str]:
    """Groups' titles by chat row."""
    titles: dict[int, str] = {}
    for chunk in chunks(sorted(set(chat_ids))):
        result = await run(
            session, select(col(Chat.id), col(Chat.title)).where(col(Chat.id).in_(chunk))
        )
        titles.update({chat_id: title or "" for chat_id, title in result.all()})
    return titles


async def snapshot_ids(
    session: AsyncSession, codes: Sequence[str], start: datetime, end: datetime
) -> dict[str, int]:
    """The snapshots already computed for these areas and this week."""
    if not codes:
        return {}
    result = await run(
        session,
        select(col(DigestSnapshot.area_code), col(DigestSnapshot.id)).where(
            col(DigestSnapshot.area_code).in_(list(codes)),
            col(DigestSnapshot.period_start) == start,
            col(DigestSnapshot.period_end) == end,
        ),
    )
    return {code: snapshot_id for code, snapshot_id in result.all()}


async def store_snapshot(
    session: AsyncSession, code: str, start: datetime, end: datetime, figures: str
) -> int:
    """Freeze an area's figures (JSON) for the week (a concurrent run's snapshot wins)."""
    await run(
        session,
        (await dialect_insert(session, DigestSnapshot))
        .values(
            area_code=code,
            period_start=start,
            period_end=end,
            figures=figures,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(),
    )
    found = await snapshot_ids(session, [code], start, end)
    return found[code]


async def run_row(
    session: AsyncSession, key: str, trigger: str, start: datetime, end: datetime, now: datetime
) -> int:
    """The run row of `key`, written the first time (at `now`)."""
    await run(
        session,
        (await dialect_insert(session, DigestRun))
        .values(
            key=key,
            trigger=trigger,
            period_start=start,
            period_end=end,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"]),
    )
    result = await run(session, select(col(DigestRun.id)).where(col(DigestRun.key) == key))
    run_id: int = result.scalar_one()
    return run_id


async def upsert_setting(session: AsyncSession, chat_id: int, values: Mapping[str, Any]) -> None:
    """Change some of a group's digest settings (the row is made with the defaults)."""
    defaults = {"enabled": True, "weekday": None, "hour": None, "post_in_group": False}
    row = {"chat_id": chat_id, **defaults, "updated_at": utcnow(), **values}
    statement = (await dialect_insert(session, DigestGroupSetting)).values(**row)
    await run(
        session, statement.on_conflict_do_update(index_elements=["chat_id"], set_=dict(values))
    )


async def mark_groups_done(
    session: AsyncSession,
    chat_ids: Sequence[int],
    period_start: datetime,
    noted: Sequence[int],
    now: datetime,
) -> None:
    """This week's digest is out for these groups (at `now`); those told to open the bot are
    not told again."""
    for chat_id in chat_ids:
        await upsert_setting(
            session, chat_id, {"last_period_start": period_start, "updated_at": now}
        )
    for chunk in chunks(list(noted)):
        await run(
            session,
            update(DigestGroupSetting)
            .where(col(DigestGroupSetting.chat_id).in_(chunk))
            .values(note_sent_at=now),
        )


async def digest_row(
    session: AsyncSession, run_id: int, telegram_chat_id: int, audiences: Sequence[str]
) -> DigestRow | None:
    """The digest of a run for a chat; a group that became a supergroup is found by its row."""
    moved = select(col(Chat.id)).where(col(Chat.telegram_id) == telegram_chat_id)
    result = await run(
        session,
        select(col(Digest.audience), col(Digest.body), col(Digest.reply_to_message_id)).where(
            col(Digest.run_id) == run_id,
            col(Digest.audience).in_(audiences),
            or_(
                col(Digest.telegram_chat_id) == telegram_chat_id,
                and_(col(Digest.chat_id).is_not(None), col(Digest.chat_id).in_(moved)),
            ),
        ),
    )
    row = result.first()
    return None if row is None else DigestRow(DigestAudience(row[0]), json.loads(row[1]), row[2])


async def waiting_followups(session: AsyncSession, run_id: int) -> list[FollowUp]:
    """The run's charts and tables not yet queued, each with what comes before it."""
    result = await run(
        session,
        select(
            col(Digest.id),
            col(Digest.telegram_chat_id),
            col(Digest.chat_id),
            col(Digest.audience),
            col(Digest.position),
            col(Digest.queued_at),
        )
        .where(col(Digest.run_id) == run_id)
        .order_by(col(Digest.telegram_chat_id), col(Digest.position)),
    )
    waiting: list[FollowUp] = []
    by_place: dict[tuple[int, int], DigestAudience] = {}
    rows = result.all()
    for _, chat, _, audience, position, _ in rows:
        if DigestAudience(audience) is not DigestAudience.NOTE:
            by_place[(chat, position)] = DigestAudience(audience)
    for digest_id, chat, chat_id, audience, position, queued_at in rows:
        previous = by_place.get((chat, position - 1))
        if position > 0 and queued_at is None and previous is not None:
            waiting.append(
                FollowUp(digest_id, chat, chat_id, DigestAudience(audience), position, previous)
            )
    return waiting


async def copies_of_run(
    session: AsyncSession, run_id: int, kinds: Sequence[str]
) -> dict[tuple[str, str, int], RunCopy]:
    """The run's delivery rows of these kinds, by kind and chat."""
    result = await run(
        session,
        select(
            col(Delivery.kind),
            col(Delivery.telegram_chat_id),
            col(Delivery.chat_id),
            col(Delivery.status),
            col(Delivery.message_id),
            col(Delivery.language),
        ).where(col(Delivery.ref_id) == run_id, col(Delivery.kind).in_(list(kinds))),
    )
    return {
        copy_key(kind, telegram_id, chat_id if telegram_id < 0 else None): RunCopy(
            telegram_id, status, message_id, language
        )
        for kind, telegram_id, chat_id, status, message_id, language in result.all()
    }


async def mark_followed(
    session: AsyncSession,
    queued: Sequence[tuple[int, int | None]],
    dropped: Sequence[int],
    now: datetime,
) -> None:
    """Charts and tables handed to the outbox (with the message they answer), or dropped."""
    for digest_id, reply_to in queued:
        await run(
            session,
            update(Digest)
            .where(col(Digest.id) == digest_id)
            .values(queued_at=now, reply_to_message_id=reply_to),
        )
    for chunk in chunks(list(dropped)):
        await run(session, update(Digest).where(col(Digest.id).in_(chunk)).values(queued_at=now))


async def insert_digests(
    session: AsyncSession, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[int, str, int]]:
    """Write a run's digests; the (chat, audience, position) of those not written before."""
    statement = (
        (await dialect_insert(session, Digest))
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["run_id", "telegram_chat_id", "audience"])
        .returning(col(Digest.telegram_chat_id), col(Digest.audience), col(Digest.position))
    )
    return [tuple(row) for row in (await run(session, statement)).all()]


async def slot_in_use(session: AsyncSession, weekday: int, hour: int) -> bool:
    """Whether some group with its digest on chose this weekly time."""
    result = await run(
        session,
        select(col(DigestGroupSetting.chat_id))
        .where(col(DigestGroupSetting.enabled))
        .where(col(DigestGroupSetting.weekday) == weekday, col(DigestGroupSetting.hour) == hour)
        .limit(1),
    )
    return result.first() is not None


async def set_opted_out(session: AsyncSession, telegram_id: int, opted_out: bool) -> None:
    """Record (or forget) that a person wants no weekly digest; twice is the same as once."""
    if opted_out:
        statement = (await dialect_insert(session, DigestOptOut)).values(
            telegram_id=telegram_id, created_at=utcnow()
        )
        await run(session, statement.on_conflict_do_nothing())
        return
    await run(session, delete(DigestOptOut).where(col(DigestOptOut.telegram_id) == telegram_id))


async def slots_in_use(session: AsyncSession) -> list[tuple[int, int]]:
    """Every (weekday, hour) some group with its digest on chose."""
    result = await run(
        session,
        select(col(DigestGroupSetting.weekday), col(DigestGroupSetting.hour))
        .where(col(DigestGroupSetting.enabled))
        .where(col(DigestGroupSetting.weekday).is_not(None))
        .where(col(DigestGroupSetting.hour).is_not(None))
        .distinct(),
    )
    return [(weekday, hour) for weekday, hour in result.all()]
