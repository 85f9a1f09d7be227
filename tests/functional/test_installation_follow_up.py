"""Step 12 after the installation wait timed out: the follow-up task is open, and Instalaciones'
report, the agent's answer, or both at once must take the workflow to the QC call (load bench:
executions failed at WaitForQcSlot for want of qcWaitUntil)."""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime
from functools import partial
from typing import Any

from devstack.driver import Driver, wait_for
from devstack.http_driver import ApiFailure, HttpDriver
from tests.functional.conftest import shorten
from tests.functional.test_installations_and_ends import _sold
from ventas.domain.tasks import TaskKind


def _reaches_qc(driver: Driver, request_id: str) -> None:
    """The execution goes on to the QC call (never FAILED at the QC Wait), the QC time recorded."""
    wait_for(lambda: "QcCall" in driver.states_entered(request_id), 30, "the QC call")
    assert not [e for e in driver.history(request_id) if e["type"] == "ExecutionFailed"]
    assert driver.request(request_id).qc_at is not None


def _entered(driver: Driver, request_id: str, state: str) -> bool:
    return state in driver.states_entered(request_id)


def _completed(order_id: str, tag: str) -> dict[str, Any]:
    return {"kind": "completed", "event_id": f"opr-{order_id}-{tag}", "installed_at": datetime.now(UTC).isoformat()}


def test_instalaciones_reports_while_the_follow_up_is_open(driver: Driver, http: HttpDriver) -> None:
    shorten(driver.stack, installation_hours=24)  # one second here
    request_id, order_id = _sold(http, "web-fu-report", "+59176100001")
    http.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP)
    http.installation_event(order_id, _completed(order_id, "a"))
    _reaches_qc(driver, request_id)


def test_the_agent_confirms_the_follow_up(driver: Driver, http: HttpDriver) -> None:
    shorten(driver.stack, installation_hours=24)
    request_id, _ = _sold(http, "web-fu-agent", "+59176100002")
    task = http.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP)
    http.claim(task.task_id, "agente.jose")
    http.complete(task.task_id, "agente.jose", {"installed": True, "comment": "Instalado según OPR"})
    _reaches_qc(driver, request_id)


def test_report_and_agent_at_once(driver: Driver, http: HttpDriver) -> None:
    shorten(driver.stack, installation_hours=24)
    request_id, order_id = _sold(http, "web-fu-both", "+59176100003")
    task = http.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP)
    http.claim(task.task_id, "agente.jose")
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        try:
            call()
        except ApiFailure as failure:  # one of the two may find the wait answered: refused, fine
            errors.append(failure)

    threads = [
        threading.Thread(target=run, args=(lambda: http.installation_event(order_id, _completed(order_id, "b")),)),
        threading.Thread(
            target=run,
            args=(lambda: http.complete(task.task_id, "agente.jose", {"installed": True, "comment": "Instalado"}),),
        ),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _reaches_qc(driver, request_id)


def test_report_just_as_the_wait_times_out(driver: Driver, http: HttpDriver) -> None:
    """Reports sent around the instant the installation wait times out: whichever wait takes
    the report (the installation wait, or the follow-up task it opens), the QC call follows
    without an agent; a report refused because nothing waited leaves it to the agent."""
    for n in range(6):
        shorten(driver.stack, installation_hours=24)
        request_id, order_id = _sold(http, f"web-fu-edge-{n}", f"+5917610001{n}")
        wait_for(partial(_entered, driver, request_id, "AwaitInstallation"), 20, "the wait")
        time.sleep(0.8 + 0.05 * n)  # around the one-second timeout
        with contextlib.suppress(ApiFailure):  # 409 when nothing waited at that instant
            http.installation_event(order_id, _completed(order_id, "d"))
        if driver.request(request_id).qc_at is None:  # refused (nothing waited): the agent confirms it
            task = http.open_task(request_id, TaskKind.INSTALLATION_FOLLOW_UP)
            http.claim(task.task_id, "agente.jose")
            http.complete(task.task_id, "agente.jose", {"installed": True, "comment": "Instalado"})
        _reaches_qc(driver, request_id)


def test_an_installation_answer_without_a_qc_time_goes_on_to_the_qc_call(driver: Driver, http: HttpDriver) -> None:
    """The ASL's guard: whatever answers the installation wait without `qcWaitUntil` (a defect
    upstream), the execution opens the QC call instead of failing at the QC Wait."""
    request_id, _ = _sold(http, "web-fu-noqc", "+59176100020")
    token = driver.request(request_id).waits["installation"]
    driver.stack.deps.workflow.resume(token, {})
    wait_for(lambda: "QcCall" in driver.states_entered(request_id), 30, "the QC call")
    entered = driver.states_entered(request_id)
    assert entered[-3:] == ["AwaitInstallation", "QcSlotKnown", "QcCall"]
    assert not [e for e in driver.history(request_id) if e["type"] == "ExecutionFailed"]
