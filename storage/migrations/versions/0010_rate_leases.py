"""Rate-limit leases: a batch of requests placed in the shared windows in one call.

`delivery_rate_lease` (PostgreSQL only) takes a process's reports (requests answered, slots
returned, requests still in flight) and a batch of requests, and places each request on the
earliest slot of the global window within a horizon where its chat window also has room (see
`bot/delivery/leases.py`). No table changes: it uses `delivery_rate_events` of 0002.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# Under the advisory lock of `delivery_rate_acquire`, on the database clock read after the lock:
# 1. reports: `answered` rows count from now - their age, `returned` rows are deleted, `overdue`
#    rows (unanswered past their validity) count from now at least;
# 2. asks, in order (one global key; per ask the bulk lane's global limit, the reserve of an
#    interactive reply (0 for bulk), its chat window or NULL, its weight). A bulk ask takes the
#    earliest time the global window has room for its weight within its limit (every recorded
#    request counts, those planned ahead too), after any pause, paced (`g_burst` grants per
#    `g_pace` s); past `horizon` neither it nor any later bulk ask is placed (no overtaking
#    within the lane). A reply goes at once if no window from now on would hold more than
#    limit + reserve with it (the occupancy of the window ending at T: rows counted after
#    T - span minus rows granted after T, checked now and at every grant planned ahead), else
#    it is placed as bulk, unpaced. The chat window must have room at the slot's time, else the
#    ask gets a chat wait and takes no slot. A placed ask records `weight` rows per window,
#    granted at its slot, counted from slot + `validity`.
# Returns {seconds until the first unplaced ask could be placed (0: all placed), then per ask:
# slot offset in seconds (-1: chat full, -2: no room within the horizon), chat wait, number of
# ids, the ids...}.
LEASE_FUNCTION = """
CREATE OR REPLACE FUNCTION delivery_rate_lease(
    g_key text, g_span float8, g_burst int, g_pace float8, horizon float8, validity float8,
    g_limits int[], reserves int[], c_keys text[], c_spans float8[], c_limits int[],
    weights int[], answered bigint[], ages float8[], returned bigint[], overdue bigint[]
) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    now_s float8;
    base float8;
    result float8[] := ARRAY[0::float8];
    n int;
    excess int;
    slot float8;
    cw float8;
    t float8;
    ids float8[];
    fits boolean;
    blocked boolean := false;
BEGIN
    PERFORM pg_advisory_xact_lock(1667720310);
    now_s := extract(epoch from clock_timestamp());
    IF cardinality(answered) > 0 THEN
        UPDATE delivery_rate_events e SET at = now_s - a.age
            FROM unnest(answered, ages) AS a(id, age) WHERE e.id = a.id;
    END IF;
    IF cardinality(returned) > 0 THEN
        DELETE FROM delivery_rate_events WHERE id = ANY(returned);
    END IF;
    IF cardinality(overdue) > 0 THEN
        UPDATE delivery_rate_events SET at = greatest(at, now_s) WHERE id = ANY(overdue);
    END IF;
    IF g_key IS NULL OR coalesce(cardinality(weights), 0) = 0 THEN
        RETURN result;
    END IF;
    base := now_s;
    SELECT max(at) INTO t FROM delivery_rate_events WHERE key = 'pause';
    IF t IS NOT NULL AND t > base THEN base := t; END IF;
    SELECT count(*) INTO n FROM delivery_rate_events WHERE key = g_key AND at > now_s - g_span;
    FOR i IN 1 .. cardinality(weights) LOOP
        slot := NULL;
        IF reserves[i] > 0 THEN
            SELECT coalesce(bool_and(
                (SELECT count(*) FROM delivery_rate_events
                    WHERE key = g_key AND at > p.t - g_span)
                - (SELECT count(*) FROM delivery_rate_events
                    WHERE key = g_key AND granted > p.t)
                + weights[i] <= g_limits[i] + reserves[i]), true) INTO fits
            FROM (SELECT base AS t UNION ALL
                  SELECT granted FROM delivery_rate_events
                  WHERE key = g_key AND granted > base) AS p;
            IF fits THEN slot := base; END IF;
        END IF;
        IF slot IS NULL AND (reserves[i] > 0 OR NOT blocked) THEN
            slot := base;
            excess := n - g_limits[i] + least(weights[i], g_limits[i]);
            IF excess > 0 THEN
                SELECT at INTO t FROM delivery_rate_events
                    WHERE key = g_key AND at > now_s - g_span
                    ORDER BY at OFFSET excess - 1 LIMIT 1;
                IF t IS NOT NULL THEN slot := greatest(slot, t + g_span); END IF;
            END IF;
            IF g_burst > 0 AND reserves[i] = 0 THEN
                t := NULL;
                SELECT granted INTO t FROM delivery_rate_events
                    WHERE key = g_key AND granted > now_s - g_span
                    ORDER BY granted DESC OFFSET g_burst - 1 LIMIT 1;
                IF t IS NOT NULL THEN slot := greatest(slot, t + g_pace); END IF;
            END IF;
            IF slot > now_s + horizon THEN
                IF result[1] = 0 THEN result[1] := slot - now_s; END IF;
                IF reserves[i] = 0 THEN blocked := true; END IF;
                slot := NULL;
            END IF;
        END IF;
        IF slot IS NULL THEN
            result := result || ARRAY[-2, 0, 0]::float8[];
            CONTINUE;
        END IF;
        cw := 0;
        IF c_keys[i] IS NOT NULL THEN
            SELECT count(*) INTO excess FROM delivery_rate_events
                WHERE key = c_keys[i] AND at > slot - c_spans[i];
            excess := excess - c_limits[i] + least(weights[i], c_limits[i]);
            IF excess > 0 THEN
                SELECT at INTO t FROM delivery_rate_events
                    WHERE key = c_keys[i] AND at > slot - c_spans[i]
                    ORDER BY at OFFSET excess - 1 LIMIT 1;
                cw := greatest(t + c_spans[i] - now_s, 0.001);
            END IF;
        END IF;
        IF cw > 0 THEN
            result := result || ARRAY[-1, cw, 0]::float8[];
        ELSE
            WITH added AS (
                INSERT INTO delivery_rate_events (key, granted, at)
                SELECT k, slot, slot + validity FROM unnest(ARRAY[g_key, c_keys[i]]) AS k,
                    generate_series(1, weights[i])
                WHERE k IS NOT NULL
                RETURNING id
            ) SELECT array_agg(id::float8) INTO ids FROM added;
            result := result || ARRAY[slot - now_s, 0, cardinality(ids)]::float8[] || ids;
            n := n + weights[i];
        END IF;
    END LOOP;
    IF random() < 0.002 THEN
        DELETE FROM delivery_rate_events WHERE at < now_s - 120;
    END IF;
    RETURN result;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(LEASE_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS delivery_rate_lease")
