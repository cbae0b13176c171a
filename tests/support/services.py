"""Services built the way the composition root builds them, for tests without the bot."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.services.alerts import AlertService
from bot.services.officers import OfficerService
from storage.db import SessionFactory

SUPERADMIN = 42
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def alert_service(
    sessions: SessionFactory, units: AdminUnits, officers: OfficerService
) -> AlertService:
    """An AlertService with the real catalogues in Vietnam's time zone (a new one per call: a
    test makes a second to play another process)."""
    return AlertService(sessions, units, load_catalog(), TZ, officers)
