"""The tip conversation as a telegram-free state machine: `apply(draft, event) -> Question`.

category → what happened → where (a location, a venue, a typed address, or skip; then the
commune is confirmed or searched for) → up to five photos → anonymity (and a display name) →
review (edit any step, send). Handlers turn an Update into an event and a question into a
keyboard; everything else — validation, order, what is asked again and why — lives here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from bot.areas import AdminUnits, Commune
from bot.services.flow_types import (
    EDIT_PREFIX,
    SKIP,
    Choice,
    Edit,
    Label,
    Location,
    Option,
    Photo,
    Question,
    Skip,
    Text,
    Voice,
    dump_draft,
    load_draft,
    normalise,
)

# The shared question types, still importable from here by the tip's handlers and cards.
from bot.services.flow_types import RenderedQuestion as RenderedQuestion
from bot.services.flow_types import render_question as render_question
from bot.services.flow_types import translate as translate
from bot.services.tip_types import (
    ADDRESS_MAX,
    ADDRESS_MIN,
    FILE_ID_MAX,
    MAX_PHOTOS,
    NAME_MAX,
    NAME_MIN,
    TEXT_MAX,
    TEXT_MIN,
    VENUE_MAX,
    TipCategory,
)

SEARCH_LIMIT = 8  # communes offered for one search
# The data has commune centres, not borders: beyond this the nearest centre is not a guess.
NEAREST_MAX_KM = 60.0
# A location this far from every commune of the group's province is probably in another one.
PROVINCE_FAR_KM = 15.0


class Step(StrEnum):
    CATEGORY = "category"
    TEXT = "text"
    WHERE = "where"
    CONFIRM_COMMUNE = "commune"
    SEARCH_COMMUNE = "search"
    PHOTOS = "photos"
    ANONYMITY = "anonymity"
    NAME = "name"
    REVIEW = "review"
    SEND = "send"  # the reporter pressed Send: the service submits the draft


EDITABLE = (Step.CATEGORY, Step.TEXT, Step.WHERE, Step.PHOTOS, Step.ANONYMITY)


class AreaSource(StrEnum):
    """How the tip's commune was found."""

    LOCATION = "location"  # the nearest commune centre to the shared location
    GROUP = "group"  # the group the reporter came from
    CHOSEN = "chosen"  # searched for and picked by the reporter


# Button values (short: they travel in callback data with the draft token and the step).
KEEP, YES, OTHER, DONE, CLEAR, SEND = "keep", "yes", "other", "done", "clear", "send"
ANONYMOUS, NAMED = "anonymous", "named"


Event = Choice | Text | Photo | Location | Voice | Skip | Edit


# -- the draft ------------------------------------------------------------------------------


@dataclass
class Draft:
    """The tip being written; serialised as JSON in `tip_drafts` (a restart loses nothing)."""

    token: str
    step: Step = Step.CATEGORY
    category: str | None = None
    text: str | None = None
    lat: float | None = None
    lon: float | None = None
    venue_title: str | None = None
    venue_address: str | None = None
    address: str | None = None
    proposed_code: str | None = None  # the commune named for the reporter to confirm
    proposed_source: str | None = None
    location_far: bool = False  # the location is far from every commune centre
    offered_codes: list[str] = field(default_factory=list)  # the last search's results
    search_query: str | None = None
    commune_code: str | None = None  # confirmed
    area_source: str | None = None
    photos: list[str] = field(default_factory=list)
    anonymous: bool | None = None  # None: not chosen yet (treated as anonymous)
    display_name: str | None = None
    source_area_id: int | None = None
    source_commune_code: str | None = None
    source_province_code: str | None = None
    editing: bool = False  # a step reached from the review returns to the review

    def to_json(self) -> str:
        return dump_draft(self)

    @classmethod
    def from_json(cls, token: str, step: str, raw: str) -> Draft:
        return load_draft(cls, raw, token=token, step=Step(step))

    @property
    def complete(self) -> bool:
        """Everything a tip needs is there."""
        named_ok = self.anonymous is not False or bool(self.display_name)
        return None not in (self.category, self.text, self.commune_code) and named_ok

    @property
    def is_anonymous(self) -> bool:
        """Anonymous unless the reporter chose to leave a name (the default)."""
        return self.anonymous is not False

    @property
    def has_location(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass(frozen=True)
class SourceArea:
    """The area of the group the reporter came from (a deep link payload)."""

    area_id: int
    commune_code: str
    province_code: str


# -- the machine ----------------------------------------------------------------------------


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def nearest_commune(
    units: AdminUnits, lat: float, lon: float, province_code: str | None = None
) -> Commune | None:
    """The commune whose centre is nearest, in the province when it is known; None if too far."""
    everywhere = _nearest(units.communes, lat, lon)
    if everywhere is None:
        return None
    best = everywhere
    if province_code:
        inside = _nearest(units.communes_of(province_code), lat, lon)
        if inside is not None and (inside[1] <= PROVINCE_FAR_KM or inside[1] <= everywhere[1]):
            best = inside
    return best[0] if best[1] <= NEAREST_MAX_KM else None


def _nearest(communes: tuple[Commune, ...], lat: float, lon: float) -> tuple[Commune, float] | None:
    scored = ((c, distance_km(lat, lon, c.lat, c.lon)) for c in communes)
    return min(scored, key=lambda item: item[1], default=None)


def _clean(text: str) -> str:
    """Trimmed, with runs of spaces (not line breaks) collapsed."""
    return "\n".join(" ".join(line.split()) for line in text.strip().splitlines()).strip()


class TipFlow:
    """The conversation: pure, over the area catalogue."""

    def __init__(self, units: AdminUnits) -> None:
        self._units = units

    def start(
        self, token: str, seed: Event | None = None, source: SourceArea | None = None
    ) -> tuple[Draft, Question]:
        """A new draft (seeded by what was sent before the conversation began) and question 1."""
        draft = Draft(token=token)
        if source is not None:
            draft.source_area_id = source.area_id
            draft.source_commune_code = source.commune_code
            draft.source_province_code = source.province_code
        notice = self._seed(draft, seed) if seed is not None else None
        return draft, self.question(draft, notice)

    def _seed(self, draft: Draft, seed: Event) -> Label | None:
        if isinstance(seed, Text):
            text = _clean(seed.text)
            if TEXT_MIN <= len(text) <= TEXT_MAX:
                draft.text = text
                return Label("tips.seed_text")
            return None
        if isinstance(seed, Photo):
            return self._add_photo(draft, seed) or Label("tips.seed_photo")
        if isinstance(seed, Location):
            return self._locate(draft, seed) or Label("tips.seed_location")
        if isinstance(seed, Voice):
            return _voice_notice(draft)
        return None

    def apply(self, draft: Draft, event: Event) -> Question:
        """Take one event; the draft is changed in place and the next question returned."""
        if draft.step is Step.SEND:  # a submission that was refused: back to the review
            draft.step = Step.REVIEW
        if isinstance(event, Choice) and event.step is not None and event.step != draft.step:
            return self.question(draft, Label("tips.stale_button"))
        event = normalise(event)
        if isinstance(event, Voice):
            return self.question(draft, _voice_notice(draft))
        if isinstance(event, Photo) and draft.step is not Step.PHOTOS:
            notice = self._add_photo(draft, event)
            return self.question(draft, notice or _photo_added(draft))
        if isinstance(event, Location) and draft.step not in _LOCATION_STEPS:
            return self._early_or_late_location(draft, event)
        handler = _HANDLERS[draft.step]
        return handler(self, draft, event)

    # -- steps ------------------------------------------------------------------------------

    def _category(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Choice) and event.value in set(TipCategory):
            draft.category = event.value
            return self._advance(draft, Step.CATEGORY)
        if isinstance(event, Text) and draft.text is None:
            text = _clean(event.text)
            if TEXT_MIN <= len(text) <= TEXT_MAX:  # typed first: kept for the next step
                draft.text = text
                return self.question(draft, Label("tips.text_noted"))
        return self.question(draft, Label("tips.use_buttons"))

    def _text(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Text):
            text = _clean(event.text)
            if len(text) < TEXT_MIN:
                return self.question(draft, Label("tips.text_too_short", {"min": TEXT_MIN}))
            if len(text) > TEXT_MAX:
                values = {"max": TEXT_MAX, "length": len(text)}
                return self.question(draft, Label("tips.text_too_long", values))
            draft.text = text
            return self._advance(draft, Step.TEXT)
        if isinstance(event, Choice) and event.value == KEEP and draft.text:
            return self._advance(draft, Step.TEXT)
        return self.question(draft, Label("tips.text_expected"))

    def _where(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Location):
            return self._relocate(draft, event)
        if isinstance(event, Text):
            address = _clean(event.text).replace("\n", ", ")
            if not ADDRESS_MIN <= len(address) <= ADDRESS_MAX:
                values = {"min": ADDRESS_MIN, "max": ADDRESS_MAX}
                return self.question(draft, Label("tips.address_invalid", values))
            _forget_place(draft)
            draft.address = address
            self._propose_group(draft)
            return self._to_commune(draft)
        if isinstance(event, Skip):
            _forget_place(draft)
            self._propose_group(draft)
            return self._to_commune(draft)
        if isinstance(event, Choice) and event.value == KEEP and draft.commune_code:
            return self._advance(draft, Step.WHERE)  # editing from the review: nothing changes
        return self.question(draft, Label("tips.where_expected"))

    def _confirm_commune(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Choice) and event.value == YES and draft.proposed_code:
            draft.commune_code, draft.area_source = draft.proposed_code, draft.proposed_source
            return self._advance(draft, Step.WHERE)
        if isinstance(event, Choice) and event.value == OTHER:
            draft.offered_codes, draft.search_query = [], None
            return self._goto(draft, Step.SEARCH_COMMUNE)
        if isinstance(event, Location):
            return self._relocate(draft, event)
        if isinstance(event, Text):  # a commune name typed instead of pressing "another"
            draft.step = Step.SEARCH_COMMUNE
            return self._search(draft, event)
        return self.question(draft, Label("tips.use_buttons"))

    def _search(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Text):
            query = _clean(event.text)[:100]
            found = self._units.search(query, limit=SEARCH_LIMIT)
            if not found:
                return self.question(draft, Label("tips.no_commune", {"query": query}))
            draft.offered_codes, draft.search_query = [c.code for c in found], query
            return self.question(draft)
        if isinstance(event, Choice) and event.value in draft.offered_codes:
            draft.commune_code, draft.area_source = event.value, AreaSource.CHOSEN.value
            draft.offered_codes, draft.search_query = [], None
            return self._advance(draft, Step.WHERE)
        if isinstance(event, Location):
            return self._relocate(draft, event)
        return self.question(draft, Label("tips.commune_expected"))

    def _photos(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Photo):
            notice = self._add_photo(draft, event)
            if notice is None and len(draft.photos) >= MAX_PHOTOS:
                return self._advance(
                    draft, Step.PHOTOS, Label("tips.photos_full", {"max": MAX_PHOTOS})
                )
            return self.question(draft, notice)
        if isinstance(event, Skip) or (isinstance(event, Choice) and event.value == DONE):
            return self._advance(draft, Step.PHOTOS)
        if isinstance(event, Choice) and event.value == CLEAR:
            draft.photos = []
            return self.question(draft, Label("tips.photos_cleared"))
        return self.question(draft, Label("tips.photos_expected"))

    def _anonymity(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Choice) and event.value == ANONYMOUS:
            draft.anonymous, draft.display_name = True, None
            return self._goto(draft, Step.REVIEW)
        if isinstance(event, Choice) and event.value == NAMED:
            draft.anonymous = False
            return self._goto(draft, Step.NAME)
        return self.question(draft, Label("tips.use_buttons"))

    def _name(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Text):
            name = " ".join(event.text.split())
            if not NAME_MIN <= len(name) <= NAME_MAX or not any(c.isalpha() for c in name):
                values = {"min": NAME_MIN, "max": NAME_MAX}
                return self.question(draft, Label("tips.name_invalid", values))
            draft.display_name = name
            return self._goto(draft, Step.REVIEW)
        if isinstance(event, Choice) and event.value == KEEP and draft.display_name:
            return self._goto(draft, Step.REVIEW)
        if isinstance(event, Choice) and event.value == ANONYMOUS:
            draft.anonymous, draft.display_name = True, None
            return self._goto(draft, Step.REVIEW)
        return self.question(draft, Label("tips.name_expected"))

    def _review(self, draft: Draft, event: Event) -> Question:
        if isinstance(event, Choice) and event.value == SEND:
            if not draft.complete:  # cannot happen through the steps; a forged draft state
                return self._goto(draft, _first_missing(draft))
            return self._goto(draft, Step.SEND)
        if isinstance(event, Edit) and event.step in set(EDITABLE):
            draft.editing = True
            return self._goto(draft, Step(event.step))
        return self.question(draft, Label("tips.use_buttons"))

    # -- moving on --------------------------------------------------------------------------

    def _advance(self, draft: Draft, done: Step, notice: Label | None = None) -> Question:
        """Go to the step after `done` (back to the review when editing)."""
        if draft.editing:
            return self._goto(draft, Step.REVIEW, notice)
        if done is Step.CATEGORY:
            return self._goto(draft, Step.TEXT, notice)
        if done is Step.TEXT:
            if draft.has_location and draft.commune_code is None:
                return self._to_commune(draft, notice)
            return self._goto(draft, Step.PHOTOS if draft.commune_code else Step.WHERE, notice)
        if done is Step.WHERE:
            return self._goto(draft, Step.PHOTOS, notice)
        return self._goto(draft, Step.ANONYMITY, notice)

    def _goto(self, draft: Draft, step: Step, notice: Label | None = None) -> Question:
        draft.step = step
        if step is Step.REVIEW:
            draft.editing = False
        return self.question(draft, notice)

    def _to_commune(self, draft: Draft, notice: Label | None = None) -> Question:
        """Ask to confirm the commune found, or to search for one."""
        draft.offered_codes, draft.search_query = [], None
        step = Step.CONFIRM_COMMUNE if draft.proposed_code else Step.SEARCH_COMMUNE
        return self._goto(draft, step, notice)

    def _relocate(self, draft: Draft, location: Location) -> Question:
        """A new place from a location: confirm its commune (or search); unusable: ask again."""
        notice = self._locate(draft, location)
        if notice == _BAD_LOCATION:
            return self.question(draft, notice)
        return self._to_commune(draft, notice)

    def _locate(self, draft: Draft, location: Location) -> Label | None:
        """Keep the location and propose its nearest commune; a notice if it is unusable."""
        lat, lon = location.lat, location.lon
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90):
            return _BAD_LOCATION
        if not -180 <= lon <= 180:
            return _BAD_LOCATION
        _forget_place(draft)
        draft.lat, draft.lon = lat, lon
        draft.venue_title = _clip(location.title, VENUE_MAX)
        draft.venue_address = _clip(location.address, VENUE_MAX)
        draft.commune_code = None
        commune = nearest_commune(self._units, lat, lon, draft.source_province_code)
        draft.location_far = commune is None
        if commune is None:
            draft.proposed_code, draft.proposed_source = None, None
            return Label("tips.location_far")
        draft.proposed_code, draft.proposed_source = commune.code, AreaSource.LOCATION.value
        return None

    def _propose_group(self, draft: Draft) -> None:
        draft.commune_code = None
        draft.proposed_code = draft.source_commune_code
        draft.proposed_source = AreaSource.GROUP.value if draft.source_commune_code else None

    def _early_or_late_location(self, draft: Draft, location: Location) -> Question:
        if draft.step is Step.REVIEW:  # a new place: the same as Edit → Where with it
            question = self._relocate(draft, location)
            draft.editing = question.step is not Step.REVIEW
            return question
        if draft.step in (Step.CATEGORY, Step.TEXT):  # sent early: kept for the where step
            return self.question(
                draft, self._locate(draft, location) or Label("tips.location_noted")
            )
        return self.question(draft, Label("tips.location_late"))

    def _add_photo(self, draft: Draft, photo: Photo) -> Label | None:
        """Add a photo; a notice if it is refused."""
        if photo.as_document:
            is_image = (photo.mime or "").lower().startswith("image/")
            # A file keeps what Telegram strips from photos: GPS position, phone model.
            return Label("tips.photo_as_file" if is_image else "tips.not_a_photo")
        if not photo.file_id or len(photo.file_id) > FILE_ID_MAX:
            return Label("tips.not_a_photo")
        if photo.file_id in draft.photos:
            return None
        if len(draft.photos) >= MAX_PHOTOS:
            return Label("tips.too_many_photos", {"max": MAX_PHOTOS})
        draft.photos.append(photo.file_id)
        return None

    # -- questions --------------------------------------------------------------------------

    def question(self, draft: Draft, notice: Label | None = None) -> Question:
        """The question for the draft's current step."""
        text, options, location = _QUESTIONS[draft.step](self, draft)
        return Question(draft.step, text, draft.token, tuple(options), location, notice)

    def _ask_category(self, draft: Draft) -> _Asked:
        options = [Option(c.value, Label(f"tips.category.{c.value}")) for c in TipCategory]
        return Label("tips.ask_category"), options, None

    def _ask_text(self, draft: Draft) -> _Asked:
        if draft.text:
            keep = [Option(KEEP, Label("tips.btn_keep_text"))]
            return Label("tips.ask_text_keep", {"text": draft.text}), keep, None
        return Label("tips.ask_text", {"min": TEXT_MIN, "max": TEXT_MAX}), [], None

    def _ask_where(self, draft: Draft) -> _Asked:
        options = [Option(SKIP, Label("tips.btn_skip_where"))]
        if draft.commune_code:
            options.insert(0, Option(KEEP, Label("tips.btn_keep_place")))
        return Label("tips.ask_where"), options, Label("tips.btn_send_location")

    def _ask_confirm(self, draft: Draft) -> _Asked:
        how = (
            "tips.found_by_location"
            if draft.proposed_source == "location"
            else "tips.found_by_group"
        )
        values = {"commune": self._label(draft.proposed_code), "how": Label(how)}
        options = [
            Option(YES, Label("tips.btn_commune_yes")),
            Option(OTHER, Label("tips.btn_commune_other")),
        ]
        return Label("tips.confirm_commune", values), options, None

    def _ask_search(self, draft: Draft) -> _Asked:
        if not draft.offered_codes:
            return Label("tips.ask_commune"), [], None
        options = [
            Option(code, Label("tips.btn_commune", {"label": self._label(code)}))
            for code in draft.offered_codes
        ]
        return Label("tips.choose_commune", {"query": draft.search_query or ""}), options, None

    def _ask_photos(self, draft: Draft) -> _Asked:
        values = {"count": len(draft.photos), "max": MAX_PHOTOS}
        if not draft.photos:
            return (
                Label("tips.ask_photos", values),
                [Option(SKIP, Label("tips.btn_skip_photos"))],
                None,
            )
        options = [
            Option(DONE, Label("tips.btn_photos_done")),
            Option(CLEAR, Label("tips.btn_photos_clear")),
        ]
        return Label("tips.ask_more_photos", values), options, None

    def _ask_anonymity(self, draft: Draft) -> _Asked:
        options = [  # anonymous first: it is the default
            Option(ANONYMOUS, Label("tips.btn_anonymous")),
            Option(NAMED, Label("tips.btn_named")),
        ]
        return Label("tips.ask_anonymity"), options, None

    def _ask_name(self, draft: Draft) -> _Asked:
        options = [Option(ANONYMOUS, Label("tips.btn_back_anonymous"))]
        if draft.display_name:
            keep = Label("tips.btn_keep_name", {"name": draft.display_name})
            options.insert(0, Option(KEEP, keep))
        return Label("tips.ask_name", {"min": NAME_MIN, "max": NAME_MAX}), options, None

    def _ask_review(self, draft: Draft) -> _Asked:
        values = {
            "category": Label(f"tips.category.{draft.category or 'other'}"),
            "text": draft.text or "",
            "place": place_label(
                draft.venue_title, draft.venue_address, draft.address, draft.has_location
            ),
            "commune": self._label(draft.commune_code),
            "photos": len(draft.photos),
            "sender": sender_label(draft.is_anonymous, draft.display_name),
        }
        options = [Option(SEND, Label("tips.btn_send"))]
        options += [
            Option(f"{EDIT_PREFIX}{s.value}", Label(f"tips.btn_edit_{s.value}")) for s in EDITABLE
        ]
        return Label("tips.review", values), options, None

    def _ask_send(self, draft: Draft) -> _Asked:
        return Label("tips.sending"), [], None

    def _label(self, code: str | None) -> str:
        commune = self._units.commune(code or "")
        return commune.label if commune is not None else ""


_Asked = tuple[Label, list[Option], Label | None]
_BAD_LOCATION = Label("tips.bad_location")
_LOCATION_STEPS = (Step.WHERE, Step.CONFIRM_COMMUNE, Step.SEARCH_COMMUNE)
_HANDLERS = {
    Step.CATEGORY: TipFlow._category,
    Step.TEXT: TipFlow._text,
    Step.WHERE: TipFlow._where,
    Step.CONFIRM_COMMUNE: TipFlow._confirm_commune,
    Step.SEARCH_COMMUNE: TipFlow._search,
    Step.PHOTOS: TipFlow._photos,
    Step.ANONYMITY: TipFlow._anonymity,
    Step.NAME: TipFlow._name,
    Step.REVIEW: TipFlow._review,
    Step.SEND: TipFlow._review,
}
_QUESTIONS = {
    Step.CATEGORY: TipFlow._ask_category,
    Step.TEXT: TipFlow._ask_text,
    Step.WHERE: TipFlow._ask_where,
    Step.CONFIRM_COMMUNE: TipFlow._ask_confirm,
    Step.SEARCH_COMMUNE: TipFlow._ask_search,
    Step.PHOTOS: TipFlow._ask_photos,
    Step.ANONYMITY: TipFlow._ask_anonymity,
    Step.NAME: TipFlow._ask_name,
    Step.REVIEW: TipFlow._ask_review,
    Step.SEND: TipFlow._ask_send,
}


def place_label(
    venue_title: str | None, venue_address: str | None, address: str | None, located: bool
) -> Label:
    """Where it happened, as the reporter gave it."""
    if venue_title or venue_address:
        venue = ", ".join(part for part in (venue_title, venue_address) if part)
        return Label("tips.place_venue", {"venue": venue})
    if located:
        return Label("tips.place_location")
    if address:
        return Label("tips.place_address", {"address": address})
    return Label("tips.place_none")


def sender_label(anonymous: bool, display_name: str | None) -> Label:
    """Who sent it, as the reporter chose (a named tip without the name: a duty group's copy)."""
    if anonymous:
        return Label("tips.sender_anonymous")
    if not display_name:
        return Label("tips.sender_named_hidden")
    return Label("tips.sender_named", {"name": display_name})


def _voice_notice(draft: Draft) -> Label:
    return Label("tips.voice_anonymous" if draft.is_anonymous else "tips.voice_named")


def _photo_added(draft: Draft) -> Label:
    return Label("tips.photo_added", {"count": len(draft.photos), "max": MAX_PHOTOS})


def _forget_place(draft: Draft) -> None:
    draft.lat = draft.lon = None
    draft.venue_title = draft.venue_address = draft.address = None
    draft.location_far = False


def _first_missing(draft: Draft) -> Step:
    if draft.category is None:
        return Step.CATEGORY
    if draft.text is None:
        return Step.TEXT
    if draft.commune_code is None:
        return Step.WHERE
    return Step.ANONYMITY


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    return value[:limit] or None
