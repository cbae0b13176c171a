"""SQLModel tables, one module per concept; importing this package registers them all."""

from storage.models.areas import Area, AreaKind
from storage.models.chats import Chat, ChatKind
from storage.models.delivery import Delivery, DeliveryStatus
from storage.models.kv import Setting
from storage.models.prompts import Prompt
from storage.models.subscriptions import Subscription
from storage.models.users import User

__all__ = [
    "Area",
    "AreaKind",
    "Chat",
    "ChatKind",
    "Delivery",
    "DeliveryStatus",
    "Prompt",
    "Setting",
    "Subscription",
    "User",
]
