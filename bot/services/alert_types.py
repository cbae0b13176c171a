"""What an alert is made of: severities (mapped to CAP 1.2), categories, validity, limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.services.flow_types import Label, dump_draft, load_draft


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


def text_problem(text: str | None, has_photo: bool) -> Label | None:
    """None if the text can be sent (a photo's caption is shorter); else why not."""
    stripped = (text or "").strip()
    if not stripped:
        return Label("compose.text_empty")
    limit = CAPTION_TEXT_LIMIT if has_photo else TEXT_LIMIT
    if len(stripped) > limit:
        key = "compose.text_too_long_photo" if has_photo else "compose.text_too_long"
        return Label(key, {"limit": limit, "length": len(stripped)})
    return None


def receives(min_severity: str, severity: Severity) -> bool:
    """Whether a group with this minimum severity receives an alert of `severity`."""
    try:
        return severity.rank >= Severity(min_severity).rank
    except ValueError:
        return True


class Step(StrEnum):
    """The composer's steps (the values are stored in `alert_drafts.step` and button data)."""

    TARGET = "target"
    COMMUNE = "target_commune"  # a province officer types a commune's name and picks it
    COMMUNE_SCOPE = "commune_scope"  # the whole commune, or some of its residential areas
    RESIDENTIAL = "residential"  # residential areas, chosen with toggles, then Done
    SEVERITY = "severity"
    CATEGORY = "category"
    TEXT = "text"
    PHOTO = "photo"
    LOCATION = "location"
    VALIDITY = "validity"
    EXERCISE = "exercise"
    PREVIEW = "preview"
    EDIT = "edit"  # the preview's "which field?" menu
    DISCARDED = "discarded"  # Cancel pressed: the service deletes the draft
    PROVINCES = "provinces"  # the ministry's officer toggles provinces, then Done
    RECONFIRM = "reconfirm"  # Confirm of a national alert, asked again with its group count
    CONFIRM = "confirm"  # Confirm pressed: the service sends the draft


# The fields the preview can edit, in the order they are asked (and shown in the edit menu).
EDITABLE = (
    Step.TARGET,
    Step.SEVERITY,
    Step.CATEGORY,
    Step.TEXT,
    Step.PHOTO,
    Step.LOCATION,
    Step.VALIDITY,
    Step.EXERCISE,
)


class TargetKind(StrEnum):
    """Who receives the alert."""

    COUNTRY = "country"  # every subscribed group of the country (the ministry's)
    PROVINCES = "provinces"  # every subscribed group of chosen provinces (the ministry's)
    PROVINCE = "province"  # every subscribed group of the province
    COMMUNE = "commune"  # every subscribed group of one commune
    RESIDENTIAL = "residential"  # groups of some residential areas of one commune


@dataclass(frozen=True)
class ResidentialChoice:
    """A residential area an alert can be sent to."""

    id: int
    name: str


@dataclass
class Draft:
    """The alert being composed; serialised as JSON in the drafts table."""

    token: str
    step: Step = Step.TARGET
    target_kind: str | None = None  # a TargetKind
    commune_code: str | None = None
    residential_ids: list[int] = field(default_factory=list)
    offered_codes: list[str] = field(default_factory=list)  # the last commune search's results
    province_codes: list[str] = field(default_factory=list)  # of TargetKind.PROVINCES, by code
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
        return dump_draft(self)

    @classmethod
    def from_json(cls, token: str, step: str, raw: str) -> Draft:
        """The stored draft; a step this version does not know starts it over."""
        known = step in set(Step)
        return load_draft(cls, raw, token=token, step=Step(step) if known else Step.TARGET)

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
