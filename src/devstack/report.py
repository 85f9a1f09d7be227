"""What a person reads of a simulated day (Spanish, "usted"): the set-up, the progress bars,
the summary with the day's KPI, and one request's history (from `devstack.runlog`'s record).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from devstack.runlog import TIMING_LABELS, DayResult, run_json
from ventas.config import Timing
from ventas.domain.kpi import ACEPTADO, SIN_SOLICITUDES
from ventas.domain.schedule import LA_PAZ
from ventas.domain.tasks import TaskKind
from ventas.web.views import KIND_LABELS

OUTCOMES = {
    "sold": "Vendida",
    "rejected": "Rechazada",
    "abandoned": "Abandonada",
    "failed": "Fallida",
    "open": "Sin concluir",
}
REASONS = {
    "DEBT": "Deuda pendiente",
    "CENTRAL_DE_RIESGOS": "Registrado en la central de riesgos",
    "EQUIPMENT_TO_RETURN": "Equipo pendiente de devolución",
    "NO_COVERAGE": "Sin capacidad técnica en el domicilio",
    "SPEED_NOT_SUPPORTED": "Velocidad no disponible en la zona",
    "FEATURE_NOT_AVAILABLE": "Característica especial no disponible",
    "DOCUMENTS_NOT_RECEIVED": "Requisitos no recibidos a tiempo",
    "CUSTOMER_UNREACHABLE": "El cliente no contestó",
    "INSTALLATION_CANCELLED": "Instalación cancelada",
    "MANUAL_REJECTION": "Rechazada en revisión manual",
    "TASK_NOT_WORKED": "Ningún agente atendió la tarea a tiempo",
    "EXECUTION_FAILED": "La ejecución falló",
    "EXECUTION_TIMED_OUT": "La ejecución superó su plazo máximo",
    "EXECUTION_STOPPED": "Ejecución detenida por operaciones",
}
POLICIES = {
    "registered": "venta registrada en Smartflex (paso 10) y no cancelada",
    "installed": "venta registrada y con instalación confirmada (paso 12)",
    "qc_done": "venta instalada y con control de calidad de 4 o 5 (paso 13.1)",
}
REVIEW_STATES = ("ReviewEligibilityFault", "ReviewCoverageFault", "ReviewSaleFault")
TASK_STATES = ("CallBackCustomer", "IdentifyCustomer", "CaptureLocation", "FollowUpInstallation", "QcCall")


def _business(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes / 60:g} h" if minutes >= 60 else f"{minutes:g} min"


def shown(path: Path) -> str:
    """A path as a person types it from the project folder."""
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd()))
    return str(path)


def render_intro(
    console: Console,
    leads: int,
    seed: int,
    scale: float,
    timing: Timing,
    agents: Iterable[str],
    log: Path,
    qc_slot: datetime | None = None,
) -> None:
    """The run's set-up. `qc_slot`: when QC calls of sales installed now would be made, if that
    is outside business hours (they wait for it, compressed like every other wait)."""
    table = Table(title="Plazos de esta simulación", title_justify="left", box=None, pad_edge=False)
    table.add_column("Espera")
    table.add_column("Horas de negocio", justify="right")
    table.add_column("Segundos reales", justify="right")
    for name, label in TIMING_LABELS.items():
        hours = float(getattr(timing, name))
        table.add_row(label, f"{hours:g}", f"{hours * 3600 / scale:.1f}")
    console.print(
        Panel.fit(
            f"[bold]Ventas Digitales[/] · simulación de un día de trabajo en el stack local\n"
            f"{leads} leads · semilla {seed} · reloj comprimido: 1 s real = {_business(scale)} de negocio "
            f"(--time-scale {scale:g})\n"
            f"Agentes: {', '.join(agents)}\n"
            f"Los registros de las funciones Lambda van a {shown(log)}",
            border_style="cyan",
        )
    )
    console.print(table)
    if qc_slot is not None:
        wait = (qc_slot - datetime.now(LA_PAZ)).total_seconds() / scale
        console.print(
            f"[yellow]Ahora es fuera del horario de oficina de La Paz:[/] las llamadas de control de calidad "
            f"se programan para el {qc_slot.astimezone(LA_PAZ):%d/%m a las %H:%M}; con el reloj comprimido "
            f"esperan unos {wait:.0f} s reales más."
        )
    console.print("Iniciando el stack local (moto, Step Functions, Lambda en proceso)…\n")


class ProgressView:
    """Two bars: leads received, requests concluded (with outcomes so far)."""

    def __init__(self, console: Console, enabled: bool = True) -> None:
        self._enabled = enabled
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._leads: TaskID | None = None
        self._ended: TaskID | None = None

    def __enter__(self) -> ProgressView:
        if self._enabled:
            self._progress.start()
            self._leads = self._progress.add_task("Leads recibidos      ", total=None)
            self._ended = self._progress.add_task("Solicitudes concluidas", total=None)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._enabled:
            self._progress.stop()

    def update(self, received: int, leads: int, ended: Counter[str], requests: int) -> None:
        if self._leads is None or self._ended is None:
            return
        by: Counter[str] = Counter()
        for label, n in ended.items():
            by[label.split(":")[0]] += n
        tally = (
            f"[green]{by['sold']} vendidas[/] · [yellow]{by['rejected']} rechazadas[/] · "
            f"[red]{by['abandoned']} abandonadas[/]"
        )
        self._progress.update(self._leads, completed=received, total=leads)
        self._progress.update(
            self._ended, completed=sum(ended.values()), total=requests, description=f"Solicitudes concluidas {tally}"
        )


# --- the summary --------------------------------------------------------------------------------


def _outcome_row(label: str) -> tuple[str, str]:
    kind, _, reason = label.partition(":")
    if kind == "open":
        return OUTCOMES["open"], f"atascada en el paso {reason}"
    return OUTCOMES.get(kind, kind), f"{REASONS.get(reason, reason)} ({reason})" if reason else "—"


def _outcomes(console: Console, result: DayResult) -> None:
    counts = Counter(r.outcome for r in result.records)
    order = {"sold": 0, "rejected": 1, "abandoned": 2, "failed": 3, "open": 4}
    table = Table(title="Resultados del día", title_justify="left")
    table.add_column("Resultado")
    table.add_column("Motivo (código)")
    table.add_column("Solicitudes", justify="right")
    table.add_column("%", justify="right")
    total = sum(counts.values()) or 1
    for label, n in sorted(counts.items(), key=lambda item: (order.get(item[0].split(":")[0], 9), -item[1])):
        outcome, reason = _outcome_row(label)
        table.add_row(outcome, reason, str(n), f"{100 * n / total:.0f}")
    table.add_section()
    table.add_row("[bold]Total[/]", "", f"[bold]{sum(counts.values())}[/]", "100")
    console.print(table)
    joined = sum(1 for _, _, ok in result.joined if ok)
    differ = [r for r in result.records if not r.stuck and r.outcome != r.expected]
    console.print(
        f"{result.leads} leads recibidos: {len(result.records)} solicitudes y {joined} lead(s) unido(s) a una "
        f"solicitud abierta del mismo cliente. Resultados distintos de lo previsto por el escenario: {len(differ)}"
        + "".join(f"\n  {r.lead}: se esperaba {r.expected}, terminó {r.outcome}" for r in differ[:5])
    )


def _escalations(console: Console, result: DayResult) -> None:
    entered = Counter(name for r in result.records for name, _ in r.states)
    reopened = sum(
        max(0, n - 1)
        for r in result.records
        for name, n in Counter(name for name, _ in r.states).items()
        if name in TASK_STATES + REVIEW_STATES
    )
    scores = [r.satisfaction for r in result.records if r.satisfaction is not None]
    c = result.counters
    table = Table(title="Esperas y escalamientos", title_justify="left")
    table.add_column("Concepto")
    table.add_column("Cantidad", justify="right")
    rows = [
        ("Recordatorios de requisitos enviados por WhatsApp (paso 9)", entered["RemindDocuments"]),
        ("Seguimientos de instalación vencida (paso 12)", entered["FollowUpInstallation"]),
        ("Revisiones manuales por un sistema caído", sum(entered[s] for s in REVIEW_STATES)),
        ("Tareas reabiertas (plazo vencido o nuevo intento)", reopened),
        ("Tareas que vencieron mientras el agente las trabajaba", c.get("expired_on_completion", 0)),
        ("Tareas que otro agente tomó primero", c.get("claim_conflicts", 0)),
        ("Instalaciones informadas después del plazo", c.get("late_installation_reports", 0)),
        ("Llamadas de control de calidad realizadas (paso 13.1)", len(scores)),
    ]
    for label, n in rows:
        table.add_row(label, str(n))
    if scores:
        table.add_row("Satisfacción promedio (1 a 5)", f"{sum(scores) / len(scores):.2f}")
    console.print(table)
    o = result.outage
    if o:
        end = f"hasta +{o['end']:.1f} s" if "end" in o else "sin restablecerse"
        effect = "abrió una revisión manual" if o.get("review_opened") else "no llegó a abrir una revisión manual"
        console.print(
            f"Caída de Smartflex: desde +{o['start']:.1f} s {end} (solicitud {o['lead']}, {o['request_id']}); {effect}."
        )


def _agents(console: Console, result: DayResult) -> None:
    table = Table(title="Tareas trabajadas por agente (agente.*)", title_justify="left")
    table.add_column("Tarea")
    for agent in result.work:
        table.add_column(agent.removeprefix("agente."), justify="right")
    table.add_column("Total", justify="right")
    for kind in TaskKind:
        counts = [result.work[agent].get(kind.value, 0) for agent in result.work]
        table.add_row(KIND_LABELS[kind], *map(str, counts), f"[bold]{sum(counts)}[/]")
    table.add_section()
    totals = [sum(kinds.values()) for kinds in result.work.values()]
    table.add_row("[bold]Total[/]", *(f"[bold]{n}[/]" for n in totals), f"[bold]{sum(totals)}[/]")
    console.print(table)


def _kpi(console: Console, result: DayResult) -> None:
    table = Table(title="Indicador del día: venta digital eficiente (III.2)", title_justify="left")
    for name, justify in (
        ("Día", "left"),
        ("Solicitudes ingresadas", "right"),
        ("Ventas eficientes", "right"),
        ("KPI", "right"),
        ("Parámetro", "right"),
        ("Resultado", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for k in result.kpis:
        style = {ACEPTADO: "green", SIN_SOLICITUDES: "dim"}.get(k.verdict, "yellow")
        table.add_row(
            k.day,
            str(k.requests),
            str(k.efficient),
            "sin solicitudes" if k.value is None else f"{k.value:.2f} %",
            f"> {k.threshold:g} %",
            f"[{style}]{k.verdict}[/]",
        )
    console.print(table)
    others = "; ".join(f"{name}: {text}" for name, text in POLICIES.items() if name != result.policy)
    console.print(
        "Fórmula: ventas digitales efectuadas eficientemente / solicitudes ingresadas × 100. "
        "Mayor a 95 %: Aceptado; si no, Observado.\n"
        f"Venta eficiente según la política en uso, [bold]{result.policy}[/]: {POLICIES.get(result.policy, '')}.\n"
        f"Otras políticas: {others}. Para cambiarla: VD_EFFICIENCY_POLICY=qc_done make run"
    )


def _interesting(requests: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A request worth reading: a manual review, else a follow-up, a reminder, a call-back, a sale."""
    for wanted in (REVIEW_STATES, ("FollowUpInstallation",), ("RemindDocuments",), ("CallBackCustomer",)):
        for request in requests:
            if any(s["state"] in wanted for s in request["states"]) and request["outcome"] == "sold":
                return request
    return next((r for r in requests if r["outcome"] == "sold"), requests[0] if requests else None)


def render_history(console: Console, data: dict[str, Any], request_id: str) -> int:
    """One request's states entered, with times; 1 if the report does not have it."""
    request = next((r for r in data["requests"] if r["request_id"] == request_id), None)
    if request is None:
        console.print(f"[red]La solicitud {request_id} no está en el último informe.[/]")
        return 1
    outcome, reason = _outcome_row(request["outcome"])
    table = Table(
        title=f"Historia de la solicitud {request_id} ({request['lead']}, canal {request['channel']}): "
        f"{outcome}{'' if reason == '—' else ' · ' + reason}",
        title_justify="left",
    )
    for name in ("#", "Estado", "Paso del procedimiento", "Hora (La Paz)", "+s"):
        table.add_column(name, justify="right" if name in ("#", "+s") else "left")
    first = datetime.fromisoformat(request["states"][0]["at"]) if request["states"] else None
    for n, state in enumerate(request["states"], 1):
        at = datetime.fromisoformat(state["at"])
        numbers = state["step"].split(", ") if state["step"] else []
        step = f"{numbers[0]}–{numbers[-1]}" if len(numbers) > 1 and state["label"] else ", ".join(numbers)
        where = " · ".join(part for part in (step, state["label"]) if part)
        offset = f"{(at - first).total_seconds():.1f}" if first else ""
        table.add_row(str(n), state["state"], where, at.astimezone(LA_PAZ).strftime("%H:%M:%S"), offset)
    console.print(table)
    return 0


def render_summary(console: Console, result: DayResult, report: Path, log: Path) -> None:
    data = run_json(result)
    console.rule(f"Resumen del día · {result.elapsed:.0f} s reales")
    _outcomes(console, result)
    _escalations(console, result)
    _agents(console, result)
    stuck = [r for r in result.records if r.stuck]
    if stuck:
        table = Table(title="[red]Solicitudes atascadas (no concluyeron dentro del plazo)[/]", title_justify="left")
        for name in ("Solicitud", "Lead", "Último estado", "Estado de la ejecución"):
            table.add_column(name)
        for r in stuck:
            table.add_row(r.request_id, r.lead, r.states[-1][0] if r.states else "—", r.execution)
        console.print(table)
    if result.errors:
        console.print(
            f"[red]Errores del simulador: {len(result.errors)}[/] (primeros): " + " | ".join(result.errors[:3])
        )
    example = _interesting(data["requests"])
    if example is not None:
        render_history(console, data, example["request_id"])
    _kpi(console, result)
    console.print(
        f"\nInforme completo, con la secuencia de estados de cada solicitud: {shown(report)}\n"
        f'Ver otra solicitud:  make run ARGS="--show <id-de-solicitud>"\n'
        f"Registros de las funciones Lambda: {shown(log)}"
    )
