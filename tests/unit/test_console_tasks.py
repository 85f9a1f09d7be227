"""The agent's task pages under `chalice.test.Client`: the call-back's "volver a llamar", the
location's coordinates as Bolivians write them, the request's timeline in Spanish, and the
supervisor's per-agent handling time."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.unit.api_harness import Api, api, mint
from tests.unit.conftest import FrozenClock
from tests.unit.test_call_again import call_back, la_paz
from tests.unit.test_console_pages import SECRET, console, get, hosted, post
from tests.unit.test_stages import CENTRO, new_request, sold_until_installation
from ventas.console import session
from ventas.container import Container
from ventas.domain.installation import InstallationCompleted
from ventas.domain.models import Lead
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.services import closing, events, installations, intake, stages, tasks
from ventas.services.stages import request_documents
from ventas.web.auth import Role

__all__ = ["api", "console", "hosted"]
ANA = mint("agente.ana", ["agent"], expires_in=3600)
BRUNO = mint("agente.bruno", ["agent"], expires_in=3600)
SOUTH = {"address": "Zona Sur, km 4", "latitude": -17.45, "longitude": -66.15}  # no network


def form(token: str, **fields: str) -> dict[str, str]:
    return {"csrf": session.csrf_token(session.ConsoleSettings(secret=SECRET), token), **fields}


def text(answer: Any) -> str:
    return html.unescape(answer.body.decode())


def field_error(page: str, name: str) -> str:
    return page.split(f'id="err-{name}">', 1)[1].split("<", 1)[0]


def test_the_call_back_form_offers_call_again_with_the_latest_time_beside_the_field(
    console: Api, deps: Container
) -> None:
    task = call_back(deps)
    raw = get(console, f"/console/tasks/{task.task_id}", ANA).body.decode()
    page = html.unescape(raw)
    assert 'value="later"' in page
    assert "Contestó y pidió que le llamen más tarde" in page
    field = raw.split('id="f-call_again_at"', 1)[1].split(">", 1)[0]  # as the browser parses it
    assert 'type="datetime-local"' in field
    assert 'min="2026-11-24T10:00"' in field  # now, in La Paz
    assert 'max="2026-11-24T17:45"' in field  # the deadline (18:00) less the margin
    assert 'aria-describedby="hint-call_again_at"' in field
    hint = page.split('id="hint-call_again_at">', 1)[1].split("<", 1)[0]
    assert "A más tardar el 24/11/2026 17:45" in hint
    assert "de lunes a sábado, de 08:30 a 18:30" in hint
    assert "Puede reprogramarla 3 veces más." in hint


def test_a_refused_call_again_time_is_explained_beside_the_field_and_changes_nothing(
    console: Api, deps: Container
) -> None:
    task = call_back(deps)
    path = f"/console/tasks/{task.task_id}/complete"
    late = post(console, path, form(ANA, reached="later", call_again_at="2026-11-24T19:00"), ANA)
    assert late.status_code == 422
    page = text(late)
    assert field_error(page, "call_again_at").startswith("La hora más tardía permitida es el 24/11/2026 17:45")
    field = page.split('id="f-call_again_at"', 1)[1].split(">", 1)[0]
    assert 'aria-invalid="true"' in field
    assert 'aria-describedby="hint-call_again_at err-call_again_at"' in field
    assert 'value="2026-11-24T19:00"' in field  # what the agent typed stays
    assert 'value="later" id="r-later" checked' in page
    empty = post(console, path, form(ANA, reached="later", call_again_at=""), ANA)
    assert field_error(text(empty), "call_again_at") == (
        "Indique la fecha y la hora (hora de La Paz) en que el cliente pidió que lo llamen."
    )
    garbage = post(console, path, form(ANA, reached="later", call_again_at="mañana"), ANA)
    assert field_error(text(garbage), "call_again_at").startswith("Indique la fecha y la hora")
    stored = deps.tasks.get(task.task_id)
    assert (stored.status, stored.due_at, stored.call_agains) == (TaskStatus.OPEN, task.due_at, 0)


def test_a_call_again_sends_the_task_back_reserved_for_the_agent(console: Api, deps: Container) -> None:
    task = call_back(deps)
    assert post(console, f"/console/tasks/{task.task_id}/claim", form(ANA), ANA).status_code == 303
    done = post(
        console,
        f"/console/tasks/{task.task_id}/complete",
        form(ANA, reached="later", call_again_at="2026-11-24T15:30"),
        ANA,
    )
    assert done.status_code == 200
    page = text(done)
    assert "La llamada quedó reprogramada." in page
    assert "vuelve a la bandeja para el 24/11/2026 15:30, reservada para usted hasta el 24/11/2026 15:45" in page
    stored = deps.tasks.get(task.task_id)
    assert (stored.status, stored.due_at, stored.reserved_for) == (TaskStatus.OPEN, la_paz(15, 30), "agente.ana")

    mine = text(get(console, "/console/inbox", ANA))
    row = mine.split(f'data-task="{task.task_id}"', 1)[1].split("</tr>", 1)[0]
    assert "24/11/2026 15:30" in row
    assert "volver a llamar" in row
    assert "reservada para usted hasta el 24/11/2026 15:45" in row
    theirs = text(get(console, "/console/inbox", BRUNO))
    assert "reservada para agente.ana hasta el 24/11/2026 15:45" in theirs
    other = text(get(console, f"/console/tasks/{task.task_id}", BRUNO))
    assert 'id="reserved"' in other
    assert 'id="claim"' not in other
    assert 'id="task-form"' not in other
    refused = post(console, f"/console/tasks/{task.task_id}/claim", form(BRUNO), BRUNO)
    assert refused.status_code == 409
    assert "agente.ana acordó volver a llamar al cliente el 24/11/2026 15:30" in text(refused)
    history = text(get(console, f"/console/requests/{task.request_id}", ANA))
    assert "Volver a llamar acordado" in history


def test_when_no_call_again_is_left_the_form_says_so(console: Api, deps: Container) -> None:
    task = call_back(deps)
    for hour in (11, 12, 13):
        tasks.call_again(deps, task.task_id, "agente.ana", {"call_again_at": la_paz(hour).isoformat()})
    page = text(get(console, f"/console/tasks/{task.task_id}", ANA))
    assert 'value="later"' not in page
    assert "ya se reprogramó el máximo de veces" in page
    assert "el 24/11/2026 13:00, a pedido del cliente (3 veces)" in page


def test_the_supervisor_sees_handling_time_from_the_claim(console: Api, deps: Container, clock: FrozenClock) -> None:
    lead = Lead(channel="web", channel_lead_id="w-h", phone="+59171234577")
    request_id = intake.submit_lead(deps, lead).request_id
    deps.workflow.wait("tok-h")  # type: ignore[attr-defined]
    task = tasks.open_task(deps, TaskKind.IDENTIFICATION, request_id, "tok-h", 8 * 3600)
    clock.advance(minutes=90)  # in the inbox, nobody on it
    tasks.claim(deps, task.task_id, "agente.ana")
    clock.advance(minutes=6, seconds=30)
    tasks.complete(deps, task.task_id, "agente.ana", {"ci": "4567890 CB", "service_code": "TV_CABLE"})
    page = text(get(console, "/console/supervisor", mint("supervisora.eva", ["supervisor"])))
    row = page.split('data-agent="agente.ana"', 1)[1].split("</tr>", 1)[0]
    assert '<td class="handling">6,5' in row  # not 96,5: the 90 minutes before the claim are not hers
    assert "desde que tomó la tarea" in page


def test_the_request_timeline_reads_in_spanish_with_its_details(console: Api, deps: Container) -> None:
    lead = Lead(channel="web", channel_lead_id="w-tl", phone="+59171234578", service_code="INTERNET_FTTH_100")
    request_id = intake.submit_lead(deps, lead).request_id
    task = call_back(deps, "tok-tl", n=9)
    tasks.call_again(deps, task.task_id, "agente.ana", {"call_again_at": la_paz(15, 30).isoformat()})
    from ventas.domain.models import HistoryEntry, Step

    deps.requests.append_history(
        request_id,
        HistoryEntry(
            at=deps.clock.now(),
            step=Step.DOCUMENTS,
            event="document_received",
            detail={"requirement": "CI_ANVERSO", "missing": ["CI_REVERSO", "FACTURA_LUZ"], "media_id": "m-1"},
        ),
    )
    page = text(get(console, f"/console/requests/{request_id}", ANA))
    rows = page.split('id="timeline"', 1)[1].split("</table>", 1)[0].split("<tr data-event=")[1:]
    cells = {row.split('"', 2)[1]: row.split("<td>")[3:5] for row in rows}
    assert cells["lead_received"][0].startswith("Solicitud recibida del canal (pasos 1 y 2)")
    assert "canal: Página web; llamada perdida: no" in cells["lead_received"][1]
    assert cells["document_received"][0].startswith("Requisito recibido por WhatsApp (paso 9)")
    assert (
        "requisito: Fotografía del carnet de identidad (anverso); "
        "faltan: Fotografía del carnet de identidad (reverso), Factura de luz o agua del domicilio"
    ) in cells["document_received"][1]
    assert "m-1" not in cells["document_received"][1]  # an internal ref, not for people
    readable_rows(page)  # no code in what people read: every event has its label, every detail its words
    other = text(get(console, f"/console/requests/{task.request_id}", ANA))
    assert "Volver a llamar acordado con el cliente (paso 1.2)" in other
    assert "volver a llamar el: 24/11/2026 15:30; reprogramación n.º: 1; por: agente.ana" in other
    assert "tarea: Devolver llamada" in other
    api_history = console.call("GET", f"/v1/requests/{request_id}", Role.AGENT).body
    assert "Solicitud recibida del canal (pasos 1 y 2)" in api_history.decode()


def test_a_task_page_explains_why_the_task_was_opened(console: Api, deps: Container) -> None:
    lead = Lead(channel="web", channel_lead_id="w-ctx", phone="+59171234579")
    request_id = intake.submit_lead(deps, lead).request_id
    deps.workflow.wait("tok-ctx")  # type: ignore[attr-defined]
    task = tasks.open_task(
        deps, TaskKind.MANUAL_REVIEW, request_id, "tok-ctx", 3600, {"stage": "eligibility", "system": "NAF"}
    )
    page = text(get(console, f"/console/tasks/{task.task_id}", ANA))
    assert "<dt>Sistema que no respondió</dt><dd>NAF</dd>" in page
    assert "<dt>Etapa</dt><dd>revisión de impedimentos (paso 4)</dd>" in page
    assert "<dt>stage</dt>" not in page


def test_a_call_again_form_sent_twice_reschedules_once(console: Api, deps: Container) -> None:
    task = call_back(deps)
    path = f"/console/tasks/{task.task_id}/complete"
    for _ in range(2):  # a double click, or the browser's resubmit
        answer = post(console, path, form(ANA, reached="later", call_again_at="2026-11-24T15:30"), ANA)
        assert answer.status_code == 200
        assert "La llamada quedó reprogramada." in text(answer)
    assert deps.tasks.get(task.task_id).call_agains == 1
    page = text(get(console, f"/console/requests/{task.request_id}", ANA))
    assert page.count("Volver a llamar acordado con el cliente") == 1
    assert "reprogramación n.º: 2" not in page


RAW = re.compile(r"\bNone\b|\bTrue\b|\bFalse\b|[{}\[\]]|\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b|\b[a-z]+_[a-z_]+\b")


def readable_rows(page: str) -> dict[str, list[tuple[str, str]]]:
    """Each timeline row's (label, details) by event code; asserts no raw value reaches people:
    no None, no booleans, no dict or list, no CODE_LIKE_THIS or code_like_this."""
    rows = page.split('id="timeline"', 1)[1].split("</table>", 1)[0].split("<tr data-event=")[1:]
    found: dict[str, list[tuple[str, str]]] = {}
    for row in rows:
        label, detail = (cell.split("</td>", 1)[0] for cell in row.split("<td>")[3:5])
        assert not RAW.search(label), label
        assert not RAW.search(detail), detail
        found.setdefault(row.split('"', 2)[1], []).append((label, detail))
    return found


def test_timeline_details_name_reasons_and_requirements_in_spanish(console: Api, deps: Container) -> None:
    """A GIS rejection's reason (stored as {code, label}), a sale's end with no reason, a
    document nobody could file yet: Spanish words, nothing raw."""
    out = new_request(
        deps,
        channel_lead_id="w-out",
        phone="71234569",
        ci="6789012 CB",
        service_code="INTERNET_FTTH_100",
        location=SOUTH,
    )
    stages.check_coverage(deps, out)
    closing.reject(deps, out)
    rejected = readable_rows(text(get(console, f"/console/requests/{out}", ANA)))
    assert "motivo: No existe capacidad técnica en su domicilio" in rejected["coverage_checked"][0][1]
    assert "resultado: sin capacidad técnica" in rejected["coverage_checked"][0][1]

    sold = sold_until_installation(deps)
    order_id = deps.requests.get(sold).order_id
    assert order_id is not None
    event = InstallationCompleted(kind="completed", event_id="opr-tl", installed_at=deps.clock.now())
    installations.report_installation(deps, order_id, event)
    events.receive_document(deps, "+59171234567", "media-x", "image/png", b"x", deps.clock.now())  # after: noted
    qc = tasks.open_task(deps, TaskKind.QC_CALL, sold, deps.workflow.wait("tok-qc"), 3600)  # type: ignore[attr-defined]
    tasks.complete(deps, qc.task_id, "agente.ana", {"satisfaction": 5, "comment": "Todo bien"})
    rows = readable_rows(text(get(console, f"/console/requests/{sold}", ANA)))
    assert rows["request_sold"] == [("Venta concluida (paso 13.1)", "")]

    waiting = at_documents(deps)
    events.receive_document(deps, "+59171234568", "media-u", "image/png", b"x", deps.clock.now())  # no caption
    rows = readable_rows(text(get(console, f"/console/requests/{waiting}", ANA)))
    assert "requisito: Documento sin clasificar (un agente lo revisa)" in rows["document_received"][-1][1]


def at_documents(deps: Container) -> str:
    request_id = new_request(
        deps, channel_lead_id="w-docs", phone="71234568", ci="5678901 CB", service_code="TV_CABLE", location=CENTRO
    )
    request_documents(deps, request_id, deps.workflow.wait("tok-docs"), reminder=False)  # type: ignore[attr-defined]
    return request_id
