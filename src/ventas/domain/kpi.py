"""Step III.2: the daily indicator "Venta digital eficiente".

KPI = efficient digital sales / requests entered into Ventas Digitales x 100;
above the threshold (95%) "Aceptado", otherwise "Observado".

What counts as efficient is a policy (configuration `VD_EFFICIENCY_POLICY`):
- registered: the sale was registered in Smartflex (step 10) and not cancelled afterwards;
- installed: registered and the installation was confirmed (step 12);
- qc_done: installed and the QC call recorded a satisfaction of 4 or 5 (step 13.1).
A request is counted on the La Paz day it entered. Requests still open count in the
denominator (they entered that day) and not yet in the numerator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from ventas.domain.models import Outcome, SaleRequest

ACEPTADO = "Aceptado"
OBSERVADO = "Observado"
# A day with no requests has no indicator: 0 / 0 is neither accepted nor observed.
SIN_SOLICITUDES = "Sin solicitudes"


def is_efficient(request: SaleRequest, policy: str) -> bool:
    registered = request.order_id is not None and request.outcome not in (Outcome.ABANDONED, Outcome.FAILED)
    if policy == "registered":
        return registered
    installed = registered and request.installed_at is not None
    if policy == "installed":
        return installed
    if policy == "qc_done":
        return installed and (request.satisfaction or 0) >= 4
    raise ValueError(f"unknown efficiency policy {policy!r}")


@dataclass
class KpiReport:
    day: str
    policy: str
    threshold: float
    requests: int
    efficient: int
    breakdown: dict[str, int] = field(default_factory=dict)
    against: list[str] = field(default_factory=list)  # request ids that count against the KPI
    provisional: bool = False  # the La Paz day is still in progress ("en curso"): it may change

    @property
    def value(self) -> float | None:
        """Percent, 2 decimals; None for a day with no requests (no indicator)."""
        return round(100.0 * self.efficient / self.requests, 2) if self.requests else None

    @property
    def verdict(self) -> str:
        """Aceptado above the threshold, else Observado; Sin solicitudes for a day without any."""
        if self.value is None:
            return SIN_SOLICITUDES
        return ACEPTADO if self.value > self.threshold else OBSERVADO


def outcome_label(request: SaleRequest) -> str:
    if request.outcome is None:
        return f"open:{request.step.name.lower()}"
    if request.reason is not None:
        return f"{request.outcome.value}:{request.reason.code.value}"
    return request.outcome.value


def daily_kpi(
    day: str, requests: Iterable[SaleRequest], policy: str, threshold: float, provisional: bool = False
) -> KpiReport:
    items = [r for r in requests if r.merged_into is None]  # a lead merged by an agent is not a request
    efficient = [r for r in items if is_efficient(r, policy)]
    ids = {r.request_id for r in efficient}
    return KpiReport(
        day=day,
        policy=policy,
        threshold=threshold,
        requests=len(items),
        efficient=len(efficient),
        breakdown=dict(Counter(outcome_label(r) for r in items)),
        against=sorted(r.request_id for r in items if r.request_id not in ids),
        provisional=provisional,
    )
