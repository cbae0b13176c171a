"""A tip as officers and reporters read it, and the data its buttons carry.

Pure functions of a `TipCard` (or a relayed message) and the catalogue, so the outbox's
renderers and the handlers that open or refresh a card show exactly the same text and buttons.
An officer's card may name a reporter who chose to leave a name; a duty group's card never
does: it says "Người báo tin #R-12".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo
from enum import StrEnum

from bot.delivery.outgoing import Button, Outgoing
from bot.i18n import Catalog, Markup
from bot.services.alert_render import map_url
from bot.services.subscriptions import Page
from bot.services.tip_flow import translate
from bot.services.tip_states import TriageAction
from bot.services.tips import TipCard, TipFilter
from storage.models.tips import Assessment, TipState

# Callback data of every tip button (at most 64 bytes; tip ids and versions are digits):
#   tc:<code>:<tip id>[:<version>]   an officer's button on a tip card; triage codes are the
#                                    TriageAction values, the others are `CardButton`s
#   tr:<code>:<tip id>               the reporter's buttons (`ReporterButton`)
#   tl:f:<filter>:<page>             /xulytin: a filter (`TipFilter`) or a page of the list
#   tl:o:<tip id>                    /xulytin: open that tip's card
CARD_PREFIX, REPORTER_PREFIX, LIST_PREFIX = "tc", "tr", "tl"
LIST_FILTER, LIST_OPEN = "f", "o"
EXCERPT = 80  # characters of a tip's text in the /xulytin list


class CardButton(StrEnum):
    """A card's buttons that are not triage actions."""

    REPLY = "re"  # Trả lời: the officer is asked for the text relayed to the reporter
    BLOCK = "bl"  # Chặn người gửi: asks to confirm first
    BLOCK_YES = "by"  # the confirmation: block the sender
    BLOCK_NO = "bn"  # the confirmation: do not


class ReporterButton(StrEnum):
    STILL = "still"  # Vẫn còn, under the notice that the tip was resolved
    ANSWER = "ans"  # Trả lời cán bộ, under a message an officer wrote


TRIAGE_CODES = frozenset(a.value for a in TriageAction if a is not TriageAction.STILL_HAPPENING)
CARD_CODES = TRIAGE_CODES | {b.value for b in CardButton}
_PRESS = re.compile(r"(tc|tr):([a-z]{2,6}):([1-9][0-9]{0,11})(?::([0-9]{1,10}))?", re.ASCII)
_LIST = re.compile(r"tl:(?:f:([a-z]{3,7}):([0-9]{1,4})|o:([1-9][0-9]{0,11}))", re.ASCII)


@dataclass(frozen=True)
class Press:
    """A tip button's data, parsed; any data that no bot button carries parses to None."""

    prefix: str
    code: str
    tip_id: int
    version: int | None = None


@dataclass(frozen=True)
class ListPress:
    """A /xulytin button: a filter and page, or a tip to open."""

    filter: TipFilter = TipFilter.ALL
    page: int = 0
    open_tip: int | None = None


def parse_press(data: str) -> Press | None:
    """The card or reporter button named by `data`, or None for forged or unknown data."""
    match = _PRESS.fullmatch(data)
    if match is None:
        return None
    prefix, code, tip, version = match.groups()
    allowed = CARD_CODES if prefix == CARD_PREFIX else {b.value for b in ReporterButton}
    if code not in allowed:
        return None
    return Press(prefix, code, int(tip), int(version) if version is not None else None)


def parse_list_press(data: str) -> ListPress | None:
    """The /xulytin button named by `data`, or None."""
    match = _LIST.fullmatch(data)
    if match is None:
        return None
    wanted, page, tip = match.groups()
    if tip is not None:
        return ListPress(open_tip=int(tip))
    if wanted not in {f.value for f in TipFilter}:
        return None
    return ListPress(TipFilter(wanted), int(page))


def card_data(code: str, tip_id: int, version: int | None = None) -> str:
    """The data of a card button."""
    suffix = f":{version}" if version is not None else ""
    return f"{CARD_PREFIX}:{code}:{tip_id}{suffix}"


def reporter_data(button: ReporterButton, tip_id: int) -> str:
    return f"{REPORTER_PREFIX}:{button.value}:{tip_id}"


def list_data(wanted: TipFilter, page: int) -> str:
    return f"{LIST_PREFIX}:{LIST_FILTER}:{wanted.value}:{page}"


def open_data(tip_id: int) -> str:
    return f"{LIST_PREFIX}:{LIST_OPEN}:{tip_id}"


# -- the card -------------------------------------------------------------------------------


def card_text(
    catalog: Catalog, lang: str | None, card: TipCard, tz: tzinfo, *, for_group: bool
) -> str:
    """The card's HTML text: what, where, when, who sent it, the state and who took it."""
    t = catalog.t
    lines = _alarm(catalog, lang, card, tz)
    state = t(lang, f"tips.state.{card.state.value}")
    category = t(lang, f"tips.category.{card.category}")
    lines.append(t(lang, "tips.card.header", state=state, number=card.number, category=category))
    lines.append(t(lang, "tips.card.commune", commune=card.commune_label))
    lines.append(t(lang, "tips.card.place", place=Markup(translate(catalog, lang, card.place))))
    if card.lat is not None and card.lon is not None:
        lines.append(t(lang, "tips.card.map", url=Markup(map_url(card.lat, card.lon))))
    lines.append(t(lang, "tips.card.sent_at", time=catalog.datetime(lang, card.created_at, tz)))
    lines.append(_sender(catalog, lang, card, for_group))
    if card.photos:
        lines.append(t(lang, "tips.card.photos", count=len(card.photos)))
    lines.append("\n" + t(lang, "tips.card.text", text=card.text) + "\n")
    lines += _progress(catalog, lang, card, tz)
    return "\n".join(lines)


def _alarm(catalog: Catalog, lang: str | None, card: TipCard, tz: tzinfo) -> list[str]:
    """The line on top of a tip nobody took up in time."""
    if card.state is not TipState.NEW or not (card.overdue or card.escalated):
        return []
    deadline = catalog.datetime(lang, card.ack_deadline, tz)
    key = "tips.card.escalated" if card.escalated else "tips.card.overdue"
    return [catalog.t(lang, key, time=deadline)]


def _sender(catalog: Catalog, lang: str | None, card: TipCard, for_group: bool) -> str:
    t = catalog.t
    if for_group or card.anonymous or not card.display_name:
        key = "tips.card.sender_anonymous" if card.anonymous and not for_group else None
        return t(lang, key or "tips.card.sender_alias", number=card.number)
    return t(lang, "tips.card.sender_named", name=card.display_name, number=card.number)


def _progress(catalog: Catalog, lang: str | None, card: TipCard, tz: tzinfo) -> list[str]:
    """The state, who took the tip and when, the assessment, the deadline."""
    t = catalog.t
    lines = [t(lang, "tips.card.state", state=t(lang, f"tips.state.{card.state.value}"))]
    if card.handler_id is not None:
        who = card.handler_name or t(lang, "tips.card.handler_unnamed", id=card.handler_id)
        at = card.acknowledged_at or card.created_at
        lines.append(t(lang, "tips.card.handler", name=who, time=catalog.datetime(lang, at, tz)))
    if card.assessment is not Assessment.UNASSESSED:
        assessment = t(lang, f"tips.assessment.{card.assessment.value}")
        lines.append(t(lang, "tips.card.assessment", assessment=assessment))
    if card.state is TipState.NEW and not card.overdue and not card.escalated:
        deadline = catalog.datetime(lang, card.ack_deadline, tz)
        lines.append(t(lang, "tips.card.deadline", time=deadline))
    if card.updated_at is not None and card.updated_at > card.created_at:
        lines.append(t(lang, "tips.card.updated", time=catalog.datetime(lang, card.updated_at, tz)))
    return lines


def card_buttons(
    catalog: Catalog, lang: str | None, card: TipCard, *, for_group: bool
) -> list[list[Button]]:
    """What can be done to the tip now; a duty group's card has no reply nor block buttons
    (those belong in an officer's private chat)."""
    t = catalog.t

    def button(action: TriageAction) -> Button:
        return (
            t(lang, f"tips.action.{action.value}"),
            card_data(action, card.tip_id, card.version),
        )

    rows: list[list[Button]] = []
    if card.state is TipState.NEW:
        rows.append([button(TriageAction.ACKNOWLEDGE)])
    if card.state is TipState.ACKNOWLEDGED:
        rows.append([button(TriageAction.RESOLVE)])
    if card.state.open:
        assess = [TriageAction.VALUABLE, TriageAction.NOT_VALUABLE]
        current = {Assessment.VALUABLE: assess[0], Assessment.NOT_VALUABLE: assess[1]}
        rows.append([button(a) for a in assess if current.get(card.assessment) is not a])
        rows.append([button(TriageAction.REJECT)])
    if not for_group:
        rows.append(
            [
                (t(lang, "tips.card.btn_reply"), card_data(CardButton.REPLY, card.tip_id)),
                (t(lang, "tips.btn_block"), card_data(CardButton.BLOCK, card.tip_id)),
            ]
        )
    return rows


def block_question(catalog: Catalog, lang: str | None, tip_id: int, number: str) -> Outgoing:
    """ "Chặn người gửi?" with its two answers."""
    t = catalog.t
    buttons: list[list[Button]] = [
        [(t(lang, "tips.card.btn_block_yes"), card_data(CardButton.BLOCK_YES, tip_id))],
        [(t(lang, "tips.card.btn_block_no"), card_data(CardButton.BLOCK_NO, tip_id))],
    ]
    return Outgoing(text=t(lang, "tips.card.confirm_block", number=number), buttons=buttons)


# -- /xulytin ---------------------------------------------------------------------------------


def open_tips_view(
    catalog: Catalog, lang: str | None, page: Page[TipCard], wanted: TipFilter, tz: tzinfo
) -> Outgoing:
    """One page of the officer's open tips: a line and a button per tip, filters, paging."""
    t = catalog.t
    title = t(lang, f"tips.filter.{wanted.value}")
    if not page.items:
        text = t(lang, "tips.list.empty", filter=title)
    else:
        head = t(
            lang,
            "tips.list.title",
            filter=title,
            total=page.total,
            page=page.page + 1,
            pages=page.pages,
        )
        text = "\n\n".join([head, *(_list_line(catalog, lang, card, tz) for card in page.items)])
    rows: list[list[Button]] = [
        [(_list_label(catalog, lang, card, tz), open_data(card.tip_id))] for card in page.items
    ]
    paging: list[Button] = []
    if page.page > 0:
        paging.append((t(lang, "tips.list.previous"), list_data(wanted, page.page - 1)))
    if page.page + 1 < page.pages:
        paging.append((t(lang, "tips.list.next"), list_data(wanted, page.page + 1)))
    if paging:
        rows.append(paging)
    rows += _filter_rows(catalog, lang, wanted)
    return Outgoing(text=text, buttons=rows)


def _filter_rows(catalog: Catalog, lang: str | None, wanted: TipFilter) -> list[list[Button]]:
    def button(f: TipFilter) -> Button:
        label = catalog.t(lang, f"tips.filter.{f.value}")
        return (f"• {label}" if f is wanted else label, list_data(f, 0))

    return [
        [button(TipFilter.NEW), button(TipFilter.OVERDUE)],
        [button(TipFilter.MINE), button(TipFilter.ALL)],
    ]


def _list_line(catalog: Catalog, lang: str | None, card: TipCard, tz: tzinfo) -> str:
    text = card.text if len(card.text) <= EXCERPT else card.text[: EXCERPT - 1].rstrip() + "…"
    return catalog.t(
        lang,
        "tips.list.line",
        number=card.number,
        state=catalog.t(lang, f"tips.state.{card.state.value}"),
        category=catalog.t(lang, f"tips.category.{card.category}"),
        commune=card.commune_label,
        time=catalog.datetime(lang, card.created_at, tz),
        text=text,
        overdue=Markup(catalog.t(lang, "tips.list.overdue") if card.overdue else ""),
    )


def _list_label(catalog: Catalog, lang: str | None, card: TipCard, tz: tzinfo) -> str:
    return catalog.t(
        lang,
        "tips.list.button",
        number=card.number,
        category=catalog.t(lang, f"tips.category.{card.category}"),
        time=catalog.datetime(lang, card.created_at, tz),
    )
