"""Tests of the official administrative units catalogue and the area search."""

from __future__ import annotations

import pytest

from bot.areas import (
    AdminUnits,
    Commune,
    Province,
    clean_residential_name,
    normalize,
    residential_key,
)

# Offshore special zones (archipelagos) lie east of the mainland bounding box.
ARCHIPELAGOS = {"20333": "Đặc khu Hoàng Sa", "22736": "Đặc khu Trường Sa"}


@pytest.fixture(scope="module")
def units() -> AdminUnits:
    return AdminUnits.load()


def labels(units: AdminUnits, query: str, limit: int = 20) -> list[str]:
    return [commune.label for commune in units.search(query, limit)]


# --- data ---------------------------------------------------------------------------------


def test_counts(units: AdminUnits) -> None:
    assert len(units.provinces) == 34
    assert len(units.communes) == 3321


def test_codes_unique(units: AdminUnits) -> None:
    assert len({p.code for p in units.provinces}) == 34
    assert len({c.code for c in units.communes}) == 3321


def test_every_commune_has_its_province(units: AdminUnits) -> None:
    for commune in units.communes:
        province = units.province(commune.province_code)
        assert province is not None
        assert commune.province_name == province.name
    assert sum(len(units.communes_of(p.code)) for p in units.provinces) == 3321


@pytest.mark.parametrize("kind", ["provinces", "communes"])
def test_units_inside_vietnam(units: AdminUnits, kind: str) -> None:
    items: list[Province] | list[Commune] = list(getattr(units, kind))
    for unit in items:
        assert 8 <= unit.lat <= 24, unit
        max_lon = 117 if unit.code in ARCHIPELAGOS and kind == "communes" else 110
        assert 102 <= unit.lon <= max_lon, unit


def test_archipelagos_are_the_only_units_east_of_110(units: AdminUnits) -> None:
    assert {c.code: c.name for c in units.communes if c.lon > 110} == ARCHIPELAGOS


@pytest.mark.parametrize(
    ("unit_kind", "kinds"),
    [("provinces", {"Tỉnh", "Thành phố"}), ("communes", {"Xã", "Phường", "Đặc khu"})],
)
def test_kinds_and_names(units: AdminUnits, unit_kind: str, kinds: set[str]) -> None:
    for unit in getattr(units, unit_kind):
        assert unit.kind in kinds
        assert unit.name == f"{unit.kind} {unit.short_name}"


def test_source_header(units: AdminUnits) -> None:
    assert units.source == {
        "name": "vietnamadminunits",
        "version": "1.0.4",
        "url": "https://github.com/tranngocminhhieu/vietnamadminunits",
        "licence": "MIT",
        "reform": "2025-07-01",
    }


@pytest.mark.parametrize(
    ("code", "name", "province_code"),
    [
        ("00235", "Phường Đống Đa", "01"),
        ("10888", "Xã Cẩm Giang", "31"),
        ("10903", "Xã Cẩm Giàng", "31"),
        ("02008", "Xã Cẩm Giàng", "19"),
        ("26732", "Đặc khu Côn Đảo", "79"),
    ],
)
def test_known_communes(units: AdminUnits, code: str, name: str, province_code: str) -> None:
    commune = units.commune(code)
    assert commune is not None
    assert (commune.name, commune.province_code) == (name, province_code)


def test_catalogue_from_document() -> None:
    doc = {
        "source": {"name": "test"},
        "provinces": [
            {
                "code": "01",
                "name": "Thành phố Hà Nội",
                "short_name": "Hà Nội",
                "kind": "Thành phố",
                "lat": 21.0,
                "lon": 105.7,
            },
        ],
        "communes": [
            {
                "code": "00235",
                "name": "Phường Đống Đa",
                "short_name": "Đống Đa",
                "kind": "Phường",
                "province_code": "01",
                "lat": 21.0,
                "lon": 105.8,
            },
        ],
    }
    units = AdminUnits.from_document(doc)
    assert [c.label for c in units.search("dong da")] == [DONG_DA]
    assert units.communes_of("01") == units.communes
    assert units.communes_of("99") == ()


def test_load_is_shared(units: AdminUnits) -> None:
    assert AdminUnits.load() is units


# --- labels, normalisation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("00235", "Phường Đống Đa — Thành phố Hà Nội"),
        ("02008", "Xã Cẩm Giàng — Tỉnh Thái Nguyên"),
        ("31078", "Đặc khu Phú Quốc — Tỉnh An Giang"),
    ],
)
def test_labels(units: AdminUnits, code: str, label: str) -> None:
    commune = units.commune(code)
    assert commune is not None
    assert commune.label == label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Phường Đống Đa", "phuong dong da"),
        ("  ĐẮK   LẮK ", "dak lak"),
        ("Thanh Hoá", "thanh hoa"),
        ("Thanh Hóa", "thanh hoa"),
        ("P. Bến Thành, TP.HCM", "p ben thanh tp hcm"),
        ("Tổ dân phố số 5", "to dan pho so 5"),
        ("Cu\u0300 Lao Dung", "cu lao dung"),  # decomposed (NFD) input
        ("!!!", ""),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


# --- search -------------------------------------------------------------------------------

DONG_DA = "Phường Đống Đa — Thành phố Hà Nội"


@pytest.mark.parametrize(
    "query",
    [
        "dong da",
        "Đống Đa",
        "ĐỐNG ĐA",
        "phuong dong da",
        "Phường Đống Đa",
        "p. dong da",
        "P.Đống Đa",
        "xa dong da",  # wrong type: still found
        "x. dong da",
        "thi tran dong da",
        "tt dong da",
        "dongda",
        "dong daa",  # insertion
        "dong d",  # prefix
        "dng da",  # deletion
        "dong de",  # substitution
        "dnog da",  # transposition
        "dong da ha noi",
        "Đống Đa, Hà Nội",
        "dong da tp ha noi",
        "dong da thanh pho ha noi",
        "dong da hn",
        "ha noi dong da",
    ],
)
def test_search_finds_dong_da_first(units: AdminUnits, query: str) -> None:
    assert labels(units, query)[0] == DONG_DA


CAM_GIANG_HP = "Xã Cẩm Giang — Thành phố Hải Phòng"
CAM_GIANG_ACCENT_HP = "Xã Cẩm Giàng — Thành phố Hải Phòng"
CAM_GIANG_ACCENT_TN = "Xã Cẩm Giàng — Tỉnh Thái Nguyên"


@pytest.mark.parametrize(
    ("query", "expected_first"),
    [
        ("cam giang", [CAM_GIANG_HP, CAM_GIANG_ACCENT_HP, CAM_GIANG_ACCENT_TN]),
        ("xa cam giang", [CAM_GIANG_HP, CAM_GIANG_ACCENT_HP, CAM_GIANG_ACCENT_TN]),
        ("Cẩm Giàng", [CAM_GIANG_ACCENT_HP, CAM_GIANG_ACCENT_TN, CAM_GIANG_HP]),
        ("Cẩm Giàng", [CAM_GIANG_ACCENT_HP, CAM_GIANG_ACCENT_TN, CAM_GIANG_HP]),  # NFD input
        ("Cẩm Giang", [CAM_GIANG_HP, CAM_GIANG_ACCENT_HP, CAM_GIANG_ACCENT_TN]),
        ("cam giang hai phong", [CAM_GIANG_HP, CAM_GIANG_ACCENT_HP]),
        ("Cẩm Giàng, Hải Phòng", [CAM_GIANG_ACCENT_HP, CAM_GIANG_HP]),
        ("cam giang thai nguyen", [CAM_GIANG_ACCENT_TN]),
    ],
)
def test_search_cam_giang(units: AdminUnits, query: str, expected_first: list[str]) -> None:
    found = labels(units, query)
    assert found[: len(expected_first)] == expected_first


@pytest.mark.parametrize(
    ("query", "only"),
    [
        ("dong da ha noi", DONG_DA),
        ("cam giang thai nguyen", CAM_GIANG_ACCENT_TN),
        ("ben thanh tp hcm", "Phường Bến Thành — Thành phố Hồ Chí Minh"),
    ],
)
def test_province_qualifier_narrows(units: AdminUnits, query: str, only: str) -> None:
    found = units.search(query)
    assert found[0].label == only
    assert len({c.province_code for c in found}) == 1


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("hoan kiem", "Phường Hoàn Kiếm — Thành phố Hà Nội"),
        ("phu quoc", "Đặc khu Phú Quốc — Tỉnh An Giang"),
        ("dac khu phu quoc", "Đặc khu Phú Quốc — Tỉnh An Giang"),
        ("xa dung", "Xã Xa Dung — Tỉnh Điện Biên"),  # "xa" is part of the name here
        ("phuong liet", "Phường Phương Liệt — Thành phố Hà Nội"),
        ("ha giang 2", "Phường Hà Giang 2 — Tỉnh Tuyên Quang"),
        ("Thạnh Hoá", "Xã Thạnh Hóa — Tỉnh Tây Ninh"),  # tone mark placed the old way
        ("sai gon", "Phường Sài Gòn — Thành phố Hồ Chí Minh"),
        ("con dao", "Đặc khu Côn Đảo — Thành phố Hồ Chí Minh"),
        ("nguyen hue", "Xã Nguyễn Huệ — Tỉnh Cao Bằng"),  # ends like a province ("Huế")
        ("phu tho hoa", "Phường Phú Thọ Hòa — Thành phố Hồ Chí Minh"),
        ("dien bien phu", "Phường Điện Biên Phủ — Tỉnh Điện Biên"),
        ("tay ninh hoa", "Xã Tây Ninh Hòa — Tỉnh Khánh Hòa"),  # starts like a province
    ],
)
def test_search_first_result(units: AdminUnits, query: str, first: str) -> None:
    assert labels(units, query)[0] == first


def test_ranking_tiers(units: AdminUnits) -> None:
    # exact > prefix > all words > typo
    found = labels(units, "dong da", limit=50)
    assert found[0] == DONG_DA
    assert found.index("Xã Đồng Đăng — Tỉnh Lạng Sơn") < found.index("Xã Đại Đồng — Tỉnh Bắc Ninh")


def test_ties_broken_by_name_then_province(units: AdminUnits) -> None:
    found = units.search("tan an", limit=50)
    exact = [c for c in found if normalize(c.short_name) == "tan an"]
    assert len(exact) > 1
    assert found[: len(exact)] == exact
    short = {p.code: normalize(p.short_name) for p in units.provinces}
    order = [(c.short_name, short[c.province_code]) for c in exact]
    assert order == sorted(order)


@pytest.mark.parametrize(
    "query", ["", "   ", "d", "Đ", "!", "x" * 101, "dong da " * 13, "zzzzqqqq", "ha noi"]
)
def test_search_returns_nothing(units: AdminUnits, query: str) -> None:
    assert units.search(query) == []


def test_search_limit(units: AdminUnits) -> None:
    assert len(units.search("tan", limit=5)) == 5
    assert units.search("tan", limit=0) == []


@pytest.mark.parametrize(
    ("query", "typo", "found"),
    [
        ("dong da", "dong dq", True),  # 6 letters: one edit
        ("dong da", "dxng dq", False),  # 6 letters: not two
        ("hoan kiem", "hoam kiep", True),  # 8 letters: two edits
        ("hoan kiem", "hxam kiep", False),  # 8 letters: not three
    ],
)
def test_typo_tolerance(units: AdminUnits, query: str, typo: str, found: bool) -> None:
    target = labels(units, query)[0]
    assert (target in labels(units, typo, limit=100)) is found


# --- provinces, jurisdictions -------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "first"),
    [
        ("ha noi", "Thành phố Hà Nội"),
        ("Hà Nội", "Thành phố Hà Nội"),
        ("tp hcm", "Thành phố Hồ Chí Minh"),
        ("sai gon", "Thành phố Hồ Chí Minh"),
        ("thanh pho ho chi minh", "Thành phố Hồ Chí Minh"),
        ("tinh thanh hoa", "Tỉnh Thanh Hóa"),
        ("Thanh Hoá", "Tỉnh Thanh Hóa"),
        ("dak lak", "Tỉnh Đắk Lắk"),
        ("daklak", "Tỉnh Đắk Lắk"),
        ("hai phog", "Thành phố Hải Phòng"),
    ],
)
def test_search_provinces(units: AdminUnits, query: str, first: str) -> None:
    assert units.search_provinces(query)[0].name == first


@pytest.mark.parametrize("query", ["", "h", "zzzz"])
def test_search_provinces_nothing(units: AdminUnits, query: str) -> None:
    assert units.search_provinces(query) == []


@pytest.mark.parametrize(
    ("text", "expected_type", "expected_name"),
    [
        ("01", Province, "Thành phố Hà Nội"),
        ("00235", Commune, "Phường Đống Đa"),
        (" 79 ", Province, "Thành phố Hồ Chí Minh"),
        ("Thành phố Hà Nội", Province, "Thành phố Hà Nội"),
        ("ha noi", Province, "Thành phố Hà Nội"),
        ("Phường Đống Đa — Thành phố Hà Nội", Commune, "Phường Đống Đa"),
    ],
)
def test_find_jurisdiction(
    units: AdminUnits, text: str, expected_type: type, expected_name: str
) -> None:
    found = units.find_jurisdiction(text)
    assert isinstance(found, expected_type)
    assert found is not None
    assert found.name == expected_name


@pytest.mark.parametrize("text", ["", "99", "1", "99999", "Cẩm Giàng", "nowhere"])
def test_find_jurisdiction_nothing(units: AdminUnits, text: str) -> None:
    assert units.find_jurisdiction(text) is None


# --- residential areas --------------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        ["Tổ dân phố số 5", "TDP 5", "to dan pho 5", "TDP số 05", "tdp5", "Tổ  dân phố 5"],
        ["Khu phố 3", "KP 3", "kp.3", "khu pho so 3"],
        ["Thôn 3", "thon 03", "Thôn số 3"],
        ["Ấp Bình Hòa", "ap binh hoa", "Ấp Bình Hoà"],
        ["Xóm Đông", "xom dong"],
        ["Bản Mường", "ban muong"],
    ],
)
def test_residential_key_equivalences(names: list[str]) -> None:
    assert len({residential_key(name) for name in names}) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Thôn 3", "Thôn 13"),
        ("Thôn 3", "Thôn 30"),
        ("Tổ dân phố 5", "Khu phố 5"),
        ("Ấp 1", "Bản 1"),
        ("Thôn Số", "Thôn"),  # "số" not before a number is kept
    ],
)
def test_residential_key_differences(a: str, b: str) -> None:
    assert residential_key(a) != residential_key(b)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Tổ dân phố số 05", "to dan pho 5"),
        ("KP 3", "khu pho 3"),
        ("Thôn 0", "thon 0"),
        ("Xóm Trại", "xom trai"),
    ],
)
def test_residential_key_values(name: str, key: str) -> None:
    assert residential_key(name) == key


@pytest.mark.parametrize(
    ("name", "cleaned"),
    [
        ("  Tổ dân phố   số 5 ", "Tổ dân phố số 5"),
        ("Thôn\t3\n", "Thôn 3"),
        ("x" * 64, "x" * 64),
        ("7", "7"),
    ],
)
def test_clean_residential_name(name: str, cleaned: str) -> None:
    assert clean_residential_name(name) == cleaned


@pytest.mark.parametrize("name", ["", "   ", "\n\t", "x" * 65, "---", "!!! ...", "— –"])
def test_clean_residential_name_rejects(name: str) -> None:
    assert clean_residential_name(name) is None
