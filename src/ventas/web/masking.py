"""CI and phone for roles that do not call customers: enough to tell two apart, not to use them."""

from __future__ import annotations

from ventas.domain.identity import CI_PATTERN


def mask_phone(phone: str | None) -> str | None:
    """+59171234567 -> +591******67."""
    if phone is None:
        return None
    head = 4 if phone.startswith("+591") else 1
    return phone[:head] + "*" * max(0, len(phone) - head - 2) + phone[-2:]


def mask_ci(ci: str | None) -> str | None:
    """4567890-1A CB -> *****90 CB: the last two digits and the department only."""
    if ci is None:
        return None
    match = CI_PATTERN.match(ci)
    if match is None:
        return "*" * len(ci)
    foreign, number, ext = match.group("foreign", "number", "ext")
    return (foreign or "") + "*" * (len(number) - 2) + number[-2:] + (f" {ext}" if ext else "")


def personal(value: str | None, kind: str, visible: bool) -> str | None:
    if visible:
        return value
    return mask_phone(value) if kind == "phone" else mask_ci(value)
