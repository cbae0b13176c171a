"""The tip conversation, step by step: every step, seeds, edits, voice, location and commune."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.areas import AdminUnits
from bot.i18n import load_catalog
from bot.services.tip_flow import (
    Choice,
    Draft,
    Edit,
    Event,
    Label,
    Location,
    Photo,
    Question,
    Skip,
    SourceArea,
    Step,
    Text,
    TipFlow,
    Voice,
    nearest_commune,
    render_question,
)

CATALOG = load_catalog()
DONG_DA, BA_DINH = "00235", "00004"
DONG_DA_LAT, DONG_DA_LON = 21.0119, 105.822
STORY = "Có người gọi điện giả danh công an, đòi chuyển tiền."
GROUP = SourceArea(area_id=7, commune_code=BA_DINH, province_code="01")


@pytest.fixture(scope="module")
def flow() -> TipFlow:
    return TipFlow(AdminUnits.load())


def rendered(question: Question) -> str:
    """Render in both languages (fails on a missing key or placeholder); the Vietnamese text."""
    render_question(CATALOG, "en", question)
    shown = render_question(CATALOG, "vi", question)
    return shown.text


def run(
    flow: TipFlow, events: list[Event], seed: Event | None = None, source: SourceArea | None = None
) -> tuple[Draft, list[Question]]:
    draft, first = flow.start("tok12345", seed, source)
    questions = [first]
    for event in events:
        questions.append(flow.apply(draft, event))
    for question in questions:
        rendered(question)
    return draft, questions


# The whole conversation, one event per row: what is asked next, and the notice (if any).
HAPPY_PATH: list[tuple[Event, Step, str]] = [
    (Choice("scam", "category"), Step.TEXT, "tips.ask_text"),
    (Text(STORY), Step.WHERE, "tips.ask_where"),
    (Location(DONG_DA_LAT + 0.002, DONG_DA_LON), Step.CONFIRM_COMMUNE, "tips.confirm_commune"),
    (Choice("yes", "commune"), Step.PHOTOS, "tips.ask_photos"),
    (Photo("AgADphoto1"), Step.PHOTOS, "tips.ask_more_photos"),
    (Choice("done", "photos"), Step.ANONYMITY, "tips.ask_anonymity"),
    (Choice("anonymous", "anonymity"), Step.REVIEW, "tips.review"),
    (Choice("send", "review"), Step.SEND, "tips.sending"),
]


def test_the_whole_conversation(flow: TipFlow) -> None:
    draft, questions = run(flow, [event for event, _, _ in HAPPY_PATH])
    assert [(q.step, q.key) for q in questions[1:]] == [(s, k) for _, s, k in HAPPY_PATH]
    assert all(q.notice is None for q in questions)
    assert (draft.category, draft.text, draft.commune_code) == ("scam", STORY, DONG_DA)
    assert (draft.area_source, draft.photos, draft.is_anonymous) == (
        "location",
        ["AgADphoto1"],
        True,
    )
    assert draft.complete and draft.step is Step.SEND


def test_the_first_question_says_it_is_not_an_emergency_line(flow: TipFlow) -> None:
    _, question = flow.start("tok")
    text = rendered(question)
    assert all(number in text for number in ("113", "114", "115"))
    assert [o.value for o in question.options] == [
        "scam",
        "theft",
        "drugs",
        "fire",
        "traffic",
        "suspicious",
        "disorder",
        "other",
    ]
    english = render_question(CATALOG, "en", question)
    assert "not</b> an emergency line" in english.text


def test_anonymous_is_the_first_choice_and_the_default(flow: TipFlow) -> None:
    draft, questions = run(flow, [e for e, _, _ in HAPPY_PATH[:6]])
    assert [o.value for o in questions[-1].options] == ["anonymous", "named"]
    assert draft.anonymous is None and draft.is_anonymous


def test_the_where_question_asks_for_a_location_button(flow: TipFlow) -> None:
    _, questions = run(flow, [e for e, _, _ in HAPPY_PATH[:2]])
    where = questions[-1]
    assert where.request_location == Label("tips.btn_send_location")
    assert render_question(CATALOG, "vi", where).location_button == "📍 Gửi vị trí"
    assert [o.value for o in where.options] == ["skip"]


@dataclass(frozen=True)
class Case:
    name: str
    before: list[Event]  # events that bring the draft to the step under test
    event: Event
    step: Step  # the step asked next
    notice: str | None  # the notice shown with it
    source: SourceArea | None = None


TO_TEXT = [Choice("theft")]
TO_WHERE = [*TO_TEXT, Text(STORY)]
TO_PHOTOS = [*TO_WHERE, Text("Số 5 ngõ 10 phố Tây Sơn"), Text("Đống Đa"), Choice(DONG_DA)]
TO_ANONYMITY = [*TO_PHOTOS, Skip()]
TO_REVIEW = [*TO_ANONYMITY, Choice("anonymous")]

CASES = [
    Case("category: a forged value", [], Choice("weapons"), Step.CATEGORY, "tips.use_buttons"),
    Case("category: text typed first is kept", [], Text(STORY), Step.CATEGORY, "tips.text_noted"),
    Case("category: skip is refused", [], Skip(), Step.CATEGORY, "tips.use_buttons"),
    Case("text: too short", TO_TEXT, Text("cứu"), Step.TEXT, "tips.text_too_short"),
    Case("text: too long", TO_TEXT, Text("a" * 2001), Step.TEXT, "tips.text_too_long"),
    Case("text: a button is not text", TO_TEXT, Skip(), Step.TEXT, "tips.text_expected"),
    Case("text: 2000 characters fit", TO_TEXT, Text("a" * 2000), Step.WHERE, None),
    Case("where: an address", TO_WHERE, Text("Ngõ 10 Tây Sơn"), Step.SEARCH_COMMUNE, None),
    Case(
        "where: an address, group known",
        TO_WHERE,
        Text("Ngõ 10 Tây Sơn"),
        Step.CONFIRM_COMMUNE,
        None,
        GROUP,
    ),
    Case("where: address too short", TO_WHERE, Text("ab"), Step.WHERE, "tips.address_invalid"),
    Case("where: skip, no group", TO_WHERE, Skip(), Step.SEARCH_COMMUNE, None),
    Case("where: skip, group known", TO_WHERE, Skip(), Step.CONFIRM_COMMUNE, None, GROUP),
    Case("where: a bad location", TO_WHERE, Location(91.0, 0.0), Step.WHERE, "tips.bad_location"),
    Case(
        "where: far from every commune",
        TO_WHERE,
        Location(35.0, 139.0),
        Step.SEARCH_COMMUNE,
        "tips.location_far",
    ),
    Case("where: a photo now is kept", TO_WHERE, Photo("AgADp"), Step.WHERE, "tips.photo_added"),
    Case(
        "search: no match",
        [*TO_WHERE, Skip()],
        Text("zzzzzzqqq"),
        Step.SEARCH_COMMUNE,
        "tips.no_commune",
    ),
    Case(
        "search: a commune not offered",
        [*TO_WHERE, Skip(), Text("Đống Đa")],
        Choice("10507"),
        Step.SEARCH_COMMUNE,
        "tips.commune_expected",
    ),
    Case(
        "confirm: another commune",
        [*TO_WHERE, Skip()],
        Choice("other"),
        Step.SEARCH_COMMUNE,
        None,
        GROUP,
    ),
    Case(
        "confirm: a name typed searches",
        [*TO_WHERE, Skip()],
        Text("Đống Đa"),
        Step.SEARCH_COMMUNE,
        None,
        GROUP,
    ),
    Case(
        "photos: a file keeps metadata",
        TO_PHOTOS,
        Photo("f", True, "image/jpeg"),
        Step.PHOTOS,
        "tips.photo_as_file",
    ),
    Case(
        "photos: not an image",
        TO_PHOTOS,
        Photo("f", True, "application/pdf"),
        Step.PHOTOS,
        "tips.not_a_photo",
    ),
    Case("photos: text", TO_PHOTOS, Text("ảnh đâu"), Step.PHOTOS, "tips.photos_expected"),
    Case("photos: skip", TO_PHOTOS, Skip(), Step.ANONYMITY, None),
    Case(
        "photos: a late location",
        TO_PHOTOS,
        Location(21.0, 105.8),
        Step.PHOTOS,
        "tips.location_late",
    ),
    Case("anonymity: named asks a name", TO_ANONYMITY, Choice("named"), Step.NAME, None),
    Case("anonymity: text", TO_ANONYMITY, Text("ẩn danh"), Step.ANONYMITY, "tips.use_buttons"),
    Case(
        "name: too short",
        [*TO_ANONYMITY, Choice("named")],
        Text("A"),
        Step.NAME,
        "tips.name_invalid",
    ),
    Case(
        "name: digits only",
        [*TO_ANONYMITY, Choice("named")],
        Text("12345"),
        Step.NAME,
        "tips.name_invalid",
    ),
    Case("name: given", [*TO_ANONYMITY, Choice("named")], Text("Bác Lan"), Step.REVIEW, None),
    Case(
        "name: back to anonymous",
        [*TO_ANONYMITY, Choice("named")],
        Choice("anonymous"),
        Step.REVIEW,
        None,
    ),
    Case("review: edit an unknown step", TO_REVIEW, Edit("name"), Step.REVIEW, "tips.use_buttons"),
    Case("review: a photo is added", TO_REVIEW, Photo("AgADlate"), Step.REVIEW, "tips.photo_added"),
    Case(
        "review: a location edits the place",
        TO_REVIEW,
        Location(DONG_DA_LAT, DONG_DA_LON),
        Step.CONFIRM_COMMUNE,
        None,
    ),
    Case(
        "stale: a button of another step",
        TO_REVIEW,
        Choice("yes", "commune"),
        Step.REVIEW,
        "tips.stale_button",
    ),
    Case("voice at any step", TO_WHERE, Voice(), Step.WHERE, "tips.voice_anonymous"),
]


# Notices that accompany a change (something was kept); every other notice changes nothing.
KEPT_NOTICES = ("tips.text_noted", "tips.photo_added", "tips.location_far")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_step(flow: TipFlow, case: Case) -> None:
    draft, _ = run(flow, case.before, source=case.source)
    before = Draft.from_json(draft.token, draft.step, draft.to_json())
    question = flow.apply(draft, case.event)
    rendered(question)
    assert (question.step, question.notice.key if question.notice else None) == (
        case.step,
        case.notice,
    )
    if case.notice is not None and case.notice not in KEPT_NOTICES:
        assert draft == before  # a refused event changes nothing


def test_typed_address_then_search_and_choose(flow: TipFlow) -> None:
    draft, questions = run(flow, [*TO_WHERE, Text("Ngõ 10 Tây Sơn"), Text("dong da")])
    offered = [o.value for o in questions[-1].options]
    assert questions[-1].key == "tips.choose_commune" and DONG_DA in offered
    assert (
        "Phường Đống Đa — Thành phố Hà Nội"
        in render_question(CATALOG, "vi", questions[-1]).buttons[0][1]
    )
    flow.apply(draft, Choice(DONG_DA, "search"))
    assert (draft.commune_code, draft.area_source, draft.address) == (
        DONG_DA,
        "chosen",
        "Ngõ 10 Tây Sơn",
    )


def test_skipping_the_place_names_the_groups_commune_to_confirm(flow: TipFlow) -> None:
    draft, questions = run(flow, [*TO_WHERE, Skip()], source=GROUP)
    confirm = questions[-1]
    assert confirm.key == "tips.confirm_commune"
    assert "Phường Ba Đình" in rendered(confirm) and "nhóm" in rendered(confirm)
    flow.apply(draft, Choice("yes", "commune"))
    assert (draft.commune_code, draft.area_source, draft.step) == (BA_DINH, "group", Step.PHOTOS)


def test_what_people_type_is_escaped_once(flow: TipFlow) -> None:
    venue = Location(DONG_DA_LAT, DONG_DA_LON, "Quán <Bà Tư> & con", None)
    events = [*TO_WHERE[:1], Text("Có kẻ <b>lạ</b> & xe máy"), venue, Choice("yes"), Skip()]
    _, questions = run(flow, [*events, Choice("named"), Text("Cô <Hà>")])
    review = rendered(questions[-1])
    assert "Quán &lt;Bà Tư&gt; &amp; con" in review and "&amp;amp;" not in review
    assert "Có kẻ &lt;b&gt;lạ&lt;/b&gt; &amp; xe máy" in review and "Cô &lt;Hà&gt;" in review


def test_a_venue_is_kept_with_its_title_and_address(flow: TipFlow) -> None:
    venue = Location(DONG_DA_LAT, DONG_DA_LON, "Chợ Thái Hà", "Phố Thái Hà")
    draft, questions = run(flow, [*TO_WHERE, venue, Choice("yes"), Skip(), Choice("anonymous")])
    review = rendered(questions[-1])
    assert "Chợ Thái Hà, Phố Thái Hà" in review and "Phường Đống Đa" in review
    assert (draft.venue_title, draft.venue_address, draft.lat) == (
        "Chợ Thái Hà",
        "Phố Thái Hà",
        DONG_DA_LAT,
    )


@pytest.mark.parametrize(
    ("seed", "notice", "check"),
    [
        (Text(STORY), "tips.seed_text", lambda d: d.text == STORY),
        (Text("hi"), None, lambda d: d.text is None),  # too short to be a tip: not kept
        (Photo("AgADseed"), "tips.seed_photo", lambda d: d.photos == ["AgADseed"]),
        (
            Location(DONG_DA_LAT, DONG_DA_LON),
            "tips.seed_location",
            lambda d: d.proposed_code == DONG_DA and d.commune_code is None,
        ),
        (Voice(), "tips.voice_anonymous", lambda d: d.text is None),
    ],
    ids=["text", "short text", "photo", "location", "voice"],
)
def test_what_was_sent_before_seeds_the_conversation(
    flow: TipFlow, seed: Event, notice: str | None, check: object
) -> None:
    draft, question = flow.start("tok", seed)
    rendered(question)
    assert question.step is Step.CATEGORY
    assert (question.notice.key if question.notice else None) == notice
    assert callable(check) and check(draft)


def test_a_seeded_text_is_offered_back_and_a_seeded_location_skips_the_where_step(
    flow: TipFlow,
) -> None:
    draft, _ = flow.start("tok", Location(DONG_DA_LAT, DONG_DA_LON))
    draft.text = STORY
    text_step = flow.apply(draft, Choice("fire"))
    assert text_step.key == "tips.ask_text_keep" and [o.value for o in text_step.options] == [
        "keep"
    ]
    assert STORY in rendered(text_step)
    confirm = flow.apply(draft, Choice("keep", "text"))
    assert confirm.step is Step.CONFIRM_COMMUNE  # the location is already there


@pytest.mark.parametrize(
    ("step", "answer", "changed"),
    [
        ("category", [Choice("fire")], lambda d: d.category == "fire"),
        ("text", [Text("Cháy ở nhà số 5 ngõ 10.")], lambda d: d.text == "Cháy ở nhà số 5 ngõ 10."),
        (
            "where",
            [Location(21.0386, 105.838), Choice("yes")],
            lambda d: d.commune_code == BA_DINH and d.area_source == "location",
        ),
        ("where", [Choice("keep")], lambda d: d.commune_code == DONG_DA),
        ("photos", [Photo("AgADnew"), Choice("done")], lambda d: d.photos == ["AgADnew"]),
        (
            "anonymity",
            [Choice("named"), Text("Chú Minh")],
            lambda d: not d.is_anonymous and d.display_name == "Chú Minh",
        ),
    ],
    ids=["category", "text", "where", "where kept", "photos", "anonymity"],
)
def test_edit_any_step_from_the_review(
    flow: TipFlow, step: str, answer: list[Event], changed: object
) -> None:
    draft, _ = run(flow, TO_REVIEW)
    edited = flow.apply(draft, Choice(f"edit:{step}", "review"))
    assert edited.step == step
    questions = [flow.apply(draft, event) for event in answer]
    for question in questions:
        rendered(question)
    assert questions[-1].step is Step.REVIEW and not draft.editing
    assert callable(changed) and changed(draft)


def test_voice_on_a_named_tip_asks_for_text_too(flow: TipFlow) -> None:
    draft, _ = run(flow, [*TO_ANONYMITY, Choice("named")])
    question = flow.apply(draft, Voice())
    assert question.step is Step.NAME and question.notice == Label("tips.voice_named")


def test_five_photos_at_most_then_the_next_step(flow: TipFlow) -> None:
    draft, _ = run(flow, TO_PHOTOS)
    questions = [flow.apply(draft, Photo(f"AgAD{i}")) for i in range(5)]
    assert [q.step for q in questions] == [Step.PHOTOS] * 4 + [Step.ANONYMITY]
    assert questions[-1].notice == Label("tips.photos_full", {"max": 5})
    extra = flow.apply(draft, Photo("AgAD6"))
    assert extra.notice == Label("tips.too_many_photos", {"max": 5}) and len(draft.photos) == 5
    flow.apply(draft, Photo("AgAD0"))  # the same photo twice counts once
    assert len(draft.photos) == 5


def test_clearing_photos(flow: TipFlow) -> None:
    draft, _ = run(flow, [*TO_PHOTOS, Photo("AgAD1")])
    question = flow.apply(draft, Choice("clear", "photos"))
    assert draft.photos == [] and question.key == "tips.ask_photos"


def test_a_refused_send_returns_to_the_review(flow: TipFlow) -> None:
    draft, _ = run(flow, [*TO_REVIEW, Choice("send")])
    assert draft.step is Step.SEND
    again = flow.apply(draft, Choice("send", "review"))  # the service put it back at review
    assert again.step is Step.SEND


def test_the_draft_survives_json(flow: TipFlow) -> None:
    draft, _ = run(flow, [*TO_PHOTOS, Photo("AgAD1")], source=GROUP)
    restored = Draft.from_json(draft.token, draft.step.value, draft.to_json())
    assert restored == draft


def _units(*communes: tuple[str, str, float, float]) -> AdminUnits:
    provinces = [
        {"code": p, "name": f"Tỉnh {p}", "short_name": p, "kind": "Tỉnh", "lat": 0.0, "lon": 0.0}
        for p in sorted({c[1] for c in communes})
    ]
    items = [
        {
            "code": code,
            "name": f"Xã {code}",
            "short_name": code,
            "kind": "Xã",
            "province_code": province,
            "lat": lat,
            "lon": lon,
        }
        for code, province, lat, lon in communes
    ]
    return AdminUnits.from_document({"provinces": provinces, "communes": items, "source": {}})


@pytest.mark.parametrize(
    ("point", "province", "expected"),
    [
        ((21.0, 105.0), None, "A1"),  # the nearest centre anywhere
        ((21.0, 105.0), "02", "B1"),  # within the group's province: 11 km away, still plausible
        ((21.0, 105.5), "02", "A2"),  # the group's province is 40 km off: the nearest anywhere
        ((23.0, 105.0), None, None),  # 200 km from every centre
    ],
)
def test_nearest_commune(
    point: tuple[float, float], province: str | None, expected: str | None
) -> None:
    units = _units(
        ("A1", "01", 21.0, 105.01),
        ("A2", "01", 21.0, 105.51),
        ("B1", "02", 21.1, 105.0),
    )
    found = nearest_commune(units, *point, province_code=province)
    assert (found.code if found else None) == expected
