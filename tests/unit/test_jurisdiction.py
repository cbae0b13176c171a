"""Jurisdictions by code: the country ("VN", the ministry), a province, a commune."""

from __future__ import annotations

import pytest

from bot.areas import AdminUnits
from bot.services.officers import OfficerView, UnknownJurisdiction, jurisdiction_of


@pytest.mark.parametrize("code", ["VN", "vn"])
def test_the_country_is_a_jurisdiction_covering_every_commune(units: AdminUnits, code: str) -> None:
    country = jurisdiction_of(units, code)
    assert (country.kind, country.code, country.label, country.province_code) == (
        "country",
        "VN",
        "Toàn quốc",
        "",
    )
    assert country.national
    assert all(country.covers(c) for c in units.communes)
    assert OfficerView(1, None, country, True).issuer == "Bộ Công an"


def test_provinces_and_communes_are_not_national(units: AdminUnits) -> None:
    province, commune = jurisdiction_of(units, "01"), jurisdiction_of(units, "00235")
    assert (province.kind, commune.kind) == ("province", "commune")
    assert not province.national and not commune.national
    assert OfficerView(1, None, commune, True).issuer == "Công an Phường Đống Đa"
    outside = next(c for c in units.communes if c.province_code != "01")
    assert not province.covers(outside)


@pytest.mark.parametrize("code", ["", "V", "VNM", "99", "0023"])
def test_other_codes_are_refused(units: AdminUnits, code: str) -> None:
    with pytest.raises(UnknownJurisdiction):
        jurisdiction_of(units, code)
