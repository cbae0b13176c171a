"""The composer for the ministry's officers (jurisdiction VN): the whole country or provinces
chosen with toggles, and the second confirmation of an alert to more than one province."""

from __future__ import annotations

import copy

import pytest

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.services.alert_flow import AlertFlow, Event, Scope, with_audience, with_groups
from bot.services.alert_types import Draft, Step
from bot.services.flow_types import Choice, Question, Text, render_question
from bot.services.officers import Jurisdiction, jurisdiction_of

CATALOG = load_catalog()
UNITS = AdminUnits.load()
MINISTRY = jurisdiction_of(UNITS, "VN")
CITY = jurisdiction_of(UNITS, "01")
HA_NOI, HAI_PHONG = "01", "31"


@pytest.fixture(scope="module")
def flow() -> AlertFlow:
    return AlertFlow(UNITS)


def button(step: Step, value: str) -> Choice:
    return Choice(value, step.value)


def rendered(question: Question, lang: str = "vi") -> tuple[str, list[str]]:
    """The question's text and button labels in `lang` (fails on a missing key)."""
    if question.step is Step.PREVIEW and "recipients" not in question.values:
        question = with_audience(question, 3, 1)
    if question.step is Step.RECONFIRM and "groups" not in question.values:
        question = with_groups(question, 7)
    shown = render_question(CATALOG, lang, question)
    return shown.text, [label for _, label in shown.buttons]


def run(
    flow: AlertFlow, jurisdiction: Jurisdiction, events: list[Event]
) -> tuple[Draft, list[Question]]:
    draft, first = flow.start("tok12345", Scope(jurisdiction))
    questions = [first]
    for event in events:
        questions.append(flow.apply(draft, event, Scope(jurisdiction)))
    for question in questions:
        rendered(question, "en")
        rendered(question, "vi")
    return draft, questions


REST = [
    button(Step.SEVERITY, "urgent"),
    button(Step.CATEGORY, "scam"),
    Text("Cảnh giác ứng dụng dịch vụ công giả mạo."),
    button(Step.PHOTO, "skip"),
    button(Step.LOCATION, "skip"),
    button(Step.VALIDITY, "24"),
    button(Step.EXERCISE, "0"),
]
WHOLE_COUNTRY = [button(Step.TARGET, "country")]
TWO_PROVINCES = [
    button(Step.TARGET, "provinces"),
    button(Step.PROVINCES, f"p:{HAI_PHONG}"),
    button(Step.PROVINCES, f"p:{HA_NOI}"),
    button(Step.PROVINCES, "done"),
]


def test_the_ministry_chooses_the_whole_country_or_provinces(flow: AlertFlow) -> None:
    _, (first,) = run(flow, MINISTRY, [])
    assert [o.value for o in first.options] == ["country", "provinces"]
    text, labels = rendered(first, "en")
    assert "Whole country" in text and labels == ["🇻🇳 Whole country", "🗺 Choose provinces"]
    assert "Toàn quốc" in rendered(first)[0]


def test_the_whole_country(flow: AlertFlow) -> None:
    draft, questions = run(flow, MINISTRY, WHOLE_COUNTRY)
    assert questions[-1].step is Step.SEVERITY
    assert (draft.target_kind, draft.province_codes, draft.commune_code) == ("country", [], None)
    assert flow.target_label(draft, Scope(MINISTRY)) == "Toàn quốc"
    assert draft.national


def test_provinces_are_toggled_then_done(flow: AlertFlow) -> None:
    draft, questions = run(flow, MINISTRY, TWO_PROVINCES[:3])
    listing = questions[-1]
    assert listing.step is Step.PROVINCES and listing.key == "compose.choose_provinces"
    assert len(listing.options) == len(UNITS.provinces) + 1  # every province, then Done
    _, labels = rendered(listing)
    assert labels.count("☑️ Thành phố Hà Nội") == 1 and "☑️ Thành phố Hải Phòng" in labels
    assert sum(label.startswith("⬜") for label in labels) == len(UNITS.provinces) - 2
    assert draft.target_kind is None  # not chosen until Done
    question = flow.apply(draft, button(Step.PROVINCES, "done"), Scope(MINISTRY))
    assert question.step is Step.SEVERITY
    assert (draft.target_kind, draft.province_codes) == ("provinces", [HA_NOI, HAI_PHONG])
    assert flow.target_label(draft, Scope(MINISTRY)) == "Thành phố Hà Nội, Thành phố Hải Phòng"
    assert draft.national


def test_a_province_pressed_twice_is_unselected(flow: AlertFlow) -> None:
    draft, _ = run(flow, MINISTRY, [*TWO_PROVINCES[:2], button(Step.PROVINCES, f"p:{HAI_PHONG}")])
    assert draft.province_codes == []
    question = flow.apply(draft, button(Step.PROVINCES, "done"), Scope(MINISTRY))
    assert (question.step, question.notice and question.notice.key) == (
        Step.PROVINCES,
        "compose.no_province",
    )


@pytest.mark.parametrize("forged", ["p:99", "p:00235", "p:", "p:VN", "t:11", "country", "x"])
def test_forged_province_buttons_change_nothing(flow: AlertFlow, forged: str) -> None:
    draft, _ = run(flow, MINISTRY, TWO_PROVINCES[:2])
    before = copy.deepcopy(draft)
    question = flow.apply(draft, button(Step.PROVINCES, forged), Scope(MINISTRY))
    assert question.notice is not None and question.step is Step.PROVINCES
    assert draft == before


def test_others_have_no_national_targets(flow: AlertFlow) -> None:
    for value in ("country", "provinces"):
        draft, questions = run(flow, CITY, [button(Step.TARGET, value)])
        assert questions[-1].notice is not None and draft.target_kind is None
    draft, _ = run(flow, CITY, [])
    assert not flow.toggle_province(CITY, draft, HA_NOI)
    question = flow.apply(draft, button(Step.PROVINCES, f"p:{HA_NOI}"), Scope(CITY))
    assert question.notice is not None and draft.province_codes == []  # a stale step


@pytest.mark.parametrize(
    ("target", "twice"),
    [(WHOLE_COUNTRY, True), (TWO_PROVINCES, True), ([*TWO_PROVINCES[:2], TWO_PROVINCES[3]], False)],
    ids=["whole country", "two provinces", "one province"],
)
def test_confirm_is_asked_twice_for_more_than_one_province(
    flow: AlertFlow, target: list[Event], twice: bool
) -> None:
    draft, questions = run(flow, MINISTRY, [*target, *REST])
    assert questions[-1].step is Step.PREVIEW
    question = flow.apply(draft, button(Step.PREVIEW, "ok"), Scope(MINISTRY))
    if not twice:
        assert question.step is Step.CONFIRM
        return
    assert question.step is Step.RECONFIRM and question.answered is None  # replaces the preview's
    assert [o.value for o in question.options] == ["send", "cancel"]
    # The preview's Confirm again (a stale button) sends nothing.
    again = flow.apply(draft, button(Step.PREVIEW, "ok"), Scope(MINISTRY))
    assert again.notice is not None and draft.step is Step.RECONFIRM
    sent = flow.apply(draft, button(Step.RECONFIRM, "send"), Scope(MINISTRY))
    assert sent.step is Step.CONFIRM


def test_the_second_confirmation_names_the_groups(flow: AlertFlow) -> None:
    draft, _ = run(flow, MINISTRY, [*WHOLE_COUNTRY, *REST, button(Step.PREVIEW, "ok")])
    question = with_groups(flow.question(draft, Scope(MINISTRY)), 100_000)
    text, labels = rendered(question)
    assert "Gửi tới 100.000 nhóm trên toàn quốc?" in text
    assert labels == ["✅ Gửi tới 100.000 nhóm", "✖️ Huỷ"]
    text, labels = rendered(question, "en")
    assert "Send to 100,000 groups across the whole country?" in text
    assert labels[0] == "✅ Send to 100,000 groups"
    draft, _ = run(flow, MINISTRY, [*TWO_PROVINCES, *REST, button(Step.PREVIEW, "ok")])
    text, _ = rendered(with_groups(flow.question(draft, Scope(MINISTRY)), 1234))
    assert "Gửi tới 1.234 nhóm ở 2 tỉnh/thành phố?" in text and "Thành phố Hải Phòng" in text


def test_cancel_at_the_second_confirmation_discards(flow: AlertFlow) -> None:
    draft, _ = run(flow, MINISTRY, [*WHOLE_COUNTRY, *REST, button(Step.PREVIEW, "ok")])
    question = flow.apply(draft, button(Step.RECONFIRM, "cancel"), Scope(MINISTRY))
    assert question.step is Step.DISCARDED


def test_editing_the_target_from_the_preview_to_provinces(flow: AlertFlow) -> None:
    draft, _ = run(flow, MINISTRY, [*WHOLE_COUNTRY, *REST])
    events = [
        button(Step.PREVIEW, "edit"),
        button(Step.EDIT, "edit:target"),
        *TWO_PROVINCES[:2],
        TWO_PROVINCES[3],
    ]
    for event in events:
        question = flow.apply(draft, event, Scope(MINISTRY))
    assert question.step is Step.PREVIEW
    assert (draft.target_kind, draft.province_codes, draft.national) == (
        "provinces",
        [HAI_PHONG],
        False,
    )
