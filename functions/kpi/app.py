"""Step III.2 and ops, on a schedule: yesterday's KPI (daily) and overdue human tasks (every 15 min).

The figures leave as CloudWatch metrics (embedded metric format) that the stack's alarms watch.
"""

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.metrics import MetricUnit

from ventas.container import Container
from ventas.contracts import ReportEvent
from ventas.handler import stage_handler
from ventas.services.monitoring import daily_kpi_report, overdue_tasks

# Namespace and the `service` dimension come from POWERTOOLS_* (infra/template.yaml).
metrics = Metrics()


@stage_handler(ReportEvent, path=("requests", "tasks"))
def _report(deps: Container, event: ReportEvent) -> dict[str, Any]:
    metrics.add_dimension(name="stage", value=deps.settings.stage)
    if event.report == "overdue":
        overdue = overdue_tasks(deps)
        metrics.add_metric(name="TasksOverdue", unit=MetricUnit.Count, value=overdue)
        return {"overdue": overdue}
    report = daily_kpi_report(deps, event.day)
    metrics.add_metric(name="KpiRequests", unit=MetricUnit.Count, value=report.requests)
    metrics.add_metric(name="KpiEfficient", unit=MetricUnit.Count, value=report.efficient)
    if report.requests:  # a day without requests has no KPI (the alarm treats it as missing)
        metrics.add_metric(name="KpiPercent", unit=MetricUnit.Percent, value=report.value)
    return {"day": report.day, "kpi": report.value, "verdict": report.verdict, "requests": report.requests}


handler = metrics.log_metrics(_report)
