"""Step 1.2, "En caso de perder la llamada, devuelve llamada a cliente para gestionar la venta":
when the customer answers but asks to be called later, the agent agrees a time ("volver a llamar
a las ..."). The rules that time must meet; `HumanTask.call_again` applies them.

- In the future, and before the workflow stops waiting for the task (its deadline) less
  `margin`, so the agent still has time to call and record the result.
- In business hours in America/La_Paz (the brief's convention: calls to customers only in
  business hours), when `business_hours` is given.
- At most `max_call_agains` times per task: then the agent records reached or unreachable.

Pure: no AWS, no settings; the service builds `CallAgainRules` from `Settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from ventas.domain.errors import CallAgainRefused
from ventas.domain.schedule import LA_PAZ, format_local

DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


@dataclass(frozen=True)
class BusinessHours:
    """Business hours in La Paz: `days` are weekday numbers (0 = Monday)."""

    opens: time
    closes: time
    days: frozenset[int]

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(LA_PAZ)
        return local.weekday() in self.days and self.opens <= local.time().replace(tzinfo=None) < self.closes

    def describe(self) -> str:
        """`de lunes a sábado, de 08:30 a 18:30` (consecutive days as a range)."""
        days = sorted(self.days)
        if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            span = f"de {DAY_NAMES[days[0]]} a {DAY_NAMES[days[-1]]}"
        else:
            span = ", ".join(DAY_NAMES[d] for d in days)
        return f"{span}, de {self.opens:%H:%M} a {self.closes:%H:%M}"


@dataclass(frozen=True)
class CallAgainRules:
    """`grace`: how long after the agreed time the task stays reserved for the agent who agreed
    it; `margin`: the least time left between the agreed time and the task's deadline."""

    max_call_agains: int
    grace: timedelta
    margin: timedelta
    business_hours: BusinessHours | None = None


def latest_call_again(deadline: datetime, rules: CallAgainRules) -> datetime:
    """The latest time a call-again may be agreed for (UTC): the deadline less the margin."""
    return deadline - rules.margin


def check_call_again(now: datetime, at: datetime, deadline: datetime, done: int, rules: CallAgainRules) -> None:
    """Raises `CallAgainRefused` (field `call_again_at`, a Spanish message for the agent, `code`
    for systems: too_many_call_agains, not_in_future, after_deadline, outside_business_hours)
    when `at` breaks a rule; `done` is how many times the task was already rescheduled."""
    if done >= rules.max_call_agains:
        raise CallAgainRefused(
            f"Esta llamada ya se reprogramó {done} veces, el máximo permitido: "
            "registre si el cliente contestó o no contestó.",
            "too_many_call_agains",
        )
    latest = latest_call_again(deadline, rules)
    if at <= now:
        raise CallAgainRefused(
            f"Indique una hora posterior a la actual ({format_local(now)}), hora de La Paz.", "not_in_future", latest
        )
    if at > latest:
        raise CallAgainRefused(
            f"La hora más tardía permitida es el {format_local(latest)} (hora de La Paz): "
            "después vence el plazo de esta tarea. Elija una hora anterior o registre el resultado de la llamada.",
            "after_deadline",
            latest,
        )
    hours = rules.business_hours
    if hours is not None and not hours.contains(at):
        raise CallAgainRefused(
            f"Solo se llama a los clientes en horario de atención ({hours.describe()}, hora de La Paz).",
            "outside_business_hours",
            latest,
        )
