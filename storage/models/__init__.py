"""SQLModel tables, one module per concept; importing this package registers them all."""

from storage.models.alerts import (
    Alert,
    AlertAck,
    AlertCorrection,
    AlertDraft,
    AlertTarget,
    AlertVersion,
    AlertVersionKind,
    CorrectionStatus,
)
from storage.models.areas import Area, AreaKind
from storage.models.chats import Chat, ChatKind
from storage.models.delivery import Delivery, DeliveryStatus, UploadedFile
from storage.models.digests import (
    Digest,
    DigestAdmin,
    DigestAudience,
    DigestGroupSetting,
    DigestOptOut,
    DigestRun,
    DigestSnapshot,
)
from storage.models.jobs import JobStatus, ScheduledJob
from storage.models.kv import Setting
from storage.models.officers import AuditEntry, Officer
from storage.models.prompts import Prompt
from storage.models.subscriptions import Subscription
from storage.models.tips import (
    Assessment,
    Direction,
    DutyGroup,
    Tip,
    TipBlock,
    TipDraft,
    TipEvent,
    TipMedia,
    TipMessage,
    TipState,
)
from storage.models.users import User

__all__ = [
    "Alert",
    "AlertAck",
    "AlertCorrection",
    "AlertDraft",
    "AlertTarget",
    "AlertVersion",
    "AlertVersionKind",
    "Area",
    "AreaKind",
    "Assessment",
    "AuditEntry",
    "Chat",
    "ChatKind",
    "CorrectionStatus",
    "Delivery",
    "DeliveryStatus",
    "Digest",
    "DigestAdmin",
    "DigestAudience",
    "DigestGroupSetting",
    "DigestOptOut",
    "DigestRun",
    "DigestSnapshot",
    "Direction",
    "DutyGroup",
    "JobStatus",
    "Officer",
    "Prompt",
    "ScheduledJob",
    "Setting",
    "Subscription",
    "Tip",
    "TipBlock",
    "TipDraft",
    "TipEvent",
    "TipMedia",
    "TipMessage",
    "TipState",
    "UploadedFile",
    "User",
]
