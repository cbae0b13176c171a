"""An alert as a group sees it: the same rendering for every copy, edit and the preview."""

from __future__ import annotations

import html
import re
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.delivery.outgoing import Button, Outgoing
from bot.i18n import Catalog, Markup
from bot.services.alert_types import AREA_LABEL_LIMIT, ISSUER_LIMIT, AlertContent, clip

ACK_PREFIX = "ack:"
PREVIEW_ACK = "ack:preview"
_ACK_DATA = re.compile(r"ack:([1-9][0-9]{0,9})", re.ASCII)
MAX_ALERT_NUMBER = 2**31 - 1  # alerts.id is a 32-bit integer on PostgreSQL


def acked_number(data: str) -> int | None:
    """The alert number in "received" button data; None for data no copy ever carries."""
    match = _ACK_DATA.fullmatch(data)
    if match is None:
        return None
    number = int(match.group(1))
    return number if number <= MAX_ALERT_NUMBER else None


def map_url(lat: float, lon: float) -> str:
    return f"https://maps.google.com/?q={lat:.6f},{lon:.6f}"


def render_alert(
    catalog: Catalog, lang: str | None, content: AlertContent, tz: ZoneInfo
) -> Outgoing:
    """HTML text (a caption when there is a photo) and the "received" button."""
    t = catalog.t
    lines: list[str] = []
    if content.exercise:
        lines.append(t(lang, "alert.exercise"))
    if content.cancelled:
        lines.append(t(lang, "alert.cancelled"))
    elif content.corrections:
        lines.append(t(lang, "alert.corrected", n=content.corrections))
    severity = t(lang, f"severity.{content.severity.value}")
    category = t(lang, f"category.{content.category}")
    lines.append(t(lang, "alert.header", severity=severity, category=category))
    lines.append(t(lang, "alert.area", area=clip(content.area, AREA_LABEL_LIMIT)))
    body = html.escape(content.text, quote=False)
    lines.append("\n" + (f"<s>{body}</s>" if content.cancelled else body) + "\n")
    if content.lat is not None and content.lon is not None:
        lines.append(t(lang, "alert.location", url=Markup(map_url(content.lat, content.lon))))
    when = catalog.datetime(lang, content.valid_until, tz)
    lines.append(t(lang, "alert.valid_until", time=when))
    number = (
        t(lang, "alert.number", number=content.number)
        if content.number is not None
        else t(lang, "alert.preview_number")
    )
    issuer = clip(content.issuer, ISSUER_LIMIT)
    lines.append(t(lang, "alert.issuer", issuer=issuer, number=Markup(number)))
    buttons: list[list[Button]] = []
    if not content.cancelled:
        data = f"{ACK_PREFIX}{content.number}" if content.number is not None else PREVIEW_ACK
        buttons = [[(t(lang, "alert.ack_button"), data)]]
    return Outgoing(text="\n".join(lines), photo=content.photo_file_id, buttons=buttons)


def with_acknowledgement(
    catalog: Catalog, lang: str | None, body: Outgoing, at: datetime, tz: ZoneInfo
) -> Outgoing:
    """A group's copy once its administrator pressed "received": a footer, and no button."""
    when = at.astimezone(tz).strftime("%H:%M %d/%m")
    footer = catalog.t(lang, "ack.footer", time=when)
    return replace(body, text=f"{body.text}\n{footer}", buttons=[])


def with_tip_button(
    catalog: Catalog, lang: str | None, copy: Outgoing, url: str | None
) -> Outgoing:
    """A group's copy with its "send a tip" link (to the private chat, with the group's area)
    under the other buttons; it stays after the acknowledgement and the end."""
    if url is None:
        return copy
    return replace(copy, buttons=[*copy.buttons, [(catalog.t(lang, "alert.tip_button"), url)]])
