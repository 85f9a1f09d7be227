"""The console's drawings and formats: the graph from the ASL, the map, the chart, money, CSV."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from ventas.config import Settings
from ventas.console import dashboard, forms
from ventas.console.drawings import coverage_map, frame, kpi_chart, zones
from ventas.console.graph_svg import NODE_H, NODE_W, layout, render_graph
from ventas.console.render import money, navigation, point_text
from ventas.domain.execution_graph import build_graph, edges_of, scrub
from ventas.domain.kpi import KpiReport
from ventas.domain.models import Outcome
from ventas.domain.tasks import RESULT_MODELS, HumanTask, TaskKind
from ventas.web.auth import Role

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "ventas_digitales.asl.json"
T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def graph_of(history: list[dict[str, object]], status: str = "RUNNING"):  # type: ignore[no-untyped-def]
    definition = json.loads(ASL.read_text(encoding="utf-8"))
    return build_graph("vd-1", definition, history, status, T0, None, 0, lambda at: at.isoformat())


def test_the_graph_draws_every_state_and_edge_of_the_asl_without_overlaps() -> None:
    definition = json.loads(ASL.read_text(encoding="utf-8"))
    graph = graph_of([])
    svg = str(render_graph(graph))
    for name in definition["States"]:
        assert f'data-state="{name}"' in svg, name
    drawn = set(re.findall(r'data-source="([^"]+)" data-target="([^"]+)" data-kind="([^"]+)"', svg))
    expected = {(e.source, e.target, e.kind) for e in edges_of(definition["States"])}
    assert drawn == expected
    placed = list(layout(graph).values())
    for i, a in enumerate(placed):
        for b in placed[i + 1 :]:
            apart = abs(a.x - b.x) >= NODE_W or abs(a.y - b.y) >= NODE_H
            assert apart, (a.node.id, b.node.id)
    places = layout(graph)
    assert places[graph.start_at].layer == 0
    # Forward edges go down a layer: the flow reads top to bottom.
    assert places["CheckImpediments"].layer < places["IsEligible"].layer < places["CheckCoverage"].layer


def test_a_waiting_state_is_marked_with_what_it_waits_for() -> None:
    def ev(i: int, kind: str, name: str | None = None) -> dict[str, object]:
        details = {"stateEnteredEventDetails" if "Entered" in kind else "stateExitedEventDetails": {"name": name}}
        return {"id": i, "type": kind, "timestamp": T0 + timedelta(seconds=i), **(details if name else {})}

    history = [
        ev(1, "ExecutionStarted"),
        ev(2, "ChoiceStateEntered", "RouteEntry"),
        ev(3, "ChoiceStateExited", "RouteEntry"),
        ev(4, "TaskStateEntered", "CallBackCustomer"),
        ev(5, "TaskScheduled"),
        ev(6, "TaskStarted"),
    ]
    svg = str(render_graph(graph_of(history), "tarea «Devolver llamada» (sin asignar)"))
    node = re.search(r'<g class="node status-waiting" data-state="CallBackCustomer".*?</g>', svg)
    assert node is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", node.group(0)).split())
    assert "espera: tarea «Devolver llamada» (sin asignar)" in text
    assert re.search(r'class="edge edge-choice taken" data-source="RouteEntry" data-target="CallBackCustomer"', svg)
    assert 'data-state="QcCall" data-status="not_reached"' in svg


def test_the_map_draws_every_gis_zone_and_the_point_in_the_frame() -> None:
    svg = str(coverage_map((-17.3935, -66.1570)))
    assert svg.count("<path") == sum(len(z.rings) for z in zones())
    f = frame()
    cx, cy = (float(v) for v in re.search(r'id="map-point"[^>]*cx="([\d.]+)" cy="([\d.]+)"', svg).groups())  # type: ignore[union-attr]
    assert abs(cx - f.x(-66.1570)) < 0.1
    assert abs(cy - f.y(-17.3935)) < 0.1
    assert 'visibility="hidden"' in str(coverage_map(None))
    tiles = str(coverage_map(None, "https://tiles.example/{z}/{x}/{y}.png"))
    assert "https://tiles.example/13/" in tiles


def test_the_chart_has_one_bar_per_day_and_the_threshold_line() -> None:
    days = [
        KpiReport(day=f"2026-11-{d:02d}", policy="registered", threshold=95.0, requests=d % 3, efficient=d % 2)
        for d in range(1, 31)
    ]
    svg = str(kpi_chart(days, 95.0))
    assert svg.count("<rect") == 30
    assert "sin solicitudes" in svg
    assert "umbral 95 %" in svg


def test_money_is_written_as_in_bolivia_and_navigation_follows_the_role() -> None:
    assert money(1234.5) == "Bs 1.234,50"
    assert money(169) == "Bs 169,00"
    assert point_text(-17.3935, -66.157) == "-17,39350; -66,15700"
    assert [link.href for link in navigation({Role.AGENT}, local=False)] == ["/console/inbox"]
    assert [link.href for link in navigation({Role.OPS}, local=True)] == ["/console/ops", "/console/local"]
    assert navigation(set(), local=True) == []


def test_form_errors_are_spanish_and_keyed_by_the_forms_field() -> None:
    body = forms.task_body(TaskKind.LOCATION, {"address": "x", "latitude": "norte", "longitude": ""})
    with pytest.raises(ValidationError) as location:
        RESULT_MODELS[TaskKind.LOCATION].model_validate(body)
    assert forms.spanish_errors(location.value) == {
        "address": "El texto es demasiado corto.",
        "latitude": "Escriba los grados con decimales, por ejemplo -17,3935 o -17.3935.",
        "longitude": "Este dato es obligatorio.",
    }
    body = forms.task_body(TaskKind.CALL_BACK, {"reached": "true", "ci": ""})
    with pytest.raises(ValidationError) as call_back:
        RESULT_MODELS[TaskKind.CALL_BACK].model_validate(body)
    assert forms.spanish_errors(call_back.value)[forms.GENERAL].startswith("Si el cliente contestó")
    installed = forms.task_body(
        TaskKind.INSTALLATION_FOLLOW_UP, {"installed": "true", "installed_at": "2026-11-30T10:15"}
    )
    assert installed["installed_at"] == "2026-11-30T10:15:00-04:00"


def test_dashboard_labels_agents_and_csv() -> None:
    assert dashboard.outcome_text("rejected:DEBT") == "Rechazada — Tiene una deuda pendiente con la cooperativa"
    assert dashboard.outcome_text("open:location") == "En curso — Ubicación del domicilio"
    assert dashboard.outcome_text("sold") == "Venta"
    # Every outcome the KPI breakdown can hold reads in Spanish (a failed execution too).
    assert dashboard.outcome_text("failed:EXECUTION_FAILED").startswith("Fallida — ")
    assert all(not dashboard.outcome_text(o.value).startswith(o.value) for o in Outcome)

    def done(
        agent: str, kind: TaskKind, minutes: int, claimed: int | None, result: dict[str, object] | None = None
    ) -> HumanTask:
        """Opened at T0, taken `claimed` minutes later (None: completed without taking it)."""
        return HumanTask(
            task_id=f"t{minutes}",
            request_id="r",
            kind=kind,
            step="13",
            created_at=T0,
            due_at=T0,
            assignee=agent,
            claimed_at=None if claimed is None else T0 + timedelta(minutes=claimed),
            completed_at=T0 + timedelta(minutes=minutes),
            result=result,
            token="x",
        )

    # Handling time runs from the claim, not from the opening: a task that waited an hour in the
    # inbox and took the agent 6 minutes counts 6.
    figures = dashboard.per_agent(
        [
            done("ana", TaskKind.QC_CALL, 70, 64, {"satisfaction": 5}),
            done("ana", TaskKind.LOCATION, 20, 10),
            done("ana", TaskKind.LOCATION, 30, None),  # counted as done, not timed
            done("luis", TaskKind.QC_CALL, 4, 0, {"satisfaction": 3}),
        ]
    )
    assert [(f.agent, f.done, f.timed, f.average_minutes, f.average_satisfaction) for f in figures] == [
        ("ana", 3, 2, 8.0, 5.0),
        ("luis", 1, 1, 4.0, 3.0),
    ]
    assert dashboard.handling_minutes(done("x", TaskKind.QC_CALL, 5, None)) is None
    csv = dashboard.to_csv(["a", "b"], [["ñandú", None]])
    assert csv == "\ufeffa,b\r\nñandú,\r\n"


def test_scrubbed_causes_keep_the_request_id_and_hide_ci_and_phone() -> None:
    """Ops find the request an error names; its CI and phone stay out."""
    text = scrub("request vd-20261130-ca5e7558bc has ended; CI 4567890 CB, phone +59171234567")
    assert "vd-20261130-ca5e7558bc" in text
    assert "4567890" not in text
    assert "71234567" not in text


@pytest.mark.parametrize(
    ("latitude", "longitude", "point"),
    [
        ("-17,3935", "-66,1570", (-17.3935, -66.157)),  # as Bolivians write decimals
        ("-17.3935", "-66.1570", (-17.3935, -66.157)),
        (" −17,3935° ", "-66,157°", (-17.3935, -66.157)),  # typographic minus, degree sign, spaces
        ("-17,3935; -66,1570", "", (-17.3935, -66.157)),  # a point pasted whole into the first field
        ("-17.3935, -66.1570", "", (-17.3935, -66.157)),  # as a map application copies it
        ("-17", "-66", (-17.0, -66.0)),
    ],
)
def test_coordinates_are_read_as_people_type_them(latitude: str, longitude: str, point: tuple[float, float]) -> None:
    body = forms.task_body(
        TaskKind.LOCATION, {"address": "Calle España 123", "latitude": latitude, "longitude": longitude}
    )
    location = RESULT_MODELS[TaskKind.LOCATION].model_validate(body).location  # type: ignore[attr-defined]
    assert (location.latitude, location.longitude) == point


@pytest.mark.parametrize(
    ("latitude", "longitude", "fields", "message"),
    [
        ("diecisiete", "-66,157", ["latitude"], "Escriba los grados con decimales, por ejemplo -17,3935 o -17.3935."),
        ("-17,39,35", "-66,157", ["latitude"], "Escriba los grados con decimales"),  # not one number
        ("1.234,5", "-66,157", ["latitude"], "Escriba los grados con decimales"),  # thousands separator
        ("nan", "-66,157", ["latitude"], "Escriba los grados con decimales"),
        ("-17,3935", "1e3", ["longitude"], "Escriba los grados con decimales"),
        ("-66,157", "-17,3935", ["latitude", "longitude"], "¿Invirtió latitud y longitud?"),  # in range, not in Bolivia
        ("-170,5", "-66,157", ["latitude"], "La latitud va de -90 a 90 (revise si escribió la latitud y la longitud"),
        ("-17,39", "-266", ["longitude"], "La longitud va de -180 a 180"),
        ("-17,39", "-66,157", [], ""),
    ],
)
def test_nonsense_coordinates_are_refused_in_spanish_beside_their_field(
    latitude: str, longitude: str, fields: list[str], message: str
) -> None:
    body = forms.task_body(
        TaskKind.LOCATION, {"address": "Calle España 123", "latitude": latitude, "longitude": longitude}
    )
    context = Settings().validation_context()  # as the tasks service validates a body
    if not fields:
        RESULT_MODELS[TaskKind.LOCATION].model_validate(body, context=context)
        return
    with pytest.raises(ValidationError) as refused:
        RESULT_MODELS[TaskKind.LOCATION].model_validate(body, context=context)
    errors = forms.spanish_errors(refused.value)
    assert list(errors) == fields
    assert all(errors[field].startswith(message) for field in fields)


def test_the_api_reads_a_decimal_comma_and_names_the_field_it_refuses() -> None:
    from ventas.domain.errors import field_errors
    from ventas.domain.models import Lead

    lead = Lead.model_validate(
        {
            "channel": "web",
            "channel_lead_id": "w-1",
            "phone": "+59171234567",
            "location": {"address": "Calle España 123", "latitude": "-17,3935", "longitude": -66.157},
        }
    )
    assert lead.location is not None
    assert lead.location.latitude == -17.3935
    with pytest.raises(ValidationError) as refused:
        Lead.model_validate(
            {
                "channel": "web",
                "channel_lead_id": "w-1",
                "phone": "+59171234567",
                "location": {"address": "Calle España 123", "latitude": "S 17", "longitude": -66.157},
            }
        )
    (error,) = field_errors(refused.value)
    assert (error["field"], error["type"]) == ("location.latitude", "coordinate_format")
    assert error["message"].startswith("escriba los grados con decimales")
