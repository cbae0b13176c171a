"""Alerts for end-to-end tests about the groups' side (receipts, figures, tip links): an officer
and a confirmed alert, written through the running bot's `AlertService` rather than the
officer's buttons, which tests/e2e/test_alerts.py covers."""

from __future__ import annotations

from simulator import SimDriver
from simulator.models import SimUser
from tests.support.botrunner import BotRunner


async def police_officer(bot: BotRunner, driver: SimDriver, area: str) -> SimUser:
    """A person made an officer of `area` (by code)."""
    user = driver.create_user("Cán bộ", username=f"officer_{area}")
    await bot.services.officers.grant(0, user.id, area, f"Công an {area}")
    return user


async def confirmed_alert(
    bot: BotRunner,
    by: SimUser,
    text: str,
    *,
    severity: str = "warning",
    category: str = "theft",
    photo: str | None = None,
) -> int:
    """An alert of the officer's whole commune, valid 24 hours, composed and confirmed; its
    number."""
    alerts = bot.services.alerts
    view = await bot.services.officers.officer(by.id)
    assert view is not None
    draft = await alerts.new_draft(view)
    draft.target_kind, draft.severity, draft.category = "commune", severity, category
    draft.text, draft.photo_file_id, draft.validity_hours, draft.exercise = text, photo, 24, False
    await alerts.save_draft(by.id, draft)
    return (await alerts.confirm(by.id, draft.token)).alert_id
