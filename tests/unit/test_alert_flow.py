"""The alert composer, step by step: every target, every check of a value, skips, stale
buttons, the preview's edit of every field (and the return to the preview), cancel, confirm.

Each row starts from a named draft state (the events that reach it), applies more events, and
checks the step asked next, its question's catalogue key, the notice and draft fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.services.alert_flow import (
    AlertFlow,
    Event,
    Scope,
    with_audience,
)
from bot.services.alert_types import EDITABLE, Draft, ResidentialChoice, Step
from bot.services.flow_types import (
    Choice,
    Edit,
    Label,
    Location,
    Other,
    Photo,
    Question,
    Text,
    Voice,
    render_question,
)
from bot.services.officers import Jurisdiction, jurisdiction_of
from bot.services.tip_flow import Draft as TipDraft
from bot.services.tip_flow import Step as TipStep

CATALOG = load_catalog()
UNITS = AdminUnits.load()
DONG_DA, BA_DINH, CAM_GIANG = "00235", "00004", "10888"  # Cẩm Giang: Hải Phòng, not Hà Nội
WARD = jurisdiction_of(UNITS, DONG_DA)  # a ward's police
CITY = jurisdiction_of(UNITS, "01")  # Hà Nội's police
# The residential areas created under each commune (what the service looks up).
AREAS = {
    DONG_DA: (
        ResidentialChoice(11, "Tổ dân phố 5"),
        ResidentialChoice(12, "Tổ dân phố 6"),
        ResidentialChoice(13, "Thôn A & B"),
    ),
    BA_DINH: (),
}
STORY = "Có đối tượng giả danh công an gọi điện yêu cầu chuyển tiền."
DONG_DA_LABEL = "Phường Đống Đa — Thành phố Hà Nội"


@pytest.fixture(scope="module")
def flow() -> AlertFlow:
    return AlertFlow(UNITS)


def scope_for(flow: AlertFlow, jurisdiction: Jurisdiction, draft: Draft) -> Scope:
    """What the service gives the flow: the residential areas only when they are needed."""
    code = flow.residential_commune(draft)
    return Scope(jurisdiction, AREAS.get(code or "", ()))


def rendered(question: Question) -> str:
    """Render in both languages (fails on a missing key or placeholder); the Vietnamese text."""
    if question.step in (Step.PREVIEW, Step.CONFIRM) and "recipients" not in question.values:
        question = with_audience(question, 3, 1)
    render_question(CATALOG, "en", question)
    shown = render_question(CATALOG, "vi", question)
    for label in (question.notice, question.answered):
        if label is not None:
            render_question(CATALOG, "en", Question(question.step, label, question.token))
    return shown.text


def run(
    flow: AlertFlow, jurisdiction: Jurisdiction, events: list[Event]
) -> tuple[Draft, list[Question]]:
    draft, first = flow.start("tok12345", scope_for(flow, jurisdiction, Draft("x")))
    questions = [first]
    for event in events:
        questions.append(flow.apply(draft, event, scope_for(flow, jurisdiction, draft)))
    for question in questions:
        rendered(question)
    return draft, questions


def button(step: Step, value: str) -> Choice:
    """A press of the button showing `value` under the question of `step`."""
    return Choice(value, step.value)


# -- named states: the events that reach them ------------------------------------------------

WHOLE_WARD = [button(Step.TARGET, "whole")]
TO_TEXT = [
    *WHOLE_WARD,
    button(Step.SEVERITY, "warning"),
    button(Step.CATEGORY, "scam"),
]
TO_PHOTO = [*TO_TEXT, Text(STORY)]
TO_LOCATION = [*TO_PHOTO, button(Step.PHOTO, "skip")]
TO_PREVIEW = [
    *TO_LOCATION,
    button(Step.LOCATION, "skip"),
    button(Step.VALIDITY, "24"),
    button(Step.EXERCISE, "0"),
]
TO_PREVIEW_PHOTO = [
    *TO_PHOTO,
    Photo("AgADphoto"),
    Location(21.0181, 105.8292),
    button(Step.VALIDITY, "6"),
    button(Step.EXERCISE, "1"),
]
TO_RESIDENTIAL = [button(Step.TARGET, "residential")]
TO_SEARCH = [button(Step.TARGET, "commune")]
TO_SCOPE = [*TO_SEARCH, Text("dong da"), button(Step.COMMUNE, DONG_DA)]
STATES: dict[str, tuple[Jurisdiction, list[Event]]] = {
    "new (ward)": (WARD, []),
    "new (city)": (CITY, []),
    "residential": (WARD, TO_RESIDENTIAL),
    "search (city)": (CITY, TO_SEARCH),
    "scope (city)": (CITY, TO_SCOPE),
    "text": (WARD, TO_TEXT),
    "photo": (WARD, TO_PHOTO),
    "location": (WARD, TO_LOCATION),
    "preview": (WARD, TO_PREVIEW),
    "preview with photo": (WARD, TO_PREVIEW_PHOTO),
}


@dataclass(frozen=True)
class Case:
    name: str
    state: str  # a key of STATES
    events: list[Event]
    step: Step  # the step asked after the last event
    key: str  # its question's catalogue key
    notice: str | None = None  # the notice with it (a refusal: nothing changed)
    fields: dict[str, Any] = field(default_factory=dict)  # draft fields after the last event


CASES = [
    # -- target -------------------------------------------------------------------------
    Case(
        "whole jurisdiction: a ward",
        "new (ward)",
        WHOLE_WARD,
        Step.SEVERITY,
        "compose.ask_severity",
        fields={"target_kind": "commune", "commune_code": DONG_DA, "residential_ids": []},
    ),
    Case(
        "whole jurisdiction: a province",
        "new (city)",
        [button(Step.TARGET, "whole")],
        Step.SEVERITY,
        "compose.ask_severity",
        fields={"target_kind": "province", "commune_code": None},
    ),
    Case(
        "a province officer has no residential button",
        "new (city)",
        [button(Step.TARGET, "residential")],
        Step.TARGET,
        "compose.start",
        "compose.use_buttons",
        {"target_kind": None},
    ),
    Case(
        "a ward officer cannot search communes",
        "new (ward)",
        [button(Step.TARGET, "commune")],
        Step.TARGET,
        "compose.start",
        "compose.use_buttons",
    ),
    Case(
        "one commune: asks its name", "new (city)", TO_SEARCH, Step.COMMUNE, "compose.ask_commune"
    ),
    Case(
        "typed commune search: the matches are offered",
        "search (city)",
        [Text("  dong da  ")],
        Step.COMMUNE,
        "compose.choose_commune",
        fields={"commune_code": None},
    ),
    Case(
        "typed commune search: none in the jurisdiction",
        "search (city)",
        [Text("cam giang")],
        Step.COMMUNE,
        "compose.ask_commune",
        "compose.no_commune",
        {"offered_codes": []},
    ),
    Case(
        "typed commune search: too short a name",
        "search (city)",
        [Text("d")],
        Step.COMMUNE,
        "compose.ask_commune",
        "compose.no_commune",
    ),
    Case(
        "typed commune search: a sticker",
        "search (city)",
        [Other()],
        Step.COMMUNE,
        "compose.ask_commune",
        "compose.ask_commune",
    ),
    Case(
        "typed commune search: a commune outside the province (forged button)",
        "search (city)",
        [button(Step.COMMUNE, CAM_GIANG)],
        Step.COMMUNE,
        "compose.ask_commune",
        "compose.outside_jurisdiction",
        {"commune_code": None},
    ),
    Case(
        "typed commune search: picked",
        "search (city)",
        [Text("dong da"), button(Step.COMMUNE, DONG_DA)],
        Step.COMMUNE_SCOPE,
        "compose.commune_scope",
        fields={"commune_code": DONG_DA, "offered_codes": [], "target_kind": None},
    ),
    Case(
        "the chosen commune, whole",
        "scope (city)",
        [button(Step.COMMUNE_SCOPE, "whole_commune")],
        Step.SEVERITY,
        "compose.ask_severity",
        fields={"target_kind": "commune", "commune_code": DONG_DA},
    ),
    Case(
        "the chosen commune, some residential areas",
        "scope (city)",
        [
            button(Step.COMMUNE_SCOPE, "residential"),
            button(Step.RESIDENTIAL, "t:12"),
            button(Step.RESIDENTIAL, "done"),
        ],
        Step.SEVERITY,
        "compose.ask_severity",
        fields={"target_kind": "residential", "commune_code": DONG_DA, "residential_ids": [12]},
    ),
    Case(
        "a commune without residential areas: only the whole commune",
        "search (city)",
        [
            Text("ba dinh"),
            button(Step.COMMUNE, BA_DINH),
            button(Step.COMMUNE_SCOPE, "residential"),
        ],
        Step.RESIDENTIAL,
        "compose.no_residential",
        fields={"commune_code": BA_DINH},
    ),
    # -- residential multi-select --------------------------------------------------------
    Case(
        "residential: toggle on",
        "residential",
        [button(Step.RESIDENTIAL, "t:11")],
        Step.RESIDENTIAL,
        "compose.choose_residential",
        fields={"residential_ids": [11], "target_kind": None},
    ),
    Case(
        "residential: toggle on, then off",
        "residential",
        [button(Step.RESIDENTIAL, "t:11"), button(Step.RESIDENTIAL, "t:11")],
        Step.RESIDENTIAL,
        "compose.choose_residential",
        fields={"residential_ids": []},
    ),
    Case(
        "residential: Done with none chosen",
        "residential",
        [button(Step.RESIDENTIAL, "done")],
        Step.RESIDENTIAL,
        "compose.choose_residential",
        "compose.pick_one",
        {"target_kind": None},
    ),
    Case(
        "residential: Done after toggling the only one off",
        "residential",
        [*[button(Step.RESIDENTIAL, "t:13")] * 2, button(Step.RESIDENTIAL, "done")],
        Step.RESIDENTIAL,
        "compose.choose_residential",
        "compose.pick_one",
    ),
    Case(
        "residential: Done with two",
        "residential",
        [
            button(Step.RESIDENTIAL, "t:13"),
            button(Step.RESIDENTIAL, "t:11"),
            button(Step.RESIDENTIAL, "done"),
        ],
        Step.SEVERITY,
        "compose.ask_severity",
        fields={"target_kind": "residential", "residential_ids": [13, 11]},
    ),
    Case(
        "residential: an area of another commune (forged button)",
        "residential",
        [button(Step.RESIDENTIAL, "t:99")],
        Step.RESIDENTIAL,
        "compose.choose_residential",
        "compose.use_buttons",
        {"residential_ids": []},
    ),
    Case(
        "residential: a malformed toggle",
        "residential",
        [button(Step.RESIDENTIAL, "t:1x")],
        Step.RESIDENTIAL,
        "compose.choose_residential",
        "compose.use_buttons",
    ),
    Case(
        "residential: the whole commune instead",
        "residential",
        [button(Step.RESIDENTIAL, "t:11"), button(Step.RESIDENTIAL, "whole_commune")],
        Step.SEVERITY,
        "compose.ask_severity",
        fields={"target_kind": "commune", "residential_ids": []},
    ),
    # -- one value per step --------------------------------------------------------------
    Case(
        "severity: a forged value",
        "new (ward)",
        [*WHOLE_WARD, button(Step.SEVERITY, "apocalyptic")],
        Step.SEVERITY,
        "compose.ask_severity",
        "compose.use_buttons",
        {"severity": None},
    ),
    Case(
        "category: typed instead of pressed",
        "new (ward)",
        [*WHOLE_WARD, button(Step.SEVERITY, "urgent"), Text("lừa đảo")],
        Step.CATEGORY,
        "compose.ask_category",
        "compose.use_buttons",
        {"severity": "urgent", "category": None},
    ),
    Case(
        "text: accepted",
        "text",
        [Text(f"  {STORY}\n")],
        Step.PHOTO,
        "compose.ask_photo",
        None,
        {"text": STORY},
    ),
    Case(
        "text: too long",
        "text",
        [Text("x" * 3501)],
        Step.TEXT,
        "compose.ask_text",
        "compose.text_too_long",
        {"text": None},
    ),
    Case("text: 3500 characters fit", "text", [Text("x" * 3500)], Step.PHOTO, "compose.ask_photo"),
    Case("text: empty", "text", [Text("   ")], Step.TEXT, "compose.ask_text", "compose.text_empty"),
    Case(
        "text: a photo first",
        "text",
        [Photo("AgAD")],
        Step.TEXT,
        "compose.ask_text",
        "compose.text_empty",
    ),
    Case(
        "text: too long with the photo already attached",
        "preview with photo",
        [button(Step.PREVIEW, "edit"), button(Step.EDIT, "edit:text"), Text("x" * 551)],
        Step.TEXT,
        "compose.ask_text",
        "compose.text_too_long_photo",
        {"text": STORY, "editing": True},
    ),
    Case(
        "photo: refused when the text is too long for a caption",
        "text",
        [Text("x" * 551), Photo("AgADphoto")],
        Step.PHOTO,
        "compose.ask_photo",
        "compose.text_too_long_photo",
        {"photo_file_id": None},
    ),
    Case(
        "photo: a file is not a photo",
        "photo",
        [Photo("BQAD", as_document=True, mime="application/pdf")],
        Step.PHOTO,
        "compose.ask_photo",
        "compose.not_a_photo",
    ),
    Case(
        "photo: a voice", "photo", [Voice()], Step.PHOTO, "compose.ask_photo", "compose.not_a_photo"
    ),
    Case(
        "photo: attached",
        "photo",
        [Photo("AgADphoto")],
        Step.LOCATION,
        "compose.ask_location",
        fields={"photo_file_id": "AgADphoto"},
    ),
    Case(
        "photo: skipped",
        "photo",
        [button(Step.PHOTO, "skip")],
        Step.LOCATION,
        "compose.ask_location",
        fields={"photo_file_id": None},
    ),
    Case(
        "location: skipped",
        "location",
        [button(Step.LOCATION, "skip")],
        Step.VALIDITY,
        "compose.ask_validity",
        fields={"lat": None, "lon": None},
    ),
    Case(
        "location: a venue",
        "location",
        [Location(21.0181, 105.8292, "Chợ Kim Liên", "Đống Đa")],
        Step.VALIDITY,
        "compose.ask_validity",
        fields={"lat": 21.0181, "lon": 105.8292},
    ),
    Case(
        "location: off the globe",
        "location",
        [Location(91.0, 0.0)],
        Step.LOCATION,
        "compose.ask_location",
        "compose.not_a_location",
        {"lat": None},
    ),
    Case(
        "location: text instead",
        "location",
        [Text("chợ Kim Liên")],
        Step.LOCATION,
        "compose.ask_location",
        "compose.not_a_location",
    ),
    Case(
        "validity: a duration not offered",
        "location",
        [button(Step.LOCATION, "skip"), button(Step.VALIDITY, "12")],
        Step.VALIDITY,
        "compose.ask_validity",
        "compose.use_buttons",
        {"validity_hours": None},
    ),
    Case(
        "exercise: the last step leads to the preview",
        "location",
        [button(Step.LOCATION, "skip"), button(Step.VALIDITY, "168"), button(Step.EXERCISE, "1")],
        Step.PREVIEW,
        "compose.audience",
        fields={"validity_hours": 168, "exercise": True, "editing": False},
    ),
    # -- stale buttons -------------------------------------------------------------------
    Case(
        "stale: a severity button pressed at the text step",
        "text",
        [button(Step.SEVERITY, "urgent")],
        Step.TEXT,
        "compose.ask_text",
        "compose.stale_button",
        {"severity": "warning"},
    ),
    Case(
        "stale: the photo's Skip after a photo was sent",
        "photo",
        [Photo("AgADphoto"), button(Step.PHOTO, "skip")],
        Step.LOCATION,
        "compose.ask_location",
        "compose.stale_button",
        {"photo_file_id": "AgADphoto"},
    ),
    Case(
        "stale: a button of an older version (unknown step)",
        "preview",
        [Choice("ok", "sv")],
        Step.PREVIEW,
        "compose.audience",
        "compose.stale_button",
    ),
    Case(
        "stale: Confirm of the preview after Edit",
        "preview",
        [button(Step.PREVIEW, "edit"), button(Step.PREVIEW, "ok")],
        Step.EDIT,
        "compose.edit_what",
        "compose.stale_button",
    ),
    # -- the preview ---------------------------------------------------------------------
    Case(
        "preview: typed text",
        "preview",
        [Text("gửi")],
        Step.PREVIEW,
        "compose.audience",
        "compose.use_buttons",
    ),
    Case(
        "preview: Edit opens the menu",
        "preview",
        [button(Step.PREVIEW, "edit")],
        Step.EDIT,
        "compose.edit_what",
    ),
    Case(
        "preview: a field that cannot be edited",
        "preview",
        [button(Step.PREVIEW, "edit"), button(Step.EDIT, "edit:preview")],
        Step.EDIT,
        "compose.edit_what",
        "compose.use_buttons",
    ),
    Case(
        "preview: Confirm",
        "preview",
        [button(Step.PREVIEW, "ok")],
        Step.CONFIRM,
        "compose.audience",
    ),
    Case(
        "preview: a refused Confirm returns to the preview",
        "preview",
        [button(Step.PREVIEW, "ok"), button(Step.PREVIEW, "edit")],
        Step.EDIT,
        "compose.edit_what",
    ),
    Case(
        "preview: Cancel",
        "preview",
        [button(Step.PREVIEW, "cancel")],
        Step.DISCARDED,
        "compose.cancelled",
    ),
    Case(
        "preview: nothing after Cancel",
        "preview",
        [button(Step.PREVIEW, "cancel"), button(Step.DISCARDED, "ok")],
        Step.DISCARDED,
        "compose.cancelled",
        "compose.expired",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_event(flow: AlertFlow, case: Case) -> None:
    jurisdiction, before = STATES[case.state]
    draft, questions = run(flow, jurisdiction, [*before, *case.events])
    last = questions[-1]
    assert (last.step, last.key) == (case.step, case.key)
    assert draft.step is case.step
    assert (last.notice.key if last.notice else None) == case.notice
    for name, value in case.fields.items():
        assert getattr(draft, name) == value, name


@pytest.mark.parametrize("case", [c for c in CASES if c.notice], ids=lambda c: c.name)
def test_a_refusal_changes_nothing(flow: AlertFlow, case: Case) -> None:
    jurisdiction, before = STATES[case.state]
    draft, _ = run(flow, jurisdiction, [*before, *case.events[:-1]])
    saved = (draft.step, draft.to_json())
    question = flow.apply(draft, case.events[-1], scope_for(flow, jurisdiction, draft))
    assert question.notice is not None and question.answered is None
    assert (draft.step, draft.to_json()) == saved


# -- edit from the preview: every field, back to the preview, the rest kept -----------------

EDITS: dict[Step, tuple[list[Event], dict[str, Any]]] = {
    Step.TARGET: (
        [
            button(Step.TARGET, "residential"),
            button(Step.RESIDENTIAL, "t:12"),
            button(Step.RESIDENTIAL, "done"),
        ],
        {"target_kind": "residential", "residential_ids": [12]},
    ),
    Step.SEVERITY: ([button(Step.SEVERITY, "info")], {"severity": "info"}),
    Step.CATEGORY: ([button(Step.CATEGORY, "fire")], {"category": "fire"}),
    Step.TEXT: ([Text("Cháy tại chợ, tránh khu vực.")], {"text": "Cháy tại chợ, tránh khu vực."}),
    Step.PHOTO: ([Photo("AgADnew")], {"photo_file_id": "AgADnew"}),
    Step.LOCATION: ([Location(21.01, 105.83)], {"lat": 21.01, "lon": 105.83}),
    Step.VALIDITY: ([button(Step.VALIDITY, "168")], {"validity_hours": 168}),
    Step.EXERCISE: ([button(Step.EXERCISE, "1")], {"exercise": True}),
}


def test_every_editable_field_has_an_edit_row() -> None:
    assert set(EDITS) == set(EDITABLE)


@pytest.mark.parametrize("step", EDITABLE, ids=[s.value for s in EDITABLE])
def test_edit_from_the_preview(flow: AlertFlow, step: Step) -> None:
    events, changed = EDITS[step]
    draft, _ = run(flow, WARD, TO_PREVIEW)
    before = {k: v for k, v in vars(draft).items() if k not in changed}
    opened = [button(Step.PREVIEW, "edit"), button(Step.EDIT, f"edit:{step.value}")]
    draft, questions = run(flow, WARD, [*TO_PREVIEW, *opened, *events])
    menu, asked, back = (
        questions[len(TO_PREVIEW) + 1],
        questions[len(TO_PREVIEW) + 2],
        questions[-1],
    )
    assert menu.answered is None  # the menu takes the preview question's place
    assert asked.step is step and asked.answered == Label(
        "compose.chosen",
        {"field": Label("compose.btn_edit"), "value": Label(f"compose.field_{step.value}")},
    )
    assert back.step is Step.PREVIEW and back.notice is None
    assert {k: getattr(draft, k) for k in changed} == changed
    after = {k: v for k, v in vars(draft).items() if k not in changed}
    assert after == before  # every other field kept, `editing` done


def test_skipping_the_photo_from_the_preview_removes_it(flow: AlertFlow) -> None:
    edit = [button(Step.PREVIEW, "edit"), button(Step.EDIT, "edit:photo")]
    draft, questions = run(flow, WARD, [*TO_PREVIEW_PHOTO, *edit, button(Step.PHOTO, "skip")])
    assert questions[-1].step is Step.PREVIEW and draft.photo_file_id is None
    assert (draft.lat, draft.exercise, draft.validity_hours) == (21.0181, True, 6)


def test_editing_the_target_through_a_commune_search(flow: AlertFlow) -> None:
    opened = [button(Step.PREVIEW, "edit"), button(Step.EDIT, "edit:target")]
    to_city_preview = [
        button(Step.TARGET, "whole"),
        *TO_TEXT[1:],
        *TO_PREVIEW[len(TO_TEXT) :],
    ]
    change = [*TO_SCOPE, button(Step.COMMUNE_SCOPE, "whole_commune")]
    draft, questions = run(flow, CITY, [*to_city_preview, *opened, *change])
    assert questions[-1].step is Step.PREVIEW
    assert (draft.target_kind, draft.commune_code, draft.text) == ("commune", DONG_DA, STORY)


# -- what each question shows -----------------------------------------------------------------


def values(question: Question) -> list[str]:
    return [o.value for o in question.options]


def labels(question: Question) -> list[str]:
    if question.step is Step.PREVIEW:
        question = with_audience(question, 3, 1)
    return [label for _, label in render_question(CATALOG, "vi", question).buttons]


def test_the_target_options_depend_on_the_jurisdiction(flow: AlertFlow) -> None:
    _, (ward,) = run(flow, WARD, [])
    _, (city,) = run(flow, CITY, [])
    assert labels(ward) == ["Toàn địa bàn: Phường Đống Đa", "🏘 Chọn thôn/tổ dân phố"]
    assert labels(city) == ["Toàn địa bàn: Thành phố Hà Nội", "🔎 Một xã/phường"]
    assert "Soạn cảnh báo" in rendered(ward) and DONG_DA_LABEL in rendered(ward)


def test_the_toggles_show_what_is_chosen_and_the_label_names_it(flow: AlertFlow) -> None:
    toggles = [button(Step.RESIDENTIAL, "t:13"), button(Step.RESIDENTIAL, "t:11")]
    draft, questions = run(
        flow, WARD, [*TO_RESIDENTIAL, *toggles, button(Step.RESIDENTIAL, "done")]
    )
    assert labels(questions[-2]) == ["☑️ Tổ dân phố 5", "⬜ Tổ dân phố 6", "☑️ Thôn A & B", "Xong ✅"]
    assert values(questions[-2]) == ["t:11", "t:12", "t:13", "done"]
    assert all(q.answered is None for q in questions[2:4])  # toggles change the same message
    answered = questions[-1].answered
    assert answered is not None
    shown = render_question(CATALOG, "vi", Question(Step.SEVERITY, answered, "t")).text
    assert shown == f"Khu vực: <b>Tổ dân phố 5, Thôn A &amp; B — {DONG_DA_LABEL}</b> ✓"
    scope = Scope(WARD, AREAS[DONG_DA])
    assert flow.target_label(draft, scope) == f"Tổ dân phố 5, Thôn A & B — {DONG_DA_LABEL}"


def test_each_answered_step_names_its_choice(flow: AlertFlow) -> None:
    _, questions = run(flow, WARD, TO_PREVIEW)
    shown = [
        render_question(CATALOG, "vi", Question(q.step, q.answered, q.token)).text
        for q in questions
        if q.answered is not None
    ]
    assert shown == [
        f"Khu vực: <b>{DONG_DA_LABEL}</b> ✓",
        "Mức độ: <b>🟠 CẢNH BÁO</b> ✓",
        "Loại tin: <b>Lừa đảo</b> ✓",
        "Ảnh: <b>không kèm</b> ✓",
        "Vị trí: <b>không kèm</b> ✓",
        "Hiệu lực: <b>24 giờ</b> ✓",
        "Thật / diễn tập: <b>Tình huống thật</b> ✓",
    ]
    typed = questions[len(TO_TEXT) + 1]  # the text is typed: nothing to mark answered
    assert typed.step is Step.PHOTO and typed.answered is None


def test_the_buttons_of_each_step(flow: AlertFlow) -> None:
    _, questions = run(flow, WARD, TO_PREVIEW)
    by_step = {q.step: q for q in questions}
    assert values(by_step[Step.SEVERITY]) == ["urgent", "warning", "info"]
    assert len(values(by_step[Step.CATEGORY])) == 8
    assert labels(by_step[Step.VALIDITY]) == ["6 giờ", "24 giờ", "3 ngày", "7 ngày"]
    assert labels(by_step[Step.PHOTO]) == ["Bỏ qua ⏭"] == labels(by_step[Step.LOCATION])
    assert labels(by_step[Step.PREVIEW]) == ["✅ Xác nhận gửi", "✏️ Sửa", "✖️ Huỷ"]
    assert "3.500" in rendered(by_step[Step.TEXT]) and "550" in rendered(by_step[Step.TEXT])
    shown = rendered(with_audience(by_step[Step.PREVIEW], 190, 10))
    assert "Sẽ gửi đến 190 nhóm" in shown and "(10 nhóm" in shown


def test_a_notice_at_the_text_step_asks_again_elsewhere_it_does_not(flow: AlertFlow) -> None:
    _, questions = run(flow, WARD, [*TO_TEXT, Text("x" * 4000), Text(STORY), Text("ảnh")])
    too_long, photo_step, typed_at_photo = questions[-3:]
    assert too_long.notice == Label("compose.text_too_long", {"limit": 3500, "length": 4000})
    assert too_long.ask_again  # the text question is asked again under the notice
    assert photo_step.notice is None and photo_step.step is Step.PHOTO
    assert typed_at_photo.notice == Label("compose.not_a_photo")
    assert not typed_at_photo.ask_again  # the photo question above (with Skip) still stands


def test_the_search_offers_only_communes_of_the_jurisdiction(flow: AlertFlow) -> None:
    draft, questions = run(flow, CITY, [*TO_SEARCH, Text("dong da")])
    offered = values(questions[-1])
    assert DONG_DA in offered and all(UNITS.commune(c).province_code == "01" for c in offered)  # type: ignore[union-attr]
    assert labels(questions[-1])[offered.index(DONG_DA)] == DONG_DA_LABEL
    assert draft.offered_codes == offered


# -- stored drafts --------------------------------------------------------------------------


def test_a_stored_draft_round_trips_and_an_older_one_still_loads(flow: AlertFlow) -> None:
    draft, _ = run(flow, WARD, [*TO_RESIDENTIAL, button(Step.RESIDENTIAL, "t:11")])
    restored = Draft.from_json(draft.token, draft.step.value, draft.to_json())
    assert restored == draft and restored.step is Step.RESIDENTIAL
    older = Draft.from_json("tok", "commune_scope", '{"commune_code": "00235", "retired": 1}')
    assert (older.step, older.commune_code, older.offered_codes) == (
        Step.COMMUNE_SCOPE,
        DONG_DA,
        [],
    )
    assert Draft.from_json("tok", "a-step-gone", "{}").step is Step.TARGET
    assert Draft.from_json("tok", "text", "not json").text is None


def test_the_tip_draft_uses_the_same_storage() -> None:
    draft = TipDraft("tok", TipStep.PHOTOS, category="scam", photos=["AgAD1"])
    restored = TipDraft.from_json("tok", "photos", draft.to_json())
    assert restored == draft
    assert "token" not in draft.to_json() and "step" not in draft.to_json()
    older = TipDraft.from_json("tok", "review", '{"text": "Có trộm", "old_field": true}')
    assert (older.text, older.photos, older.anonymous) == ("Có trộm", [], None)


def test_edit_events_from_a_client_work_like_the_menu(flow: AlertFlow) -> None:
    draft, questions = run(
        flow, WARD, [*TO_PREVIEW, Edit("severity"), button(Step.SEVERITY, "urgent")]
    )
    assert questions[-2].step is Step.SEVERITY and questions[-1].step is Step.PREVIEW
    assert draft.severity == "urgent"
