"""Alert targets as rows (`alert_targets`), the issuing unit's code (`alerts.issuer_code`), and
an index on when alerts were sent, for the statistics.

Alerts confirmed before this revision get their rows from the JSON in `alerts.target_codes`
and their issuer code from their officer's jurisdiction.

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-02
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("alerts", sa.Column("issuer_code", sa.String(16), nullable=True))
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    op.create_table(
        "alert_targets",
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), primary_key=True),
        sa.Column("area_id", sa.Integer(), sa.ForeignKey("areas.id"), primary_key=True),
        sa.Column("area_kind", sa.String(16), nullable=False),
        sa.Column("area_code", sa.String(16), nullable=True),
    )
    op.create_index("ix_alert_targets_area_id", "alert_targets", ["area_id"])
    _backfill(op.get_bind())


def _backfill(bind: sa.Connection) -> None:
    """Rows for the alerts written before target rows existed."""
    alerts = bind.execute(
        sa.text("SELECT id, target_kind, target_codes, officer_telegram_id FROM alerts")
    ).all()
    if not alerts:
        return
    areas = {
        (kind, code): area_id
        for area_id, kind, code in bind.execute(
            sa.text("SELECT id, kind, code FROM areas WHERE kind IN ('province', 'commune')")
        )
    }
    residential = {
        area_id
        for (area_id,) in bind.execute(sa.text("SELECT id FROM areas WHERE kind = 'residential'"))
    }
    officers: dict[int, str] = {
        tg: code
        for tg, code in bind.execute(sa.text("SELECT telegram_id, area_code FROM officers"))
    }
    rows: list[dict[str, Any]] = []
    for alert_id, kind, codes, officer in alerts:
        targets = _parse(codes)
        rows += _targets_of(alert_id, kind, targets, areas, residential)
        issuer = officers.get(officer) or targets.get("commune") or targets.get("province")
        bind.execute(
            sa.text("UPDATE alerts SET issuer_code = :code WHERE id = :id"),
            {"code": issuer, "id": alert_id},
        )
    if rows:
        bind.execute(
            sa.text(
                "INSERT INTO alert_targets (alert_id, area_id, area_kind, area_code) "
                "VALUES (:alert_id, :area_id, :area_kind, :area_code)"
            ),
            rows,
        )


def _parse(codes: str | None) -> dict[str, Any]:
    try:
        found = json.loads(codes or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _targets_of(
    alert_id: int,
    kind: str,
    targets: dict[str, Any],
    areas: dict[tuple[str, str], int],
    residential: set[int],
) -> list[dict[str, Any]]:
    """The target rows the JSON of one alert describes (unknown areas are left out)."""

    def row(area_id: int, area_kind: str, code: str | None) -> dict[str, Any]:
        return {"alert_id": alert_id, "area_id": area_id, "area_kind": area_kind, "area_code": code}

    if kind == "residential":
        ids = targets.get("residential") or []
        chosen = sorted({i for i in ids if isinstance(i, int) and i in residential})
        return [row(i, "residential", None) for i in chosen]
    if kind not in ("province", "commune"):
        return []
    code = targets.get(kind)
    found = areas.get((kind, code)) if isinstance(code, str) else None
    return [row(found, kind, code)] if found is not None and isinstance(code, str) else []


def downgrade() -> None:
    op.drop_index("ix_alert_targets_area_id", table_name="alert_targets")
    op.drop_table("alert_targets")
    op.drop_index("ix_alerts_created_at", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("issuer_code")
