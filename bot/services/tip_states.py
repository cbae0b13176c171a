"""The triage of a tip: states, assessment and who may change them, as one pure table.

new → acknowledged → resolved, or rejected from any open state; the reporter's "Vẫn còn" (still
happening) puts a resolved tip back to acknowledged within `REOPEN_WINDOW`. Beside the state, an
assessment that officers set while the tip is open. `decide` never changes anything itself: it
returns the `Transition` to store (and what the reporter must be told), or a `Refusal`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from storage.models.tips import Assessment, TipState

REOPEN_WINDOW = timedelta(days=7)


class TriageAction(StrEnum):
    """What can be done to a tip; the values travel in button data, so keep them short."""

    ACKNOWLEDGE = "ack"  # Tiếp nhận
    RESOLVE = "done"  # Đã xử lý
    REJECT = "reject"  # Không xử lý
    VALUABLE = "val"  # Tin có giá trị
    NOT_VALUABLE = "noval"  # Tin không có giá trị
    STILL_HAPPENING = "still"  # the reporter's "Vẫn còn"


class Actor(StrEnum):
    OFFICER = "officer"
    REPORTER = "reporter"


@dataclass(frozen=True)
class Triage:
    """The part of a tip the triage reads and writes."""

    state: TipState = TipState.NEW
    assessment: Assessment = Assessment.UNASSESSED
    resolved_at: datetime | None = None
    # The reporter hears "valuable" once, however often officers change their minds.
    valuable_told: bool = False


@dataclass(frozen=True)
class Transition:
    """An allowed change: the triage after it, the audit entry, and the reporter's notice."""

    action: TriageAction
    before: Triage
    after: Triage
    field: str  # "state" or "assessment": what the audit entry records
    notify_reporter: str | None  # catalogue key of the reporter's notice, or None

    @property
    def from_value(self) -> str:
        return str(getattr(self.before, self.field).value)

    @property
    def to_value(self) -> str:
        return str(getattr(self.after, self.field).value)


@dataclass(frozen=True)
class Refusal:
    """An impossible or forged action; nothing changes and the person is told `key`."""

    key: str


# (action, who may do it) -> {state before: state after}
_STATE_MOVES: dict[TriageAction, tuple[Actor, dict[TipState, TipState]]] = {
    TriageAction.ACKNOWLEDGE: (Actor.OFFICER, {TipState.NEW: TipState.ACKNOWLEDGED}),
    TriageAction.RESOLVE: (Actor.OFFICER, {TipState.ACKNOWLEDGED: TipState.RESOLVED}),
    TriageAction.REJECT: (
        Actor.OFFICER,
        {TipState.NEW: TipState.REJECTED, TipState.ACKNOWLEDGED: TipState.REJECTED},
    ),
    TriageAction.STILL_HAPPENING: (Actor.REPORTER, {TipState.RESOLVED: TipState.ACKNOWLEDGED}),
}
_STATE_NOTICES: dict[TriageAction, str | None] = {
    TriageAction.ACKNOWLEDGE: "tips.notify.acknowledged",
    TriageAction.RESOLVE: "tips.notify.resolved",
    TriageAction.REJECT: "tips.notify.rejected",
    TriageAction.STILL_HAPPENING: None,  # the reporter pressed it and is answered directly
}
_ASSESSMENTS: dict[TriageAction, Assessment] = {
    TriageAction.VALUABLE: Assessment.VALUABLE,
    TriageAction.NOT_VALUABLE: Assessment.NOT_VALUABLE,
}
# Why a state move is refused, by the state the tip is in.
_REFUSALS: dict[tuple[TriageAction, TipState], str] = {
    (TriageAction.ACKNOWLEDGE, TipState.ACKNOWLEDGED): "tips.triage.already_acknowledged",
    (TriageAction.RESOLVE, TipState.NEW): "tips.triage.acknowledge_first",
    (TriageAction.RESOLVE, TipState.RESOLVED): "tips.triage.already_closed",
    (TriageAction.STILL_HAPPENING, TipState.NEW): "tips.triage.still_open",
    (TriageAction.STILL_HAPPENING, TipState.ACKNOWLEDGED): "tips.triage.still_open",
}


def parse_action(value: str) -> TriageAction | None:
    """The action named by button data, or None for anything else (a forged value)."""
    try:
        return TriageAction(value)
    except ValueError:
        return None


def decide(triage: Triage, action: str, actor: Actor, now: datetime) -> Transition | Refusal:
    """What `actor` doing `action` now does to a tip in `triage`."""
    known = parse_action(action)
    if known is None:
        return Refusal("tips.triage.unknown_action")
    if known in _ASSESSMENTS:
        return _assess(triage, known, actor)
    allowed, moves = _STATE_MOVES[known]
    if actor != allowed:
        return Refusal("tips.triage.not_allowed")
    target = moves.get(triage.state)
    if target is None:
        default = "tips.triage.not_allowed" if triage.state.open else "tips.triage.already_closed"
        return Refusal(_REFUSALS.get((known, triage.state), default))
    if known is TriageAction.STILL_HAPPENING and not _within_reopen_window(triage, now):
        return Refusal("tips.triage.reopen_expired")
    after = replace(
        triage,
        state=target,
        resolved_at=now if target is TipState.RESOLVED else None,
    )
    return Transition(known, triage, after, "state", _STATE_NOTICES[known])


def _assess(triage: Triage, action: TriageAction, actor: Actor) -> Transition | Refusal:
    if actor is not Actor.OFFICER:
        return Refusal("tips.triage.not_allowed")
    if not triage.state.open:
        return Refusal("tips.triage.closed")
    value = _ASSESSMENTS[action]
    if triage.assessment is value:
        return Refusal("tips.triage.same_assessment")
    tell = value is Assessment.VALUABLE and not triage.valuable_told
    after = replace(triage, assessment=value, valuable_told=triage.valuable_told or tell)
    return Transition(action, triage, after, "assessment", "tips.notify.valuable" if tell else None)


def _within_reopen_window(triage: Triage, now: datetime) -> bool:
    return triage.resolved_at is not None and now - triage.resolved_at <= REOPEN_WINDOW
