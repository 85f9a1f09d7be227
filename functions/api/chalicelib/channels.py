"""Channels: leads (steps 1, 1.1, 2) and the IVR's missed calls (step 1.2)."""

from __future__ import annotations

import re

from chalice.app import Blueprint

from chalicelib.http import Call, Reply, deps, route
from ventas.domain.models import Channel
from ventas.services import intake
from ventas.services.intake import IntakeResult
from ventas.web.errors import ApiError
from ventas.web.spec import IDEMPOTENCY_KEY
from ventas.web.views import Accepted

bp = Blueprint(__name__)


def _idempotency_key(call: Call) -> str | None:
    """The header, scoped to the calling system: two systems never share a key."""
    key = call.headers.get("idempotency-key")
    if key is None:
        return None
    if not re.fullmatch(IDEMPOTENCY_KEY, key):
        raise ApiError(
            422,
            "validation_error",
            "Los datos enviados no son válidos: revise los campos indicados.",
            [{"field": "Idempotency-Key", "message": "de 8 a 100 letras, dígitos o . _ : -", "type": "pattern"}],
        )
    assert call.principal is not None
    return f"{call.principal.subject}#{key}"


def _accepted(result: IntakeResult) -> Reply:
    url = f"/v1/requests/{result.request_id}"
    body = Accepted(request_id=result.request_id, status_url=url, created=result.created, joined=result.joined)
    return Reply(body, headers={"Location": url})


def _own_channel(call: Call, channel: Channel) -> None:
    """A channel is its credential: it hands over leads of its own channel only (403)."""
    assert call.principal is not None
    if call.principal.channel != channel.value:
        raise ApiError(
            403,
            "channel_mismatch",
            f"La clave de acceso corresponde al canal «{call.principal.channel}»: "
            f"no puede enviar datos del canal «{channel.value}».",
        )


@route(bp, "submitLead")
def submit_lead(call: Call) -> Reply:
    _own_channel(call, call.body.channel)
    return _accepted(intake.submit_lead(deps(), call.body, idempotency_key=_idempotency_key(call)))


@route(bp, "reportMissedCall")
def report_missed_call(call: Call) -> Reply:
    _own_channel(call, Channel.IVR)  # missed calls come from the IVR lines (step 1.2)
    return _accepted(intake.report_missed_call(deps(), call.body, idempotency_key=_idempotency_key(call)))
