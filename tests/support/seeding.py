"""Rows written straight into the database for tests of figures (statistics, digests, exports):
subscribed groups, sent alerts, delivered and acknowledged copies, tips. Each helper adds to the
caller's session and never commits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Alert, AlertAck, AlertTarget, Area, Chat, Delivery, Subscription, Tip
from storage.models.tips import Assessment

OFFICER = 5_000_000_001
RESIDENT = 5_100_000_000  # the administrator who presses "Đã nhận" unless a test names one


async def subscribed_group(
    session: AsyncSession,
    telegram_id: int,
    title: str,
    commune: Area,
    since: datetime,
    *,
    area_id: int | None = None,
    present: bool = True,
) -> Chat:
    """A group subscribed since `since` to `commune` (or to its residential area `area_id`);
    `present=False`: the bot was removed and the subscription is paused."""
    assert commune.id is not None
    chat = Chat(telegram_id=telegram_id, kind="group", title=title, bot_member=present)
    session.add(chat)
    await session.flush()
    assert chat.id is not None
    session.add(
        Subscription(
            chat_id=chat.id,
            area_id=area_id or commune.id,
            commune_id=commune.id,
            province_code=commune.province_code,
            paused=not present,
            created_at=since,
        )
    )
    return chat


async def sent_alert(
    session: AsyncSession,
    token: str,
    sent: datetime,
    area: Area,
    *,
    severity: str = "warning",
    category: str = "scam",
    text: str = "Cảnh giác.",
    **more: Any,
) -> int:
    """An alert sent at `sent` to `area`, valid one day (`more`: other columns, e.g. issuer);
    its id."""
    columns: dict[str, Any] = {"officer_telegram_id": OFFICER, "issuer": "Công an", **more}
    alert = Alert(
        draft_token=token,
        target_kind=area.kind,
        target_label=area.name,
        severity=severity,
        category=category,
        text=text,
        valid_until=sent + timedelta(days=1),
        created_at=sent,
        **columns,
    )
    session.add(alert)
    await session.flush()
    assert alert.id is not None and area.id is not None
    session.add(
        AlertTarget(alert_id=alert.id, area_id=area.id, area_kind=area.kind, area_code=area.code)
    )
    return alert.id


def delivered_copy(
    session: AsyncSession,
    chat: Chat,
    alert_id: int,
    sent: datetime,
    *,
    message_id: int = 100,
    acknowledged_after: float | None = None,
    by: int = RESIDENT,
) -> None:
    """The alert's copy in `chat`, delivered a minute after `sent`; acknowledged by `by`
    `acknowledged_after` minutes after its delivery, if given."""
    assert chat.id is not None
    delivered = sent + timedelta(minutes=1)
    session.add(
        Delivery(
            kind="alert",
            ref_id=alert_id,
            chat_id=chat.id,
            telegram_chat_id=chat.telegram_id,
            status="delivered",
            sent_version=1,
            message_id=message_id,
            created_at=sent,
            delivered_at=delivered,
        )
    )
    if acknowledged_after is not None:
        session.add(
            AlertAck(
                alert_id=alert_id,
                chat_id=chat.id,
                user_telegram_id=by,
                created_at=delivered + timedelta(minutes=acknowledged_after),
            )
        )


def tip(
    session: AsyncSession,
    token: str,
    commune: str,
    province: str,
    created: datetime,
    *,
    category: str = "theft",
    state: str = "new",
    valuable: bool = False,
    **more: Any,
) -> None:
    """A tip about `commune` (in `province`) sent at `created` (`more`: other columns, e.g.
    when it was acknowledged or closed)."""
    assessment = Assessment.VALUABLE if valuable else Assessment.UNASSESSED
    session.add(
        Tip(
            draft_token=token,
            category=category,
            text="Có chuyện.",
            commune_code=commune,
            province_code=province,
            area_source=more.pop("area_source", "chosen"),
            state=state,
            assessment=assessment.value,
            created_at=created,
            **more,
        )
    )
