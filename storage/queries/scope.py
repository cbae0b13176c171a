"""Which rows belong to an area: its subscribed groups, the alerts sent to it, the tips sent
from it. Shared by the statistics queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.sql.selectable import Select
from sqlmodel import col, select

from storage.models import AlertTarget, Area, Delivery, Subscription, Tip


@dataclass(frozen=True)
class AreaFilter:
    """A province (or, with every field None, the whole country), a commune, a residential
    area of a commune, or one group (`chat_id`, its `chats` row, with the area it subscribes
    to). Area ids are `areas` rows; codes are official codes."""

    province_code: str | None = None
    province_id: int | None = None
    commune_id: int | None = None
    commune_code: str | None = None
    residential_id: int | None = None
    chat_id: int | None = None

    def subscriptions(self) -> ColumnElement[bool]:
        """Subscriptions of the area's groups (or of the one group)."""
        if self.chat_id is not None:
            return col(Subscription.chat_id) == self.chat_id
        if self.residential_id is not None:
            return col(Subscription.area_id) == self.residential_id
        if self.commune_id is not None:
            return col(Subscription.commune_id) == self.commune_id
        if self.province_code is not None:
            return col(Subscription.province_code) == self.province_code
        return true()

    def alert_ids(self, kind: str) -> Select[Any]:
        """Ids of the alerts sent to the area: those targeting it, a residential area in it or
        an area containing it; for one group, those delivered to it (outbox rows of `kind`)."""
        if self.chat_id is not None:
            return select(Delivery.ref_id).where(
                col(Delivery.kind) == kind,
                col(Delivery.chat_id) == self.chat_id,
                col(Delivery.delivered_at).is_not(None),
            )
        targets = select(AlertTarget.alert_id)
        if self.residential_id is not None:
            wanted = [self.province_id, self.commune_id, self.residential_id]
            return targets.where(col(AlertTarget.area_id).in_([i for i in wanted if i]))
        if self.commune_id is not None:
            return targets.join(Area, col(Area.id) == col(AlertTarget.area_id)).where(
                or_(
                    col(AlertTarget.area_id).in_(
                        [i for i in (self.province_id, self.commune_id) if i]
                    ),
                    col(Area.parent_id) == self.commune_id,  # its residential areas
                )
            )
        if self.province_code is not None:
            return targets.join(Area, col(Area.id) == col(AlertTarget.area_id)).where(
                col(Area.province_code) == self.province_code
            )
        return targets

    def tips(self) -> ColumnElement[bool]:
        """Tips sent from the area (a residential area's: through its groups' links)."""
        if self.residential_id is not None:
            return col(Tip.source_area_id) == self.residential_id
        if self.commune_code is not None:
            return col(Tip.commune_code) == self.commune_code
        if self.province_code is not None:
            return col(Tip.province_code) == self.province_code
        return true()
