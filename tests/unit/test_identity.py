"""Phones and CI numbers as outside systems write them: one canonical form each (issue 8, kinds 4, 5)."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from ventas.config import parse_phone_areas
from ventas.domain.identity import (
    CANONICAL_DEPARTMENTS,
    CI_PATTERN,
    DEPARTMENTS,
    MISSING_AREA,
    normalise_ci,
    normalise_phone,
)
from ventas.domain.models import Lead, MissedCall

# --- phones ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("0059170712345", "+59170712345"),  # case 008: international prefix 00
        ("070712345", "+59170712345"),  # case 008: trunk prefix 0
        ("44200400", "+59144200400"),  # case 007: the right forms
        ("+591 4 4200400", "+59144200400"),
        ("+591 (4) 4200400", "+59144200400"),
        ("71234567", "+59171234567"),
        ("591 71234567", "+59171234567"),
        ("+591-712-34567", "+59171234567"),
        ("712.345.67", "+59171234567"),
        ("(2) 212-3456", "+59122123456"),  # La Paz landline
        ("00 591 3 3123456", "+59133123456"),  # Santa Cruz landline
        ("0 4 4250000", "+59144250000"),  # trunk 0 before a landline
        ("60012345", "+59160012345"),  # mobile starting with 6
    ],
)
def test_phones_in_every_usual_writing_become_e164(raw: str, e164: str) -> None:
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("4200400", MISSING_AREA),  # case 007: 7 digits, no area digit
        ("+5914200400", MISSING_AREA),
        ("422 0400", MISSING_AREA),
        ("+54 11 4444 5555", "solo se admiten teléfonos de Bolivia"),
        ("800100000", "solo se admiten teléfonos fijos o celulares"),  # toll free
        ("1-800-FLOWERS", "número de teléfono no válido"),
        ("71234567 ext 3", "número de teléfono no válido"),
        ("7123456789012", "número de teléfono no válido"),
        ("", "número de teléfono no válido"),
        ("+59151234567", "número de teléfono no válido"),  # no such range
        ("7123456", "al número de celular le falta un dígito"),  # a mobile one digit short
        ("+591 712 3456", "al número de celular le falta un dígito"),
    ],
)
def test_bad_phones_are_refused_in_spanish(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.split(":", maxsplit=1)[0]):
        normalise_phone(raw)


def test_a_local_landline_takes_the_channels_declared_area() -> None:
    assert normalise_phone("4200400", area="4") == "+59144200400"
    assert normalise_phone("2123456", area="2") == "+59122123456"
    assert normalise_phone("71234567", area="4") == "+59171234567"  # a full number keeps its own
    with pytest.raises(ValueError, match="celular"):
        normalise_phone("7123456", area="4")  # a short mobile is not completed into a landline
    ivr = {"phone_areas": parse_phone_areas(None)}
    call = {"caller": "4200400", "line": "4200400", "called_at": "2026-11-30T10:15:00-04:00"}
    assert MissedCall.model_validate(call, context=ivr).caller == "+59144200400"  # case 007, missed call
    assert Lead.model_validate({"channel": "ivr", "channel_lead_id": "i", "phone": "4200400"}, context=ivr).phone == (
        "+59144200400"
    )
    with pytest.raises(ValidationError, match="código de área"):  # the web channel declares no area
        Lead.model_validate({"channel": "web", "channel_lead_id": "w", "phone": "4200400"}, context=ivr)


def test_phone_areas_are_configured_per_channel() -> None:
    assert parse_phone_areas(None) == {"ivr": "4"}
    assert parse_phone_areas("") == {}
    assert parse_phone_areas("ivr=4, web=3") == {"ivr": "4", "web": "3"}
    with pytest.raises(ValueError, match="VD_PHONE_AREAS"):
        parse_phone_areas("ivr=9")


def _valid(national: str) -> bool:
    try:
        return normalise_phone("+591" + national) == "+591" + national
    except ValueError:
        return False


# Bolivian numbers libphonenumber calls valid: mobiles 6/7 + 7 digits, landlines area 2-4 + 7.
NATIONAL = st.one_of(
    st.from_regex(r"\A[67][0-9]{7}\Z"),
    st.from_regex(r"\A[234][2-7][0-9]{6}\Z"),
).filter(_valid)


def _spaced(digits: str, separator: str, size: int) -> str:
    return separator.join(digits[i : i + size] for i in range(0, len(digits), size))


@given(
    NATIONAL,
    st.sampled_from(["", "+591", "+591 ", "00591", "00 591 ", "591", "0"]),
    st.sampled_from(["", " ", "-", "."]),
    st.integers(min_value=2, max_value=4),
)
@example("44200400", "+591 ", " ", 4)
def test_every_writing_of_a_valid_number_is_its_e164(national: str, prefix: str, sep: str, size: int) -> None:
    canonical = "+591" + national
    assert normalise_phone(prefix + _spaced(national, sep, size)) == canonical
    assert normalise_phone(canonical) == canonical  # every canonical form is accepted


@given(st.text(alphabet="0123456789 +-.()", max_size=20))
@example("0059170712345")
def test_any_accepted_phone_round_trips_to_itself(raw: str) -> None:
    try:
        canonical = normalise_phone(raw)
    except ValueError:
        return
    assert normalise_phone(canonical) == canonical
    assert canonical.startswith("+591")
    assert len(canonical) == 12


# --- CI -------------------------------------------------------------------------------------------

CASE_009 = [
    ("SC 1234567", "1234567 SC"),
    ("SC1234567", "1234567 SC"),
    ("1234567 BN", "1234567 BE"),
    ("1234567 PA", "1234567 PD"),
    ("1234567 CBBA", "1234567 CB"),
    ("1234567-CB", "1234567 CB"),
]


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        *CASE_009,
        ("1234567SC", "1234567 SC"),
        ("1234567 sc", "1234567 SC"),
        ("scz-1234567", "1234567 SC"),
        ("LP 4567890-1A", "4567890-1A LP"),
        ("4567890-1a lp", "4567890-1A LP"),
        ("4567890 LP-1A", "4567890-1A LP"),
        ("4567890 - 1A - CB", "4567890-1A CB"),
        ("4.567.890 L.P.", "4567890 LP"),
        ("E-1234567", "E-1234567"),
        ("e 1234567 cbba", "E-1234567 CB"),
        ("123456", "123456"),
        ("7654321 Tj", "7654321 TJ"),
    ],
)
def test_ci_in_every_form_real_systems_use_is_one_canonical_form(raw: str, canonical: str) -> None:
    assert normalise_ci(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "12",
        "4567890 XX",
        "4567890-AA CB",
        "SC 1234567 LP",
        "4567890-1A LP-1B",
        "12345671A",
        "E-",
        "C.I.",
        "0000000",
        "00000 LP",
        "E-0000000",
        "0000000-1A CB",
    ],
)
def test_bad_ci_is_refused_in_spanish(raw: str) -> None:
    with pytest.raises(ValueError, match="carnet de identidad no válido"):
        normalise_ci(raw)


CI_NUMBER = st.from_regex(r"\A[0-9]{5,10}\Z").filter(lambda number: number.strip("0") != "")  # 0000000 is refused
CANONICAL_CI = st.builds(
    lambda foreign, number, complement, ext: (
        ("E-" if foreign else "") + number + (f"-{complement}" if complement else "") + (f" {ext}" if ext else "")
    ),
    st.booleans(),
    CI_NUMBER,
    st.none() | st.from_regex(r"\A[0-9][A-Z]\Z"),
    st.none() | st.sampled_from(CANONICAL_DEPARTMENTS),
)


@given(CANONICAL_CI)
def test_every_canonical_ci_is_accepted_as_itself(ci: str) -> None:
    assert CI_PATTERN.fullmatch(ci)
    assert normalise_ci(ci) == ci


@given(
    CI_NUMBER,
    st.none() | st.from_regex(r"\A[0-9][A-Za-z]\Z"),
    st.none() | st.sampled_from(sorted(DEPARTMENTS)),
    st.booleans(),
    st.sampled_from(["", " ", "-"]),
    st.booleans(),
)
def test_every_writing_of_a_ci_names_one_customer(
    number: str, complement: str | None, written: str | None, before: bool, sep: str, lower: bool
) -> None:
    body = number + (f"-{complement}" if complement else "")
    raw = body if written is None else (f"{written}{sep}{body}" if before else f"{body}{sep}{written}")
    raw = raw.lower() if lower else raw
    expected = body.upper() + (f" {DEPARTMENTS[written]}" if written else "")
    assert normalise_ci(raw) == expected


@given(st.text(alphabet="0123456789ABCELPSZNORTHJDab -.", max_size=20))
@example("SC 1234567")
def test_any_accepted_ci_round_trips_to_itself(raw: str) -> None:
    try:
        canonical = normalise_ci(raw)
    except ValueError:
        return
    assert CI_PATTERN.fullmatch(canonical)
    assert normalise_ci(canonical) == canonical
