"""The alert composer as a telegram-free state machine: `apply(draft, event, scope) -> Question`.

target (the whole jurisdiction; or one commune, found by its typed name; then the whole commune
or some of its residential areas, toggled on and off, then Done; for the ministry, the whole
country or provinces toggled on and off, then Done) → severity → category → text →
photo (optional) → location (optional) → validity → real or exercise → preview: confirm, cancel,
or edit any field and come back to the preview with everything else kept. An alert to more than
one province is confirmed a second time, the question naming how many groups will get it.

What needs the database is given as plain data: the `Scope` (the officer's jurisdiction and the
residential areas of the draft's commune) is looked up before each event. Handlers turn an
Update into an event and a question into a message with buttons; the order of the steps, every
check of a value and what is asked next live here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.areas import AdminUnits, Commune
from bot.services.alert_types import (
    AREA_LABEL_LIMIT,
    CAPTION_TEXT_LIMIT,
    CATEGORIES,
    EDITABLE,
    TEXT_LIMIT,
    VALIDITY_HOURS,
    Draft,
    ResidentialChoice,
    Severity,
    Step,
    TargetKind,
    clip,
    text_problem,
)
from bot.services.flow_types import (
    EDIT_PREFIX,
    SKIP,
    Choice,
    Edit,
    Label,
    Location,
    Option,
    Other,
    Photo,
    Question,
    Skip,
    Text,
    Voice,
    normalise,
)
from bot.services.officers import COUNTRY_NAME, Jurisdiction

Event = Choice | Text | Photo | Location | Voice | Other | Skip | Edit

# Button values (short: they travel in callback data with the draft token and the step).
WHOLE = "whole"  # the whole jurisdiction
ONE_COMMUNE = "commune"  # one commune of a province, searched for by name
RESIDENTIAL = "residential"  # residential areas of the commune
WHOLE_COMMUNE = "whole_commune"  # the whole commune (after choosing it, or instead of areas)
TOGGLE_PREFIX = "t:"  # t:<area id>: select or unselect one residential area
DONE = "done"  # the residential areas (or the provinces) are chosen
WHOLE_COUNTRY = "country"  # the ministry: every province
PROVINCES = "provinces"  # the ministry: provinces chosen with toggles
PROVINCE_PREFIX = "p:"  # p:<province code>: select or unselect one province
SEND = "send"  # the second confirmation of a national alert
REAL, EXERCISE = "0", "1"
CONFIRM, EDIT, CANCEL = "ok", "edit", "cancel"  # under the preview

SEARCH_LIMIT = 8  # communes offered for one typed name
QUERY_MIN, QUERY_MAX = 2, 100
STALE = Label("compose.stale_button")
USE_BUTTONS = Label("compose.use_buttons")


@dataclass(frozen=True)
class Scope:
    """What the flow knows of the officer's areas, looked up before each event."""

    jurisdiction: Jurisdiction
    residential: tuple[ResidentialChoice, ...] = ()  # of the draft's commune, by name


@dataclass(frozen=True)
class TargetOption:
    """One answer of the target step: its button and what choosing it does."""

    value: str
    label: Callable[[Jurisdiction], Label]
    choose: Callable[[AlertFlow, Draft, Scope], Question]


def chosen(field: str, value: Label | str) -> Label:
    """ "Mức độ: 🟠 CẢNH BÁO ✓": an answered step, shown in place of its buttons."""
    return Label("compose.chosen", {"field": Label(f"compose.field_{field}"), "value": value})


def with_audience(question: Question, recipients: int, filtered: int) -> Question:
    """The preview's question with the audience the service counted."""
    values = {**question.values, "recipients": recipients, "filtered": filtered}
    return replace(question, text=Label(question.key, values))


def with_groups(question: Question, groups: int) -> Question:
    """The second confirmation with the number of groups the service counted."""
    values = {**question.values, "groups": groups}
    options = tuple(
        replace(o, label=Label(o.label.key, {**o.label.values, "groups": groups}))
        for o in question.options
    )
    return replace(question, text=Label(question.key, values), options=options)


class AlertFlow:
    """The composer: pure, over the area catalogue."""

    def __init__(self, units: AdminUnits) -> None:
        self._units = units

    def start(self, token: str, scope: Scope) -> tuple[Draft, Question]:
        """A new draft and its first question."""
        draft = Draft(token=token)
        if scope.jurisdiction.kind == "commune":
            draft.commune_code = scope.jurisdiction.code
        return draft, self.question(draft, scope)

    def residential_commune(self, draft: Draft) -> str | None:
        """The commune whose residential areas the scope must list for the draft's next event."""
        return draft.commune_code if draft.step in _AREA_STEPS else None

    def apply(self, draft: Draft, event: Event, scope: Scope) -> Question:
        """Take one event; the draft is changed in place and the next question returned.

        A question with a notice changed nothing: a stale button, a value refused.
        """
        if draft.step is Step.CONFIRM:  # a send that was refused: back to the preview
            draft.step = Step.PREVIEW
        if isinstance(event, Choice) and event.step is not None and event.step != draft.step:
            return self._refuse(draft, scope, STALE)
        return _HANDLERS[draft.step](self, draft, normalise(event), scope)

    # -- the target -------------------------------------------------------------------------

    def _target(self, draft: Draft, event: Event, scope: Scope) -> Question:
        options = TARGET_OPTIONS.get(scope.jurisdiction.kind, ())
        option = next((o for o in options if _chose(event, o.value)), None)
        if option is None:
            return self._refuse(draft, scope, USE_BUTTONS)
        return option.choose(self, draft, scope)

    def _whole_jurisdiction(self, draft: Draft, scope: Scope) -> Question:
        jurisdiction = scope.jurisdiction
        if jurisdiction.kind == "province":
            draft.target_kind, draft.commune_code = TargetKind.PROVINCE, None
        else:
            draft.target_kind, draft.commune_code = TargetKind.COMMUNE, jurisdiction.code
        draft.residential_ids = []
        return self._advance(draft, scope, Step.TARGET, self._target_chosen(draft, scope))

    def _whole_country(self, draft: Draft, scope: Scope) -> Question:
        draft.target_kind, draft.commune_code, draft.residential_ids = TargetKind.COUNTRY, None, []
        draft.province_codes = []
        return self._advance(draft, scope, Step.TARGET, self._target_chosen(draft, scope))

    def _to_provinces(self, draft: Draft, scope: Scope) -> Question:
        answered = chosen("target", Label("compose.btn_provinces"))
        return self._goto(draft, scope, Step.PROVINCES, answered)

    def _provinces(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if _chose(event, DONE):
            if not draft.province_codes:
                return self._refuse(draft, scope, Label("compose.no_province"))
            draft.target_kind, draft.commune_code, draft.residential_ids = (
                TargetKind.PROVINCES,
                None,
                [],
            )
            return self._advance(draft, scope, Step.TARGET, self._target_chosen(draft, scope))
        code = ""
        if isinstance(event, Choice) and event.value.startswith(PROVINCE_PREFIX):
            code = event.value[len(PROVINCE_PREFIX) :]
        if not self.toggle_province(scope.jurisdiction, draft, code):
            return self._refuse(draft, scope, Label("compose.outside_jurisdiction"))
        return self.question(draft, scope)  # the same question, its toggles changed

    def toggle_province(self, jurisdiction: Jurisdiction, draft: Draft, code: str) -> bool:
        """Select or unselect a province (kept in the catalogue's order); False, changing
        nothing, unless the jurisdiction is the country's and `code` a province's."""
        if not jurisdiction.national or self._units.province(code) is None:
            return False
        chosen_codes = set(draft.province_codes) ^ {code}
        draft.province_codes = [p.code for p in self._units.provinces if p.code in chosen_codes]
        return True

    def _reconfirm(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if _chose(event, SEND):
            return self._goto(draft, scope, Step.CONFIRM)
        if _chose(event, CANCEL):
            return self._goto(draft, scope, Step.DISCARDED)
        return self._refuse(draft, scope, USE_BUTTONS)

    def _search_commune(self, draft: Draft, scope: Scope) -> Question:
        draft.offered_codes = []
        answered = chosen("target", Label("compose.btn_one_commune"))
        return self._goto(draft, scope, Step.COMMUNE, answered)

    def _own_residential(self, draft: Draft, scope: Scope) -> Question:
        draft.commune_code = scope.jurisdiction.code
        return self._to_residential(draft, scope)

    def _to_residential(self, draft: Draft, scope: Scope) -> Question:
        answered = chosen("target", Label("compose.btn_residential"))
        return self._goto(draft, scope, Step.RESIDENTIAL, answered)

    def _commune(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if isinstance(event, Text):
            query = event.text.strip()
            found = self.communes_in(scope.jurisdiction, query)
            if not found:
                notice = Label("compose.no_commune", {"query": query[:QUERY_MAX]})
                return self._refuse(draft, scope, notice)
            draft.offered_codes = [c.code for c in found]
            return self.question(draft, scope)
        if isinstance(event, Choice):
            commune = self.commune_in(scope.jurisdiction, event.value)
            if commune is None:
                return self._refuse(draft, scope, Label("compose.outside_jurisdiction"))
            draft.commune_code, draft.residential_ids, draft.offered_codes = commune.code, [], []
            return self._goto(draft, scope, Step.COMMUNE_SCOPE, chosen("target", commune.label))
        return self._refuse(draft, scope, Label("compose.ask_commune"))

    def _commune_scope(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if _chose(event, WHOLE_COMMUNE):
            return self._whole_commune(draft, scope)
        if _chose(event, RESIDENTIAL):
            return self._to_residential(draft, scope)
        return self._refuse(draft, scope, USE_BUTTONS)

    def _whole_commune(self, draft: Draft, scope: Scope) -> Question:
        draft.target_kind, draft.residential_ids = TargetKind.COMMUNE, []
        return self._advance(draft, scope, Step.TARGET, self._target_chosen(draft, scope))

    def _residential(self, draft: Draft, event: Event, scope: Scope) -> Question:
        offered = [c.id for c in scope.residential]
        if _chose(event, WHOLE_COMMUNE):
            return self._whole_commune(draft, scope)
        if _chose(event, DONE):
            picked = [i for i in draft.residential_ids if i in offered]
            if not picked:
                return self._refuse(draft, scope, Label("compose.pick_one"))
            draft.target_kind, draft.residential_ids = TargetKind.RESIDENTIAL, picked
            return self._advance(draft, scope, Step.TARGET, self._target_chosen(draft, scope))
        area = _toggled(event)
        if area is None or area not in offered:
            return self._refuse(draft, scope, USE_BUTTONS)
        if area in draft.residential_ids:
            draft.residential_ids.remove(area)
        else:
            draft.residential_ids.append(area)
        return self.question(draft, scope)  # the same question, its toggles changed

    # -- one value per step -----------------------------------------------------------------

    def _severity(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if isinstance(event, Choice) and event.value in set(Severity):
            draft.severity = event.value
            answered = chosen("severity", Label(f"severity.{event.value}"))
            return self._advance(draft, scope, Step.SEVERITY, answered)
        return self._refuse(draft, scope, USE_BUTTONS)

    def _category(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if isinstance(event, Choice) and event.value in CATEGORIES:
            draft.category = event.value
            answered = chosen("category", Label(f"category.{event.value}"))
            return self._advance(draft, scope, Step.CATEGORY, answered)
        return self._refuse(draft, scope, USE_BUTTONS)

    def _text(self, draft: Draft, event: Event, scope: Scope) -> Question:
        text = event.text if isinstance(event, Text) else None
        problem = text_problem(text, draft.photo_file_id is not None)
        if problem is not None:
            return self._refuse(draft, scope, problem, ask_again=True)
        draft.text = (text or "").strip()
        return self._advance(draft, scope, Step.TEXT)

    def _photo(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if isinstance(event, Skip):
            draft.photo_file_id = None
            return self._advance(draft, scope, Step.PHOTO, chosen("photo", _SKIPPED))
        if not isinstance(event, Photo) or event.as_document or not event.file_id:
            return self._refuse(draft, scope, Label("compose.not_a_photo"))
        problem = text_problem(draft.text, has_photo=True) if draft.text else None
        if problem is not None:  # the caption would be cut: keep the text, refuse the photo
            return self._refuse(draft, scope, problem)
        draft.photo_file_id = event.file_id
        return self._advance(draft, scope, Step.PHOTO)

    def _location(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if isinstance(event, Skip):
            draft.lat = draft.lon = None
            return self._advance(draft, scope, Step.LOCATION, chosen("location", _SKIPPED))
        if not isinstance(event, Location) or not _on_earth(event.lat, event.lon):
            return self._refuse(draft, scope, Label("compose.not_a_location"))
        draft.lat, draft.lon = event.lat, event.lon
        return self._advance(draft, scope, Step.LOCATION)

    def _validity(self, draft: Draft, event: Event, scope: Scope) -> Question:
        hours = _validity_of(event)
        if hours is None:
            return self._refuse(draft, scope, USE_BUTTONS)
        draft.validity_hours = hours
        return self._advance(draft, scope, Step.VALIDITY, chosen("validity", _duration(hours)))

    def _exercise(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if not isinstance(event, Choice) or event.value not in _EXERCISE_LABELS:
            return self._refuse(draft, scope, USE_BUTTONS)
        draft.exercise = event.value == EXERCISE
        answered = chosen("exercise", Label(_EXERCISE_LABELS[event.value]))
        return self._advance(draft, scope, Step.EXERCISE, answered)

    # -- the preview ------------------------------------------------------------------------

    def _preview(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if _chose(event, CONFIRM):
            # Several provinces at once: asked again, naming the number of groups.
            return self._goto(draft, scope, Step.RECONFIRM if draft.national else Step.CONFIRM)
        if _chose(event, EDIT):
            return self._goto(draft, scope, Step.EDIT)  # the menu replaces the preview's buttons
        if _chose(event, CANCEL):
            return self._goto(draft, scope, Step.DISCARDED)
        if isinstance(event, Edit):
            return self._edit(draft, event, scope)
        return self._refuse(draft, scope, USE_BUTTONS)

    def _edit(self, draft: Draft, event: Event, scope: Scope) -> Question:
        if not isinstance(event, Edit) or event.step not in set(EDITABLE):
            return self._refuse(draft, scope, USE_BUTTONS)
        draft.editing = True
        value = Label(f"compose.field_{event.step}")
        answered = Label("compose.chosen", {"field": Label("compose.btn_edit"), "value": value})
        return self._goto(draft, scope, Step(event.step), answered)

    def _discarded(self, draft: Draft, event: Event, scope: Scope) -> Question:
        return self._refuse(draft, scope, Label("compose.expired"))

    # -- moving on --------------------------------------------------------------------------

    def _advance(
        self, draft: Draft, scope: Scope, done: Step, answered: Label | None = None
    ) -> Question:
        """Go to the step after `done` (back to the preview when editing from it)."""
        if draft.editing or done is EDITABLE[-1]:
            return self._goto(draft, scope, Step.PREVIEW, answered)
        return self._goto(draft, scope, EDITABLE[EDITABLE.index(done) + 1], answered)

    def _goto(
        self, draft: Draft, scope: Scope, step: Step, answered: Label | None = None
    ) -> Question:
        draft.step = step
        if step is Step.PREVIEW:
            draft.editing = False
        return replace(self.question(draft, scope), answered=answered)

    def _refuse(
        self, draft: Draft, scope: Scope, notice: Label, ask_again: bool = False
    ) -> Question:
        """The current question with why the event changed nothing; `ask_again`: it is asked
        again after the notice (else the question above still stands)."""
        return replace(self.question(draft, scope), notice=notice, ask_again=ask_again)

    # -- areas ------------------------------------------------------------------------------

    def communes_in(self, jurisdiction: Jurisdiction, query: str) -> list[Commune]:
        """Communes of the jurisdiction matching a typed name (none for a name too short)."""
        if not QUERY_MIN <= len(query) <= QUERY_MAX:
            return []
        found = self._units.search(query, limit=200)
        return [c for c in found if jurisdiction.covers(c)][:SEARCH_LIMIT]

    def commune_in(self, jurisdiction: Jurisdiction, code: str) -> Commune | None:
        """The commune of that code if the jurisdiction covers it."""
        commune = self._units.commune(code)
        return commune if commune is not None and jurisdiction.covers(commune) else None

    def target_label(self, draft: Draft, scope: Scope) -> str | None:
        """The area as groups will read it; None if the draft's commune is unknown (or, for
        chosen provinces, none is chosen)."""
        if draft.target_kind == TargetKind.COUNTRY:
            return COUNTRY_NAME
        if draft.target_kind == TargetKind.PROVINCES:
            return self._provinces_label(draft) or None
        if draft.target_kind == TargetKind.PROVINCE:
            return scope.jurisdiction.name
        commune = self._units.commune(draft.commune_code or "")
        if commune is None:
            return None
        if draft.target_kind != TargetKind.RESIDENTIAL:
            return commune.label
        names = ", ".join(c.name for c in scope.residential if c.id in draft.residential_ids)
        suffix = f" — {commune.label}"
        return clip(names, AREA_LABEL_LIMIT - len(suffix)) + suffix

    def _provinces_label(self, draft: Draft) -> str:
        provinces = (self._units.province(code) for code in draft.province_codes)
        return clip(", ".join(p.name for p in provinces if p is not None), AREA_LABEL_LIMIT)

    def _target_chosen(self, draft: Draft, scope: Scope) -> Label:
        return chosen("target", self.target_label(draft, scope) or "")

    def _commune_label(self, code: str | None) -> str:
        commune = self._units.commune(code or "")
        return commune.label if commune is not None else ""

    # -- questions --------------------------------------------------------------------------

    def question(self, draft: Draft, scope: Scope, notice: Label | None = None) -> Question:
        """The question for the draft's current step."""
        text, options = _QUESTIONS[draft.step](self, draft, scope)
        return Question(draft.step, text, draft.token, tuple(options), notice=notice)

    def _ask_target(self, draft: Draft, scope: Scope) -> _Asked:
        jurisdiction = scope.jurisdiction
        options = [
            Option(o.value, o.label(jurisdiction))
            for o in TARGET_OPTIONS.get(jurisdiction.kind, ())
        ]
        where: Label | str = jurisdiction.label
        if jurisdiction.national:
            where = Label("jurisdiction.country")
        return Label("compose.start", {"jurisdiction": where}), options

    def _ask_commune(self, draft: Draft, scope: Scope) -> _Asked:
        if not draft.offered_codes:
            return Label("compose.ask_commune"), []
        options = [
            Option(code, Label("compose.btn_commune", {"label": self._commune_label(code)}))
            for code in draft.offered_codes
        ]
        return Label("compose.choose_commune"), options

    def _ask_commune_scope(self, draft: Draft, scope: Scope) -> _Asked:
        values = {"commune": self._commune_label(draft.commune_code)}
        options = [
            Option(WHOLE_COMMUNE, Label("compose.btn_whole_commune")),
            Option(RESIDENTIAL, Label("compose.btn_residential")),
        ]
        return Label("compose.commune_scope", values), options

    def _ask_residential(self, draft: Draft, scope: Scope) -> _Asked:
        if not scope.residential:
            return Label("compose.no_residential"), [
                Option(WHOLE_COMMUNE, Label("compose.btn_whole_commune"))
            ]
        options = [
            Option(f"{TOGGLE_PREFIX}{area.id}", _area_button(area, draft))
            for area in scope.residential
        ]
        options.append(Option(DONE, Label("compose.btn_done")))
        return Label("compose.choose_residential"), options

    def _ask_provinces(self, draft: Draft, scope: Scope) -> _Asked:
        options = [
            Option(
                f"{PROVINCE_PREFIX}{p.code}", _toggle_button(p.name, p.code in draft.province_codes)
            )
            for p in self._units.provinces
        ]
        options.append(Option(DONE, Label("compose.btn_done")))
        return Label("compose.choose_provinces"), options

    def _ask_reconfirm(self, draft: Draft, scope: Scope) -> _Asked:
        """Its `groups` come from the service (`with_groups`)."""
        options = [
            Option(SEND, Label("compose.btn_reconfirm")),
            Option(CANCEL, Label("compose.btn_cancel")),
        ]
        if draft.target_kind == TargetKind.COUNTRY:
            count = {"provinces": len(self._units.provinces)}
            return Label("compose.reconfirm_country", count), options
        values: dict[str, object] = {
            "provinces": len(draft.province_codes),
            "names": self._provinces_label(draft),
        }
        return Label("compose.reconfirm_provinces", values), options

    def _ask_severity(self, draft: Draft, scope: Scope) -> _Asked:
        options = [Option(s.value, Label(f"severity.{s.value}")) for s in Severity]
        return Label("compose.ask_severity"), options

    def _ask_category(self, draft: Draft, scope: Scope) -> _Asked:
        return Label("compose.ask_category"), [
            Option(c, Label(f"category.{c}")) for c in CATEGORIES
        ]

    def _ask_text(self, draft: Draft, scope: Scope) -> _Asked:
        values = {"limit": TEXT_LIMIT, "caption_limit": CAPTION_TEXT_LIMIT}
        return Label("compose.ask_text", values), []

    def _ask_photo(self, draft: Draft, scope: Scope) -> _Asked:
        return Label("compose.ask_photo"), [Option(SKIP, Label("compose.btn_skip"))]

    def _ask_location(self, draft: Draft, scope: Scope) -> _Asked:
        return Label("compose.ask_location"), [Option(SKIP, Label("compose.btn_skip"))]

    def _ask_validity(self, draft: Draft, scope: Scope) -> _Asked:
        options = [Option(str(h), _duration(h)) for h in VALIDITY_HOURS]
        return Label("compose.ask_validity"), options

    def _ask_exercise(self, draft: Draft, scope: Scope) -> _Asked:
        options = [Option(value, Label(key)) for value, key in _EXERCISE_LABELS.items()]
        return Label("compose.ask_exercise"), options

    def _ask_preview(self, draft: Draft, scope: Scope) -> _Asked:
        """The audience under the preview (its figures: `with_audience`), and what to do."""
        options = [
            Option(CONFIRM, Label("compose.btn_confirm")),
            Option(EDIT, Label("compose.btn_edit")),
            Option(CANCEL, Label("compose.btn_cancel")),
        ]
        return Label("compose.audience"), options

    def _ask_edit(self, draft: Draft, scope: Scope) -> _Asked:
        options = [
            Option(f"{EDIT_PREFIX}{step.value}", Label(f"compose.field_{step.value}"))
            for step in EDITABLE
        ]
        return Label("compose.edit_what"), options

    def _ask_discarded(self, draft: Draft, scope: Scope) -> _Asked:
        return Label("compose.cancelled"), []


_Asked = tuple[Label, list[Option]]
_SKIPPED = Label("compose.skipped")
_EXERCISE_LABELS = {REAL: "compose.btn_real", EXERCISE: "compose.btn_exercise"}
# The steps whose question or answers need the residential areas of the draft's commune.
_AREA_STEPS = (Step.TARGET, Step.COMMUNE_SCOPE, Step.RESIDENTIAL)

# The target step's answers by the officer's jurisdiction level ("province", "commune", and
# "country" for the ministry: the whole country, or provinces chosen in a step of their own).
_WHOLE = TargetOption(
    WHOLE,
    lambda j: Label("compose.btn_whole", {"area": j.name}),
    AlertFlow._whole_jurisdiction,
)
TARGET_OPTIONS: dict[str, tuple[TargetOption, ...]] = {
    "province": (
        _WHOLE,
        TargetOption(
            ONE_COMMUNE, lambda j: Label("compose.btn_one_commune"), AlertFlow._search_commune
        ),
    ),
    "commune": (
        _WHOLE,
        TargetOption(
            RESIDENTIAL, lambda j: Label("compose.btn_residential"), AlertFlow._own_residential
        ),
    ),
    "country": (
        TargetOption(
            WHOLE_COUNTRY, lambda j: Label("compose.btn_whole_country"), AlertFlow._whole_country
        ),
        TargetOption(PROVINCES, lambda j: Label("compose.btn_provinces"), AlertFlow._to_provinces),
    ),
}
_HANDLERS: dict[Step, Callable[[AlertFlow, Draft, Event, Scope], Question]] = {
    Step.TARGET: AlertFlow._target,
    Step.COMMUNE: AlertFlow._commune,
    Step.COMMUNE_SCOPE: AlertFlow._commune_scope,
    Step.RESIDENTIAL: AlertFlow._residential,
    Step.PROVINCES: AlertFlow._provinces,
    Step.RECONFIRM: AlertFlow._reconfirm,
    Step.SEVERITY: AlertFlow._severity,
    Step.CATEGORY: AlertFlow._category,
    Step.TEXT: AlertFlow._text,
    Step.PHOTO: AlertFlow._photo,
    Step.LOCATION: AlertFlow._location,
    Step.VALIDITY: AlertFlow._validity,
    Step.EXERCISE: AlertFlow._exercise,
    Step.PREVIEW: AlertFlow._preview,
    Step.EDIT: AlertFlow._edit,
    Step.DISCARDED: AlertFlow._discarded,
    Step.CONFIRM: AlertFlow._preview,
}
_QUESTIONS: dict[Step, Callable[[AlertFlow, Draft, Scope], _Asked]] = {
    Step.TARGET: AlertFlow._ask_target,
    Step.COMMUNE: AlertFlow._ask_commune,
    Step.COMMUNE_SCOPE: AlertFlow._ask_commune_scope,
    Step.RESIDENTIAL: AlertFlow._ask_residential,
    Step.PROVINCES: AlertFlow._ask_provinces,
    Step.RECONFIRM: AlertFlow._ask_reconfirm,
    Step.SEVERITY: AlertFlow._ask_severity,
    Step.CATEGORY: AlertFlow._ask_category,
    Step.TEXT: AlertFlow._ask_text,
    Step.PHOTO: AlertFlow._ask_photo,
    Step.LOCATION: AlertFlow._ask_location,
    Step.VALIDITY: AlertFlow._ask_validity,
    Step.EXERCISE: AlertFlow._ask_exercise,
    Step.PREVIEW: AlertFlow._ask_preview,
    Step.EDIT: AlertFlow._ask_edit,
    Step.DISCARDED: AlertFlow._ask_discarded,
    Step.CONFIRM: AlertFlow._ask_preview,
}


def _chose(event: Event, value: str) -> bool:
    return isinstance(event, Choice) and event.value == value


def _toggle_button(name: str, on: bool) -> Label:
    """ "☑️ Thành phố Hà Nội" when chosen, "⬜ …" when not."""
    return Label("compose.btn_area_on" if on else "compose.btn_area", {"name": name})


def _toggled(event: Event) -> int | None:
    """The residential area a toggle names."""
    if not isinstance(event, Choice) or not event.value.startswith(TOGGLE_PREFIX):
        return None
    number = event.value[len(TOGGLE_PREFIX) :]
    return int(number) if number.isdigit() and len(number) < 19 else None


def _area_button(area: ResidentialChoice, draft: Draft) -> Label:
    """ "☑️ Tổ 5" when chosen, "⬜ Tổ 5" when not."""
    key = "compose.btn_area_on" if area.id in draft.residential_ids else "compose.btn_area"
    return Label(key, {"name": area.name})


def _validity_of(event: Event) -> int | None:
    if not isinstance(event, Choice) or not event.value.isdigit():
        return None
    hours = int(event.value)
    return hours if hours in VALIDITY_HOURS else None


def _duration(hours: int) -> Label:
    """ "24 giờ", "3 ngày": a validity as its button reads."""
    if hours < 72:
        return Label("compose.hours", {"n": hours})
    return Label("compose.days", {"n": hours // 24})


def _on_earth(lat: float, lon: float) -> bool:
    finite = math.isfinite(lat) and math.isfinite(lon)
    return finite and -90 <= lat <= 90 and -180 <= lon <= 180
