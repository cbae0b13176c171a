"""What an alert is made of: severities (mapped to CAP 1.2), categories, validity, limits."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum


class Severity(StrEnum):
    URGENT = "urgent"  # Khẩn cấp
    WARNING = "warning"  # Cảnh báo
    INFO = "info"  # Thông tin

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def cap(self) -> tuple[str, str]:
        """CAP 1.2 (severity, urgency)."""
        return _CAP[self]


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.URGENT: 2}
_CAP = {
    Severity.URGENT: ("Extreme", "Immediate"),
    Severity.WARNING: ("Severe", "Expected"),
    Severity.INFO: ("Minor", "Future"),
}

# Category key -> CAP 1.2 category.
CATEGORIES: dict[str, str] = {
    "scam": "Security",
    "theft": "Security",
    "drugs": "Security",
    "fire": "Fire",
    "traffic": "Transport",
    "wanted": "Security",
    "disaster": "Met",
    "other": "Other",
}
VALIDITY_HOURS = (6, 24, 72, 168)
# Room left for the header, area, validity, issuer and number in Telegram's 4096 / 1024 limits.
TEXT_LIMIT = 3500
CAPTION_TEXT_LIMIT = 550
AREA_LABEL_LIMIT = 200
ISSUER_LIMIT = 80
# A preview older than this is shown again (with a new expiry) instead of being sent.
PREVIEW_LIFETIME = timedelta(minutes=10)


def clip(text: str, limit: int) -> str:
    """`text` cut to `limit` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def receives(min_severity: str, severity: Severity) -> bool:
    """Whether a group with this minimum severity receives an alert of `severity`."""
    try:
        return severity.rank >= Severity(min_severity).rank
    except ValueError:
        return True


@dataclass
class Draft:
    """The alert being composed; serialised as JSON in the drafts table."""

    token: str
    step: str = "target"
    # "country" | "provinces" (the ministry's) | "province" | "commune" | "residential"
    target_kind: str | None = None
    commune_code: str | None = None
    residential_ids: list[int] = field(default_factory=list)
    province_codes: list[str] = field(default_factory=list)  # of "provinces", by code
    severity: str | None = None
    category: str | None = None
    text: str | None = None
    photo_file_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    validity_hours: int | None = None
    exercise: bool | None = None
    editing: bool = False  # a step reached from the preview returns to the preview
    # Set when the preview is shown (ISO 8601, UTC): Confirm sends exactly that expiry.
    previewed_at: str | None = None
    valid_until: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("token")
        data.pop("step")
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, token: str, step: str, raw: str) -> Draft:
        known = set(cls.__dataclass_fields__)
        data = {k: v for k, v in json.loads(raw or "{}").items() if k in known}
        return cls(token=token, step=step, **data)

    def stamp_preview(self, now: datetime) -> None:
        """Fix the expiry shown by a preview made at `now`."""
        hours = self.validity_hours or VALIDITY_HOURS[0]
        self.previewed_at = now.isoformat()
        self.valid_until = (now + timedelta(hours=hours)).isoformat()

    def preview_expired(self, now: datetime) -> bool:
        """Whether the last preview is too old to be confirmed as it is."""
        if self.previewed_at is None:
            return False
        return now - datetime.fromisoformat(self.previewed_at) > PREVIEW_LIFETIME

    def expiry(self, now: datetime) -> datetime:
        """The expiry the preview showed (from `now` if there was no preview)."""
        if self.valid_until is not None:
            return datetime.fromisoformat(self.valid_until)
        return now + timedelta(hours=self.validity_hours or VALIDITY_HOURS[0])

    @property
    def national(self) -> bool:
        """Sent to more than one province: Confirm is asked a second time, naming the number of
        groups."""
        return self.target_kind == "country" or (
            self.target_kind == "provinces" and len(self.province_codes) > 1
        )

    @property
    def complete(self) -> bool:
        """Every required choice is made."""
        return None not in (
            self.target_kind,
            self.severity,
            self.category,
            self.text,
            self.validity_hours,
            self.exercise,
        )


@dataclass(frozen=True)
class AlertContent:
    """Everything shown in a group's copy (also used for the officer's preview)."""

    severity: Severity
    category: str
    area: str
    text: str
    issuer: str
    valid_until: datetime
    exercise: bool
    number: int | None = None
    photo_file_id: str | None = None
    lat: float | None = None
    lon: float | None = None
    corrections: int = 0
    cancelled: bool = False
