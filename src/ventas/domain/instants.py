"""Times and days that come from outside (API bodies, query parameters, console forms).

`Instant`: an RFC 3339 date-time string with its offset (`2026-11-24T15:30:00-04:00`; seconds
may be left out, as a `datetime-local` input sends them): never a number (pydantic's lax mode
reads `123` or `"1700000000"` as a Unix timestamp), never without an offset, and within the
years the product computes with (`EARLIEST` to `LATEST`), so that converting it to UTC or La Paz
time, or adding the procedure's waits to it, cannot overflow (`9999-12-31T23:59:59-04:00` is
year 10000 in UTC). `Day`: a `YYYY-MM-DD` string within the same years. Errors are pydantic
errors with Spanish messages (`ventas.domain.errors.SPANISH_MESSAGES`): `datetime_type`,
`datetime_parsing`, `timezone_aware`, `date_type`, `date_parsing`, and `datetime_out_of_range` /
`date_out_of_range`. Pure: no AWS.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError, PydanticKnownError

from ventas.domain.errors import spanish_message

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # excluded
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_RANGE = f"indique una fecha entre los años {EARLIEST.year} y {LATEST.year - 1}"


def _date_time_text(value: object) -> object:
    """Text shaped as a date-time goes on to pydantic; a datetime built in code as it is."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticKnownError("datetime_type")
    if not _DATE_TIME.fullmatch(value.strip()):
        raise PydanticKnownError("datetime_parsing", {"error": "not an RFC 3339 date-time"})
    return value.strip()


def _within_years(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:  # past year 9999 or before year 1 once in UTC
        raise PydanticCustomError("datetime_out_of_range", _RANGE) from None
    if not EARLIEST <= utc < LATEST:
        raise PydanticCustomError("datetime_out_of_range", _RANGE)
    return value


def _day_text(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise PydanticKnownError("date_type")
    if not _DAY.fullmatch(value.strip()):
        raise PydanticKnownError("date_parsing", {"error": "not YYYY-MM-DD"})
    return value.strip()


def _day_within_years(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise PydanticCustomError("date_out_of_range", _RANGE)
    return value


Instant = Annotated[
    AwareDatetime,
    BeforeValidator(_date_time_text),
    AfterValidator(_within_years),
    Field(
        description=f"RFC 3339 date-time with its offset, e.g. 2026-11-24T15:30:00-04:00 "
        f"(years {EARLIEST.year} to {LATEST.year - 1}); not a number"
    ),
]
Day = Annotated[
    date,
    BeforeValidator(_day_text),
    AfterValidator(_day_within_years),
    Field(description=f"YYYY-MM-DD (years {EARLIEST.year} to {LATEST.year - 1})"),
]


@functools.cache
def _day_adapter() -> TypeAdapter[date]:
    return TypeAdapter(Day)


def parse_day(text: str) -> date:
    """A `Day` typed in a console form -> date. Raises ValueError with a Spanish message."""
    try:
        return _day_adapter().validate_python(text)
    except ValidationError as exc:
        raise ValueError(spanish_message(exc.errors()[0])) from None
