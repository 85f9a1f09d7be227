"""A customer's identity as outside systems write it: Bolivian phones and CI numbers.

Both normalisers return one canonical form, the form that is stored and hashed
(`Container.customer_key`), so the same person written two ways is one customer.

Phones (source: libphonenumber's metadata for Bolivia, package `phonenumbers`): national
numbers have 8 digits, mobiles start with 6 or 7, landlines are an area digit (2 La Paz,
Oruro, Potosí; 3 Santa Cruz, Beni, Pando; 4 Cochabamba, Chuquisaca, Tarija) and 7 digits; the
international prefix is `00` and the trunk prefix `0`. Accepted: `71234567`, `+591 71234567`,
`0059171234567`, `071234567`, `591 71234567`, spaces, dashes, dots and parentheses
(`+591 (4) 4200400`). Canonical: E.164 (`+59144200400`), only for a number valid in Bolivia
and of a fixed-line or mobile kind. A 7-digit local landline lacks its area digit: refused,
unless the channel declares its area (`Settings.phone_areas`, e.g. the IVR lines are in
Cochabamba: area 4).

CI numbers (carnet de identidad): 5 to 10 digits, an optional duplicate complement (a digit and
a letter, `-1A`), an optional department extension before or after the number, joined or with a
space or dash, in its short or long form (`LP`/`LPZ`, `CB`/`CBBA`, `SC`/`SCZ`, `OR`/`ORU`,
`PT`/`PTS`, `CH`/`CHQ`, `TJ`/`TJA`, `BE`/`BN`, `PD`/`PA`), any case, dots ignored (`L.P.`); a
foreigner's card is `E-` before the number. Canonical: `[E-]number[-complement][ EXT]`, e.g.
`1234567 SC`, `4567890-1A CB`, `E-1234567`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, ValidationInfo, WithJsonSchema

if TYPE_CHECKING:
    from types import ModuleType

# --- phones ---------------------------------------------------------------------------------------

REGION = "BO"
COUNTRY_CODE = 591
AREA_DIGITS = frozenset({"2", "3", "4"})
# Validation context key: channel value -> its area digit (see `Settings.phone_areas`).
PHONE_AREAS = "phone_areas"
PHONE_EXAMPLE = "+59171234567"
E164_PATTERN = r"^\+591[2-7][0-9]{7}$"
_PHONE_TEXT = re.compile(r"\+?[ (]*[0-9][0-9 ().\-]{5,29}")
_LOCAL_DIGITS = 7

INVALID_PHONE = "número de teléfono no válido (ejemplo: 71234567 o +591 4 4250000)"
NOT_BOLIVIAN = "solo se admiten teléfonos de Bolivia (+591)"
MISSING_AREA = (
    "al teléfono fijo le falta el código de área: indique los 8 dígitos, con el código de su departamento "
    "delante (2 La Paz, Oruro y Potosí; 3 Santa Cruz, Beni y Pando; 4 Cochabamba, Chuquisaca y Tarija), "
    "por ejemplo 4 4200400"
)
NOT_FIXED_OR_MOBILE = "solo se admiten teléfonos fijos o celulares"
INCOMPLETE_MOBILE = "al número de celular le falta un dígito: un celular tiene 8 dígitos (ejemplo: 71234567)"


@functools.cache
def _phonenumbers() -> ModuleType:
    """Imported on first use: handlers that never read a phone do not pay for loading it."""
    import phonenumbers

    return phonenumbers


def normalise_phone(value: str, area: str | None = None) -> str:
    """A Bolivian phone in any usual writing -> E.164 (`+59171234567`).

    `area` (2, 3 or 4) completes a 7-digit local landline, as a channel in one department
    declares. Raises ValueError with a Spanish message: not a phone, not Bolivian, a local
    landline without its area digit, or a kind other than fixed line or mobile.
    """
    pn = _phonenumbers()
    text = value.strip()
    if not _PHONE_TEXT.fullmatch(text):
        raise ValueError(INVALID_PHONE)
    try:
        number = pn.parse(text, REGION)
    except pn.NumberParseException:
        raise ValueError(INVALID_PHONE) from None
    if number.country_code != COUNTRY_CODE:
        raise ValueError(NOT_BOLIVIAN)
    national = str(number.national_number)
    if len(national) == _LOCAL_DIGITS and not pn.is_valid_number(number):
        if national.startswith("7"):  # no local landline starts with 7 (BO metadata): a short mobile
            raise ValueError(INCOMPLETE_MOBILE)
        if area is None:
            raise ValueError(MISSING_AREA)
        if area not in AREA_DIGITS:
            raise ValueError(f"área de teléfono no válida: {area!r}")  # a configuration error
        number = pn.parse(f"+{COUNTRY_CODE}{area}{national}", REGION)
    if not pn.is_valid_number_for_region(number, REGION):
        raise ValueError(INVALID_PHONE)
    kind = pn.number_type(number)
    if kind not in (pn.PhoneNumberType.FIXED_LINE, pn.PhoneNumberType.MOBILE, pn.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        raise ValueError(NOT_FIXED_OR_MOBILE)
    return str(pn.format_number(number, pn.PhoneNumberFormat.E164))


def _areas(info: ValidationInfo) -> Mapping[str, str]:
    context = info.context if isinstance(info.context, Mapping) else {}
    areas = context.get(PHONE_AREAS, {})
    return areas if isinstance(areas, Mapping) else {}


def _validate_phone(value: str, info: ValidationInfo) -> str:
    """A model's phone: the area of the model's own `channel` field, if the context gives one."""
    data: Any = getattr(info, "data", None) or {}
    channel = data.get("channel") if isinstance(data, Mapping) else None
    return normalise_phone(value, _areas(info).get(str(channel)) if channel is not None else None)


def _validate_ivr_phone(value: str, info: ValidationInfo) -> str:
    return normalise_phone(value, _areas(info).get("ivr"))


_PHONE_IN = {
    "type": "string",
    "format": "phone",
    "pattern": "^" + _PHONE_TEXT.pattern + "$",
    "description": (
        "Bolivian phone, stored in E.164. Accepted: 71234567, +591 71234567, 0059171234567, 071234567, "
        "+591 (4) 4200400, with spaces, dashes, dots or parentheses; a landline needs its area digit "
        "(8 digits) unless the channel declares its area."
    ),
    "examples": ["+59171234567", "71234567", "+591 4 4200400", "0059170712345"],
}
_PHONE_OUT = {
    "type": "string",
    "format": "phone",
    "pattern": E164_PATTERN,
    "description": "E.164",
    "examples": [PHONE_EXAMPLE],
}
_PHONE_DOC = (WithJsonSchema(_PHONE_IN, mode="validation"), WithJsonSchema(_PHONE_OUT, mode="serialization"))

Phone = Annotated[str, AfterValidator(_validate_phone), *_PHONE_DOC]
IvrPhone = Annotated[str, AfterValidator(_validate_ivr_phone), *_PHONE_DOC]  # a caller on the IVR lines (1.2)


# --- CI -------------------------------------------------------------------------------------------

# Department extension as written -> canonical short form.
DEPARTMENTS: dict[str, str] = {
    "LP": "LP",
    "LPZ": "LP",
    "CB": "CB",
    "CBBA": "CB",
    "SC": "SC",
    "SCZ": "SC",
    "OR": "OR",
    "ORU": "OR",
    "PT": "PT",
    "PTS": "PT",
    "CH": "CH",
    "CHQ": "CH",
    "TJ": "TJ",
    "TJA": "TJ",
    "BE": "BE",
    "BN": "BE",
    "PD": "PD",
    "PA": "PD",
}
CANONICAL_DEPARTMENTS = ("LP", "CB", "SC", "OR", "PT", "CH", "TJ", "BE", "PD")
_DEPT = "|".join(sorted(DEPARTMENTS, key=len, reverse=True))
_CI_WRITTEN = re.compile(
    rf"^(?:(?P<pre>{_DEPT})[ -]?)?(?P<foreign>E[ -]?)?(?P<number>[0-9]{{5,10}})"
    rf"(?:[ -](?P<complement>[0-9][A-Z]))?(?:[ -]?(?P<post>{_DEPT}))?(?:[ -](?P<complement_after>[0-9][A-Z]))?$"
)
# The stored form; `mask_ci` reads it.
CI_PATTERN = re.compile(
    r"^(?P<foreign>E-)?(?P<number>[0-9]{5,10})(?:-(?P<complement>[0-9][A-Z]))?"
    rf"(?: (?P<ext>{'|'.join(CANONICAL_DEPARTMENTS)}))?$"
)
CI_EXAMPLE = "4567890 CB"
INVALID_CI = "carnet de identidad no válido (ejemplo: 4567890 CB, 4567890-1A LP o E-1234567)"


def normalise_ci(value: str) -> str:
    """A CI as any Bolivian system writes it -> `[E-]number[-complement][ EXT]`.

    Raises ValueError (Spanish) for anything else, for a CI carrying two extensions or two
    complements, and for an all-zero number (a placeholder, e.g. `0000000`).
    """
    cleaned = " ".join(value.upper().replace(".", "").split())
    cleaned = re.sub(r" ?- ?", "-", cleaned)
    match = _CI_WRITTEN.match(cleaned)
    if not match:
        raise ValueError(INVALID_CI)
    pre, post = match.group("pre"), match.group("post")
    complement, after = match.group("complement"), match.group("complement_after")
    if (pre and post) or (complement and after):
        raise ValueError(INVALID_CI)
    if not match.group("number").strip("0"):
        raise ValueError(INVALID_CI)  # 0000000: a placeholder a form or an agent typed, nobody's CI
    ext = DEPARTMENTS[pre or post] if (pre or post) else None
    complement = complement or after
    return (
        ("E-" if match.group("foreign") else "")
        + match.group("number")
        + (f"-{complement}" if complement else "")
        + (f" {ext}" if ext else "")
    )


def _validate_ci(value: str) -> str:
    return normalise_ci(value)


_CI_IN = {
    "type": "string",
    "format": "bo-ci",
    "pattern": r"^[A-Za-z0-9 .\-]{5,30}$",
    "description": (
        "Bolivian CI: digits, optional complement (-1A), department before or after the number (LP, CB/CBBA, "
        "SC/SCZ, OR, PT, CH, TJ, BE/BN, PD/PA), joined or with a space or dash, any case; foreigners E-1234567. "
        "Stored as [E-]number[-complement][ EXT]."
    ),
    "examples": [CI_EXAMPLE, "SC 1234567", "1234567-CB", "7894561-1a lp", "E-1234567"],
}
_CI_OUT = {"type": "string", "format": "bo-ci", "pattern": CI_PATTERN.pattern, "examples": [CI_EXAMPLE]}

_CI_DOC = (WithJsonSchema(_CI_IN, mode="validation"), WithJsonSchema(_CI_OUT, mode="serialization"))

CI = Annotated[str, AfterValidator(_validate_ci), *_CI_DOC]
