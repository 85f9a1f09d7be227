"""Back office: Instalaciones y Traslados (OPR-PAS-P02) reports on an order (step 12)."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.http import Call, Reply, deps, route
from ventas.domain.errors import InstallationConflict
from ventas.services import installations
from ventas.web.errors import ApiError
from ventas.web.views import InstallationReceiptView, local

bp = Blueprint(__name__)


@route(bp, "reportInstallation")
def report_installation(call: Call) -> Reply:
    order_id = call.params["order_id"]
    try:
        receipt = installations.report_installation(deps(), order_id, call.body)
    except installations.OrderNotFound:
        raise ApiError(404, "order_not_found", "No encontramos el pedido indicado.") from None
    except InstallationConflict as exc:
        raise ApiError(409, "installation_conflict", str(exc)) from None
    url = f"/v1/requests/{receipt.request_id}"
    body = InstallationReceiptView(
        order_id=receipt.order_id,
        event_id=receipt.event_id,
        kind=receipt.kind,
        duplicate=receipt.duplicate,
        request_id=receipt.request_id,
        status_url=url,
        qc_at=receipt.qc_at,
        qc_at_local=local(receipt.qc_at),
    )
    return Reply(body, status=200 if receipt.duplicate else 202, headers={"Location": url})
