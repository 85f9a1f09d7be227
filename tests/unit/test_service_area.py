"""Step 5: a point far outside the service area is refused where it enters, and changes nothing.

Without this check GIS answers "no coverage" and the procedure ends the sale at step 14 (the
customer told to visit an office) for a typing slip: (0, 0), latitude and longitude swapped,
or a minus sign left out. The area is a setting (`Settings.service_area`), Bolivia by default.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import pytest
from pydantic import ValidationError

from tests.unit.api_harness import Api, api, body
from tests.unit.test_console_pages import console, get, hosted, post
from tests.unit.test_console_tasks import ANA, field_error, form
from tests.unit.test_tasks_service import open_
from ventas.config import Settings
from ventas.container import Container
from ventas.domain.area import BOLIVIA, ServiceArea
from ventas.domain.errors import field_errors
from ventas.domain.models import Lead, Location, SaleRequest
from ventas.domain.tasks import TaskKind, TaskStatus
from ventas.services import intake, tasks
from ventas.web.auth import Role

__all__ = ["api", "console", "hosted"]
ADDRESS = "Calle España 123, Cochabamba"
CENTRO = (-17.3935, -66.157)


def location_task(deps: Container) -> Any:
    lead = Lead(channel="web", channel_lead_id="w-area", phone="+59171234561")
    request_id = intake.submit_lead(deps, lead).request_id
    return open_(deps, request_id, TaskKind.LOCATION, "tok-area")


def point(latitude: object, longitude: object) -> dict[str, object]:
    return {"location": {"address": ADDRESS, "latitude": latitude, "longitude": longitude}}


@pytest.mark.parametrize(
    ("latitude", "longitude", "code", "fields", "words"),
    [
        (0, 0, "outside_service_area", ("latitude", "longitude"), "fuera del área de servicio"),
        (-66.157, -17.3935, "coordinates_swapped", ("latitude", "longitude"), "¿Invirtió latitud y longitud?"),
        (17.3935, -66.157, "coordinate_sign", ("latitude",), "¿Le falta el signo menos?"),
        (-17.3935, 66.157, "coordinate_sign", ("longitude",), "la longitud es negativa"),
        (17.3935, 66.157, "coordinate_sign", ("latitude", "longitude"), "la latitud y la longitud son negativas"),
        (-34.6, -58.4, "outside_service_area", ("latitude",), "la latitud va de -23 a -9 y la longitud de -70 a -57"),
    ],
)
def test_the_area_names_the_coordinates_to_correct_and_why(
    latitude: float, longitude: float, code: str, fields: tuple[str, ...], words: str
) -> None:
    refused = BOLIVIA.refusal(latitude, longitude)
    assert refused is not None
    assert (refused.code, refused.fields) == (code, fields)
    assert words in refused.message


@pytest.mark.parametrize("inside", [CENTRO, (-16.5, -68.15), (-23, -70), (-9, -57), (-9.7, -65.4)])
def test_points_in_bolivia_and_on_the_edges_are_accepted(inside: tuple[float, float]) -> None:
    assert BOLIVIA.refusal(*inside) is None


def test_the_area_is_a_setting_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().service_area == BOLIVIA
    assert Settings.from_env().service_area == BOLIVIA
    monkeypatch.setenv("VD_SERVICE_AREA", "-18.6, -67.5, -16.3, -64.2")  # Cochabamba's department
    assert Settings.from_env().service_area == ServiceArea(-18.6, -67.5, -16.3, -64.2)
    for bad in ("-18,-67,-16", "north", "-16,-67,-18,-64", "-18,-67,-16,nan", "-100,-67,-16,-64"):
        monkeypatch.setenv("VD_SERVICE_AREA", bad)
        with pytest.raises(ValueError, match="VD_SERVICE_AREA"):
            Settings.from_env()


@pytest.mark.parametrize(
    ("latitude", "longitude", "code"),
    [
        (0, 0, "outside_service_area"),
        ("-66,1570", "-17,3935", "coordinates_swapped"),
        ("17,3935", "-66,1570", "coordinate_sign"),
    ],
)
def test_the_location_task_refuses_a_point_outside_and_changes_nothing(
    deps: Container, latitude: object, longitude: object, code: str
) -> None:
    task = location_task(deps)
    tasks.claim(deps, task.task_id, "maria")
    before, history = deps.tasks.get(task.task_id), deps.requests.history(task.request_id)
    with pytest.raises(ValidationError) as refused:
        tasks.complete(deps, task.task_id, "maria", point(latitude, longitude))
    assert {f["type"] for f in field_errors(refused.value)} == {code}
    assert deps.tasks.get(task.task_id) == before
    assert deps.requests.history(task.request_id) == history
    assert deps.requests.get(task.request_id).location is None
    assert deps.workflow.answers == []  # type: ignore[attr-defined]  # GIS is never asked
    done = tasks.complete(deps, task.task_id, "maria", point("-17,3935", "-66,1570"))
    assert done.status == TaskStatus.COMPLETED


def test_the_area_follows_the_setting(deps: Container) -> None:
    deps.settings = dataclasses.replace(deps.settings, service_area=ServiceArea(-18.6, -67.5, -16.3, -64.2))
    task = location_task(deps)
    with pytest.raises(ValidationError) as refused:  # La Paz's El Alto: in Bolivia, outside this area
        tasks.complete(deps, task.task_id, "maria", point(-16.5, -68.15))
    (only,) = field_errors(refused.value)
    assert only["field"] == "location.longitude"
    assert "la longitud de -67,5 a -64,2" in only["message"]


def test_the_json_task_route_answers_field_errors_for_systems(api: Api) -> None:
    task = location_task(api.deps)
    path = f"/v1/tasks/{task.task_id}/complete"
    swapped = api.call("POST", path, Role.AGENT, point(-66.157, -17.3935))
    assert swapped.status_code == 422
    errors = body(swapped)["error"]["fields"]
    assert [(f["field"], f["type"]) for f in errors] == [
        ("location.latitude", "coordinates_swapped"),
        ("location.longitude", "coordinates_swapped"),
    ]
    assert errors[0]["message"].startswith("¿Invirtió latitud y longitud?")
    assert "(latitud -17,3935, longitud -66,157) queda dentro" in errors[0]["message"]
    assert api.deps.tasks.get(task.task_id).status == TaskStatus.OPEN


def test_a_channels_lead_with_a_point_outside_is_refused(api: Api) -> None:
    lead = {
        "channel": "web",
        "channel_lead_id": "web-area-1",
        "phone": "+59171234562",
        "ci": "4567890 CB",
        "service_code": "INTERNET_FTTH_100",
        **point(0, 0),
    }
    refused = api.call("POST", "/v1/requests", Role.CHANNEL, lead)
    assert refused.status_code == 422
    fields = {f["field"]: f["type"] for f in body(refused)["error"]["fields"]}
    assert fields == {"location.latitude": "outside_service_area", "location.longitude": "outside_service_area"}
    assert api.deps.workflow.started == {}  # type: ignore[attr-defined]
    accepted = api.call("POST", "/v1/requests", Role.CHANNEL, {**lead, **point(*CENTRO)})
    assert accepted.status_code == 202


def test_the_console_says_so_beside_the_field_and_keeps_what_was_typed(console: Api, deps: Container) -> None:
    task = location_task(deps)
    path = f"/console/tasks/{task.task_id}/complete"
    typed = form(ANA, address=ADDRESS, latitude="-66,1570", longitude="-17,3935")
    refused = post(console, path, typed, ANA)
    assert refused.status_code == 422
    page = html.unescape(refused.body.decode())
    assert field_error(page, "latitude").startswith("¿Invirtió latitud y longitud?")
    assert field_error(page, "longitude").startswith("¿Invirtió latitud y longitud?")
    assert 'value="-66,1570"' in page
    sign = html.unescape(
        post(console, path, form(ANA, address=ADDRESS, latitude="17,3935", longitude="-66,157"), ANA).body.decode()
    )
    assert field_error(sign, "latitude").startswith("¿Le falta el signo menos?")
    assert 'id="err-longitude"' not in sign
    assert deps.tasks.get(task.task_id).status == TaskStatus.OPEN
    assert get(console, f"/console/tasks/{task.task_id}", ANA).status_code == 200


def test_a_stored_point_outside_the_area_still_reads(deps: Container) -> None:
    """The area applies where a point enters: a stored request reads back whatever the setting."""
    task = location_task(deps)
    request = deps.requests.get(task.request_id)
    request.location = Location.model_validate({"address": ADDRESS, "latitude": 0, "longitude": 0})
    stored = SaleRequest.model_validate(request.model_dump(mode="json"))
    assert stored.location == request.location
