"""Step 9's review task offers, and accepts, only a requirement still missing.

A caption-less document opens a review task; if the FACTURA_LUZ then arrives with its caption,
filing the first one under FACTURA_LUZ too would put the invoice twice in requisitos.pdf and
leave the CI's back side missing. The page lists what is missing when it is shown, and the
server refuses (409) a requirement already received: nothing changes.
"""

from __future__ import annotations

import html

from tests.unit.api_harness import Api, api, body, mint
from tests.unit.test_api_whatsapp import delivery, document, post, value
from tests.unit.test_api_whatsapp_signals import at_step_9, open_tasks, workflow
from tests.unit.test_console_pages import console, get, hosted
from tests.unit.test_console_pages import post as post_form
from tests.unit.test_console_tasks import field_error, form
from ventas.domain.catalogue import UNCLASSIFIED
from ventas.domain.tasks import HumanTask, TaskKind, TaskStatus
from ventas.web.auth import Role

__all__ = ["api", "console", "hosted"]
SENDER = "59171230003"
ANA = mint("agente.ana", ["agent"], expires_in=3600)


def unlabelled_then_invoice(api: Api) -> tuple[str, HumanTask]:
    """The CI's front side with its caption, then a document without one, then the invoice."""
    request_id = at_step_9(api)
    front = document("media-a", 1796048100, "Foto carnet adelante", sender=SENDER)
    unlabelled = document("media-c", 1796048101, None, sender=SENDER)
    post(api, delivery(value([front, unlabelled])))
    post(api, delivery(value([document("media-d", 1796048102, "factura de luz", sender=SENDER)])))
    (task,) = open_tasks(api, request_id, TaskKind.DOCUMENT_REVIEW)
    assert task.context["missing"] == "CI_REVERSO,FACTURA_LUZ"  # as it was when the task opened
    return request_id, task


def filed(api: Api, request_id: str) -> list[tuple[str, str]]:
    return [(d.requirement, d.media_id) for d in api.deps.requests.get(request_id).documents]


def test_the_server_refuses_a_requirement_already_received_and_changes_nothing(api: Api) -> None:
    request_id, task = unlabelled_then_invoice(api)
    before = filed(api, request_id)
    assert before == [("CI_ANVERSO", "media-a"), (UNCLASSIFIED, "media-c"), ("FACTURA_LUZ", "media-d")]
    path = f"/v1/tasks/{task.task_id}"
    again = api.call("POST", path + "/complete", Role.AGENT, body={"requirement": "FACTURA_LUZ"})
    assert again.status_code == 409
    error = body(again)["error"]
    assert error["code"] == "requirement_already_received"
    assert error["message"] == (
        "Ya se recibió «Factura de luz o agua del domicilio» para esta solicitud; elija un requisito que "
        "falte: «Fotografía del carnet de identidad (reverso)»."
    )
    assert [(f["field"], f["type"]) for f in error["fields"]] == [("requirement", "requirement_already_received")]
    assert filed(api, request_id) == before
    assert api.deps.tasks.get(task.task_id).status == TaskStatus.OPEN
    assert "document_classified" not in [h.event for h in api.deps.requests.history(request_id)]

    done = api.call("POST", path + "/complete", Role.AGENT, body={"requirement": "CI_REVERSO"})
    assert done.status_code == 200
    assert filed(api, request_id)[1] == ("CI_REVERSO", "media-c")
    assert workflow(api).answers == [("tok-case", "success", {})]  # complete: the wait resumes


def test_the_page_offers_only_what_is_missing_when_it_is_shown(console: Api) -> None:
    request_id, task = unlabelled_then_invoice(console)
    page = html.unescape(get(console, f"/console/tasks/{task.task_id}", ANA).body.decode())
    choices = page.split('id="f-requirement"', 1)[1].split("</select>", 1)[0]
    assert 'value="CI_REVERSO"' in choices
    assert 'value="FACTURA_LUZ"' not in choices
    assert 'value="CI_ANVERSO"' not in choices
    assert "<dt>Requisitos que faltan</dt><dd>Fotografía del carnet de identidad (reverso)</dd>" in page

    path = f"/console/tasks/{task.task_id}/complete"
    refused = post_form(console, path, form(ANA, requirement="FACTURA_LUZ"), ANA)  # a stale page's choice
    assert refused.status_code == 422
    message = field_error(html.unescape(refused.body.decode()), "requirement")
    assert message.startswith("Ya se recibió «Factura de luz o agua del domicilio» para esta solicitud")
    assert filed(console, request_id)[1] == (UNCLASSIFIED, "media-c")


def test_with_nothing_missing_the_page_says_the_document_is_not_needed(console: Api) -> None:
    request_id, task = unlabelled_then_invoice(console)
    post(console, delivery(value([document("media-e", 1796048103, "reverso del carnet", sender=SENDER)])))
    page = html.unescape(get(console, f"/console/tasks/{task.task_id}", ANA).body.decode())
    assert 'id="f-requirement"' not in page
    assert 'id="nothing-missing"' in page
    assert 'id="complete"' not in page
    refused = console.call("POST", f"/v1/tasks/{task.task_id}/complete", Role.AGENT, body={"requirement": "CI_REVERSO"})
    assert refused.status_code == 409
    assert body(refused)["error"]["message"].startswith("Ya se recibieron todos los requisitos de esta solicitud")
    assert [r for r, _ in filed(console, request_id)].count("CI_REVERSO") == 1
