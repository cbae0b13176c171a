"""Fixtures of the alert tests against real databases: the officers' and the alerts' services."""

from __future__ import annotations

import pytest

from bot.areas import AdminUnits
from bot.services.alerts import AlertService
from bot.services.officers import OfficerService
from storage.db import SessionFactory
from tests.support.services import SUPERADMIN, alert_service


@pytest.fixture
def officers(sessions: SessionFactory, small_units: AdminUnits) -> OfficerService:
    """Officers granted by SUPERADMIN."""
    return OfficerService(sessions, small_units, frozenset({SUPERADMIN}))


@pytest.fixture
def alerts(
    sessions: SessionFactory, small_units: AdminUnits, officers: OfficerService
) -> AlertService:
    return alert_service(sessions, small_units, officers)
