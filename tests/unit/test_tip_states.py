"""The triage of a tip: the table of allowed changes, and properties over any sequence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.tip_states import (
    REOPEN_WINDOW,
    Actor,
    Assessment,
    Refusal,
    TipState,
    Transition,
    Triage,
    TriageAction,
    decide,
)

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
NEW, ACK, RESOLVED, REJECTED = (
    TipState.NEW,
    TipState.ACKNOWLEDGED,
    TipState.RESOLVED,
    TipState.REJECTED,
)
UNASSESSED, VALUABLE, NOT_VALUABLE = (
    Assessment.UNASSESSED,
    Assessment.VALUABLE,
    Assessment.NOT_VALUABLE,
)
OFF, REP = Actor.OFFICER, Actor.REPORTER


def resolved(days_ago: float) -> Triage:
    return Triage(RESOLVED, resolved_at=NOW - timedelta(days=days_ago))


# (triage before, action, actor) -> (state, assessment after, reporter notice) or a refusal key
TABLE: list[tuple[Triage, str, Actor, tuple[TipState, Assessment, str | None] | str]] = [
    (Triage(NEW), "ack", OFF, (ACK, UNASSESSED, "tips.notify.acknowledged")),
    (Triage(ACK), "ack", OFF, "tips.triage.already_acknowledged"),
    (Triage(NEW), "done", OFF, "tips.triage.acknowledge_first"),
    (Triage(ACK), "done", OFF, (RESOLVED, UNASSESSED, "tips.notify.resolved")),
    (resolved(1), "done", OFF, "tips.triage.already_closed"),
    (Triage(NEW), "reject", OFF, (REJECTED, UNASSESSED, "tips.notify.rejected")),
    (Triage(ACK), "reject", OFF, (REJECTED, UNASSESSED, "tips.notify.rejected")),
    (resolved(1), "reject", OFF, "tips.triage.already_closed"),
    (Triage(REJECTED), "ack", OFF, "tips.triage.already_closed"),
    (Triage(NEW), "val", OFF, (NEW, VALUABLE, "tips.notify.valuable")),
    (Triage(ACK, VALUABLE), "val", OFF, "tips.triage.same_assessment"),
    (Triage(ACK, VALUABLE, valuable_told=True), "noval", OFF, (ACK, NOT_VALUABLE, None)),
    (Triage(ACK, NOT_VALUABLE, valuable_told=True), "val", OFF, (ACK, VALUABLE, None)),
    (Triage(NEW), "noval", OFF, (NEW, NOT_VALUABLE, None)),
    (resolved(1), "val", OFF, "tips.triage.closed"),
    (Triage(REJECTED), "noval", OFF, "tips.triage.closed"),
    (resolved(1), "still", REP, (ACK, UNASSESSED, None)),
    (resolved(7), "still", REP, (ACK, UNASSESSED, None)),
    (resolved(7.01), "still", REP, "tips.triage.reopen_expired"),
    (Triage(ACK), "still", REP, "tips.triage.still_open"),
    (Triage(REJECTED), "still", REP, "tips.triage.already_closed"),
    (resolved(1), "still", OFF, "tips.triage.not_allowed"),  # only the reporter says so
    (Triage(NEW), "ack", REP, "tips.triage.not_allowed"),  # a reporter cannot triage
    (Triage(NEW), "val", REP, "tips.triage.not_allowed"),
    (Triage(NEW), "delete", OFF, "tips.triage.unknown_action"),  # forged button data
    (Triage(NEW), "", OFF, "tips.triage.unknown_action"),
]


@pytest.mark.parametrize(("before", "action", "actor", "expected"), TABLE)
def test_the_triage_table(
    before: Triage,
    action: str,
    actor: Actor,
    expected: tuple[TipState, Assessment, str | None] | str,
) -> None:
    result = decide(before, action, actor, NOW)
    if isinstance(expected, str):
        assert result == Refusal(expected)
        return
    assert isinstance(result, Transition)
    assert (result.after.state, result.after.assessment, result.notify_reporter) == expected
    assert result.before == before


def test_resolving_stamps_the_time_and_reopening_clears_it() -> None:
    done = decide(Triage(ACK), "done", OFF, NOW)
    assert isinstance(done, Transition) and done.after.resolved_at == NOW
    reopened = decide(done.after, "still", REP, NOW + REOPEN_WINDOW)
    assert isinstance(reopened, Transition) and reopened.after.resolved_at is None
    assert (reopened.field, reopened.from_value, reopened.to_value) == (
        "state",
        "resolved",
        "acknowledged",
    )


ACTIONS = st.sampled_from([a.value for a in TriageAction] + ["forged", "ACK", "1"])
STEPS = st.lists(
    st.tuples(ACTIONS, st.sampled_from(list(Actor)), st.integers(0, 4 * 24 * 60)),
    max_size=40,
)


def _play(steps: list[tuple[str, Actor, int]]) -> list[tuple[Triage, Transition | Refusal]]:
    """Apply every press in order (the clock moving on); the triage before each and its result."""
    triage, now, played = Triage(), NOW, []
    for action, actor, minutes in steps:
        now += timedelta(minutes=minutes)
        result = decide(triage, action, actor, now)
        played.append((triage, result))
        if isinstance(result, Transition):
            triage = result.after
    return played


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_no_sequence_reaches_an_invalid_triage(steps: list[tuple[str, Actor, int]]) -> None:
    for before, result in _play(steps):
        if isinstance(result, Refusal):
            continue
        after = result.after
        assert after != before  # a change changes something
        assert (after.resolved_at is not None) == (after.state is TipState.RESOLVED)
        if result.field == "assessment":
            assert before.state.open and after.state == before.state
        else:
            assert after.assessment == before.assessment
        if before.state is TipState.REJECTED:
            pytest.fail("a rejected tip changed")
        if after.state is TipState.RESOLVED:
            assert before.state is TipState.ACKNOWLEDGED  # never resolved without being taken up


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_the_reporter_hears_of_each_change_at_most_once(
    steps: list[tuple[str, Actor, int]],
) -> None:
    played = _play(steps)
    changes = [r for _, r in played if isinstance(r, Transition)]
    notices = [c.notify_reporter for c in changes]
    reopened = sum(1 for c in changes if c.action is TriageAction.STILL_HAPPENING)
    assert notices.count("tips.notify.acknowledged") <= 1
    assert notices.count("tips.notify.rejected") <= 1
    assert notices.count("tips.notify.valuable") <= 1  # however often officers change their mind
    assert notices.count("tips.notify.resolved") <= 1 + reopened
    for before, change in ((b, r) for b, r in played if isinstance(r, Transition)):
        expected = {
            TriageAction.ACKNOWLEDGE: "tips.notify.acknowledged",
            TriageAction.RESOLVE: "tips.notify.resolved",
            TriageAction.REJECT: "tips.notify.rejected",
        }.get(change.action)
        if change.action is TriageAction.VALUABLE and not before.valuable_told:
            expected = "tips.notify.valuable"
        assert change.notify_reporter == expected


@settings(max_examples=150, deadline=None)
@given(STEPS, ACTIONS, st.sampled_from(list(Actor)))
def test_pressing_the_same_button_twice_changes_once(
    steps: list[tuple[str, Actor, int]], action: str, actor: Actor
) -> None:
    """A second Tiếp nhận (or any repeated press) is refused and changes nothing."""
    played = _play(steps)
    triage = next((r.after for _, r in reversed(played) if isinstance(r, Transition)), Triage())
    later = NOW + timedelta(days=30)
    first = decide(triage, action, actor, later)
    if isinstance(first, Refusal):
        assert decide(triage, action, actor, later) == first
    else:
        assert isinstance(decide(first.after, action, actor, later), Refusal)
