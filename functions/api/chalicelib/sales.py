"""Requests as people see them: one request, search, its execution graph, redrive."""

from __future__ import annotations

from chalice.app import Blueprint

from chalicelib.http import Call, deps, route
from ventas.domain.errors import RequestNotFound
from ventas.domain.execution_graph import ExecutionGraph
from ventas.domain.models import SaleRequest
from ventas.services import duplicates, executions, queries
from ventas.web.channel_views import channel_receipt_view, channel_request_view
from ventas.web.spec import RedriveView
from ventas.web.views import RequestDetail, RequestPage, request_detail, request_summary

bp = Blueprint(__name__)


@route(bp, "getRequest")
def get_request(call: Call) -> RequestDetail:
    who = call.principal
    assert who is not None
    request_id = call.params["request_id"]
    if who.channel is not None:
        # A channel reads only the requests its own leads created, or the receipt of its lead
        # that joined another channel's request; any other id is "not found".
        found = queries.channel_read(deps(), request_id)
        if found.channel.value != who.channel:
            raise RequestNotFound(request_id)
        return channel_request_view(found) if isinstance(found, SaleRequest) else channel_receipt_view(found)
    request, history = queries.get_request(deps(), request_id)
    return request_detail(request, history, who)


@route(bp, "listDuplicates")
def list_duplicates(call: Call) -> RequestPage:
    assert call.principal is not None
    held = duplicates.pending(deps(), call.query.limit)
    return RequestPage(items=[request_summary(r, call.principal) for r in held], next_page=None)


@route(bp, "reviewDuplicate")
def review_duplicate(call: Call) -> RequestDetail:
    assert call.principal is not None
    d = deps()
    body = call.body
    request = duplicates.review(d, call.params["request_id"], call.principal.subject, body.decision, body.comment)
    return request_detail(request, d.requests.history(request.request_id), call.principal)


@route(bp, "searchRequests")
def search_requests(call: Call) -> RequestPage:
    assert call.principal is not None
    q = call.query
    found, token = queries.search_requests(
        deps(),
        queries.RequestFilter(status=q.status, step=q.step, channel=q.channel, start=q.start, end=q.end),
        q.limit,
        q.page,
    )
    return RequestPage(items=[request_summary(r, call.principal) for r in found], next_page=token)


@route(bp, "getExecution")
def get_execution(call: Call) -> ExecutionGraph:
    return executions.execution_graph(deps(), call.params["request_id"])


@route(bp, "redriveExecution")
def redrive(call: Call) -> RedriveView:
    assert call.principal is not None
    summary = executions.redrive(deps(), call.params["request_id"], call.principal.subject)
    return RedriveView(request_id=call.params["request_id"], status=summary.status, redrive_count=summary.redrive_count)
