"""Alerts as CAP 1.2 (OASIS Common Alerting Protocol): one `<alert>` per stored version.

The original is msgType Alert, each correction an Update and the ending a Cancel, each
referencing every earlier version of the same alert. A drill is status Exercise. The area is the
alert's target as groups read it (`areaDesc`), a geocode per commune code (and the province's
code for a province-wide alert), and a circle only around the officer's pin: the area data has
centres, not borders, so no polygon is invented. The texts are Vietnamese (`vi-VN`): officers
write alerts in Vietnamese only, so there is no `en-US` info to give.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, AsyncIterable, Iterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import IO, Any

from lxml import etree

from bot.areas import AdminUnits
from bot.i18n import Catalog, Markup
from bot.services.alert_types import CATEGORIES, Severity, clip
from storage.models import AlertVersionKind
from storage.queries.exports import VersionRow

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
ATOM_NS = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE = "application/cap+xml"
LANGUAGE = "vi-VN"
COMMUNE_GEOCODE = "VN-commune"  # official commune code (5 digits), reform of 1 July 2025
PROVINCE_GEOCODE = "VN-province"  # official province code (2 digits)
NUMBER_PARAMETER = "canhgac-alert-number"  # the "Số #12" groups saw
# The pin marks a place, not an extent: 1 km covers the neighbourhood residents would look at.
PIN_RADIUS_KM = 1.0
HEADLINE_LIMIT = 160  # CAP 1.2 §3.2.2: headline SHOULD be less than 160 characters
MSG_TYPES = {
    AlertVersionKind.ORIGINAL: "Alert",
    AlertVersionKind.CORRECTION: "Update",
    AlertVersionKind.CANCEL: "Cancel",
}
# Police warnings are about what has happened (Observed) or is expected (Likely); information
# is a possibility to keep in mind.
CERTAINTY = {Severity.URGENT: "Observed", Severity.WARNING: "Likely", Severity.INFO: "Possible"}
_FORBIDDEN_IN_IDS = frozenset(" ,<&\t\r\n")  # CAP 1.2 §3.2.1: identifier and sender
# Control characters XML 1.0 cannot carry at all; a message could hold one, lxml would refuse it.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class InvalidSender(ValueError):
    """A CAP sender may not contain spaces, commas, '<' or '&'."""


def check_sender(sender: str) -> str:
    """The sender, if CAP allows it."""
    if not sender or _FORBIDDEN_IN_IDS & set(sender):
        raise InvalidSender(sender)
    return sender


def identifier(alert_id: int, version: int) -> str:
    """Unique for the sender and stable: the same version always gets the same identifier."""
    return f"canhgac-alert-{alert_id}-v{version}"


@dataclass(frozen=True)
class CapArea:
    description: str
    geocodes: tuple[tuple[str, str], ...]
    circle: tuple[float, float, float] | None = None  # lat, lon, radius in km


@dataclass(frozen=True)
class CapMessage:
    """One version of an alert, with the versions before it (for `references`)."""

    alert_id: int
    version: int
    kind: AlertVersionKind
    sent: datetime
    text: str
    severity: Severity
    category: str
    issuer: str
    expires: datetime
    exercise: bool
    area: CapArea
    earlier: tuple[tuple[int, datetime], ...] = ()  # (version, sent) of each earlier version

    @property
    def identifier(self) -> str:
        return identifier(self.alert_id, self.version)


def area_of(row: VersionRow, units: AdminUnits) -> CapArea:
    """The alert's target: its label, its communes' codes, a circle around its pin."""
    targets: dict[str, Any] = json.loads(row.target_codes or "{}")
    geocodes: list[tuple[str, str]] = []
    if row.target_kind == "province":
        province = str(targets.get("province") or "")
        geocodes.append((PROVINCE_GEOCODE, province))
        geocodes += [(COMMUNE_GEOCODE, c.code) for c in units.communes_of(province)]
    elif row.target_kind in ("country", "provinces"):
        # A national alert names its provinces only: 3,321 commune codes say nothing more.
        chosen = targets.get("provinces")
        codes = [p.code for p in units.provinces] if chosen is None else [str(c) for c in chosen]
        geocodes += [(PROVINCE_GEOCODE, code) for code in codes]
    elif targets.get("commune"):
        geocodes.append((COMMUNE_GEOCODE, str(targets["commune"])))
    circle = None
    if row.lat is not None and row.lon is not None:
        circle = (row.lat, row.lon, PIN_RADIUS_KM)
    return CapArea(row.target_label, tuple(geocodes), circle)


async def messages(
    rows: AsyncIterable[VersionRow], units: AdminUnits, since: datetime | None = None
) -> AsyncGenerator[CapMessage, None]:
    """A CAP message per version made since `since`; `rows` come by alert, then version."""
    alert_id = -1
    earlier: tuple[tuple[int, datetime], ...] = ()
    async for row in rows:
        if row.alert_id != alert_id:
            alert_id, earlier = row.alert_id, ()
        if since is None or row.sent_at >= since:
            yield _message(row, units, earlier)
        earlier = (*earlier, (row.version, row.sent_at))


def _message(
    row: VersionRow, units: AdminUnits, earlier: tuple[tuple[int, datetime], ...]
) -> CapMessage:
    return CapMessage(
        alert_id=row.alert_id,
        version=row.version,
        kind=AlertVersionKind(row.kind),
        sent=row.sent_at,
        text=row.text,
        severity=Severity(row.severity),
        category=row.category if row.category in CATEGORIES else "other",
        issuer=row.issuer,
        expires=row.valid_until,
        exercise=row.exercise,
        area=area_of(row, units),
        earlier=earlier,
    )


def cap_time(moment: datetime, tz: tzinfo) -> str:
    """CAP's dateTime: to the second, with an offset and never "Z" (2026-11-26T15:00:00+07:00)."""
    return moment.astimezone(tz).isoformat(timespec="seconds")


def _coordinate(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


class CapBuilder:
    """Builds CAP `<alert>` elements in Vietnamese for one sender."""

    def __init__(self, catalog: Catalog, sender: str, tz: tzinfo) -> None:
        self._catalog = catalog
        self._sender = check_sender(sender)
        self._tz = tz

    @property
    def sender(self) -> str:
        return self._sender

    def _text(self, key: str, **values: object) -> str:
        """A catalogue text as plain text: the values are not HTML-escaped (lxml escapes)."""
        plain = {k: Markup(str(v)) for k, v in values.items()}
        return self._catalog.t("vi", key, **plain)

    def headline(self, message: CapMessage) -> str:
        """ "Cảnh báo: Lừa đảo — Phường Đống Đa — Thành phố Hà Nội" (cut to 160 characters)."""
        text = self._text(
            "exports.cap.headline",
            severity=self._text(f"exports.severity.{message.severity.value}"),
            category=self._text(f"category.{message.category}"),
            area=message.area.description,
        )
        return clip(text, HEADLINE_LIMIT)

    def alert(self, message: CapMessage) -> etree._Element:
        """The `<alert>` of one version."""
        root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})
        _add(root, "identifier", message.identifier)
        _add(root, "sender", self._sender)
        _add(root, "sent", cap_time(message.sent, self._tz))
        _add(root, "status", "Exercise" if message.exercise else "Actual")
        _add(root, "msgType", MSG_TYPES[message.kind])
        _add(root, "scope", "Public")
        note = self._note(message)
        if note is not None:
            _add(root, "note", note)
        if message.earlier:
            _add(root, "references", " ".join(self._references(message)))
        root.append(self._info(message))
        return root

    def _note(self, message: CapMessage) -> str | None:
        if message.kind is AlertVersionKind.CANCEL:
            return self._text("exports.cap.cancelled", number=message.alert_id)
        if message.kind is AlertVersionKind.CORRECTION:
            return self._text(
                "exports.cap.corrected", number=message.alert_id, n=message.version - 1
            )
        return self._text("exports.cap.exercise") if message.exercise else None

    def _references(self, message: CapMessage) -> Iterator[str]:
        for version, sent in message.earlier:
            yield ",".join(
                (self._sender, identifier(message.alert_id, version), cap_time(sent, self._tz))
            )

    def _info(self, message: CapMessage) -> etree._Element:
        severity, urgency = message.severity.cap
        info = etree.Element(f"{{{CAP_NS}}}info")
        _add(info, "language", LANGUAGE)
        _add(info, "category", CATEGORIES[message.category])
        _add(info, "event", self._text(f"category.{message.category}"))
        _add(info, "urgency", urgency)
        _add(info, "severity", severity)
        _add(info, "certainty", CERTAINTY[message.severity])
        _add(info, "expires", cap_time(message.expires, self._tz))
        _add(info, "senderName", message.issuer)
        _add(info, "headline", self.headline(message))
        _add(info, "description", message.text)
        parameter = _add(info, "parameter")
        _add(parameter, "valueName", NUMBER_PARAMETER)
        _add(parameter, "value", str(message.alert_id))
        info.append(self._area(message.area))
        return info

    def _area(self, area: CapArea) -> etree._Element:
        element = etree.Element(f"{{{CAP_NS}}}area")
        _add(element, "areaDesc", area.description)
        if area.circle is not None:
            lat, lon, radius = area.circle
            _add(element, "circle", f"{_coordinate(lat)},{_coordinate(lon)} {radius}")
        for name, value in area.geocodes:
            geocode = _add(element, "geocode")
            _add(geocode, "valueName", name)
            _add(geocode, "value", value)
        return element


def _add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
    if text is not None:
        child.text = _NOT_XML.sub("", text)
    return child


def document(element: etree._Element) -> bytes:
    """A standalone XML document (UTF-8, with its declaration)."""
    return bytes(etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def filename(message: CapMessage) -> str:
    """The file of one version in an export directory: alert-12-v2.xml."""
    return f"alert-{message.alert_id}-v{message.version}.xml"


class AtomFeed:
    """An Atom feed (RFC 4287) with one entry per CAP message, written entry by entry."""

    def __init__(self, out: IO[bytes], builder: CapBuilder, updated: datetime, tz: tzinfo):
        self._out = out
        self._builder = builder
        self._updated = updated
        self._tz = tz

    async def write(self, items: AsyncIterable[CapMessage]) -> int:
        """Write the feed around every message; how many entries it has."""
        count = 0
        with etree.xmlfile(self._out, encoding="UTF-8") as xf:
            xf.write_declaration()
            with xf.element(_atom_name("feed"), nsmap={None: ATOM_NS}):
                self._head(xf)
                async for message in items:
                    xf.write("\n", self._entry(message), pretty_print=True)
                    count += 1
                    self._out.flush()
        return count

    def _head(self, xf: Any) -> None:
        sender = self._builder.sender
        for name, text in (
            ("id", f"urn:canhgac:cap:{sender}"),
            ("title", f"Canh Gác — CAP 1.2 ({sender})"),
            ("updated", cap_time(self._updated, self._tz)),
            ("generator", "canhgac"),
        ):
            xf.write("\n")
            with xf.element(_atom_name(name)):
                xf.write(text)
        xf.write("\n")
        with xf.element(_atom_name("author")), xf.element(_atom_name("name")):
            xf.write(sender)

    def _entry(self, message: CapMessage) -> etree._Element:
        entry = etree.Element(_atom_name("entry"), nsmap={None: ATOM_NS})
        for name, text in (
            ("id", f"urn:canhgac:cap:{self._builder.sender}:{message.identifier}"),
            ("title", self._builder.headline(message)),
            ("updated", cap_time(message.sent, self._tz)),
        ):
            etree.SubElement(entry, _atom_name(name)).text = text
        content = etree.SubElement(entry, _atom_name("content"), type=CAP_MEDIA_TYPE)
        content.append(self._builder.alert(message))
        return entry


def _atom_name(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"
