"""Personal data of a sale request: which fields hold it, and how a request is anonymised.

The one place that lists personal fields. `SaleRequest` fields are either personal (cleared by
`anonymise_request`) or kept (what the KPI of step III.2, the business metrics and the sale
record need, none of which identifies a person); tests/unit/test_privacy.py fails when a field
is added to the model without being put in one of the two lists.

Task results (what an agent typed: CI, name, location, free comments) are personal too, and so
are some history details: what a customer wrote on WhatsApp, agents' comments, wamids.
"""

from __future__ import annotations

from datetime import datetime

from ventas.domain.models import HistoryEntry, SaleRequest
from ventas.domain.tasks import HumanTask

# Cleared on anonymisation. `documents` also names the stored copies (object keys), deleted.
PERSONAL_FIELDS: frozenset[str] = frozenset({"phone", "documents_from", "name", "ci", "location", "documents"})
# Kept: ids, the procedure's state, the outcome and what the KPI counts (kpi.is_efficient).
KEPT_FIELDS: frozenset[str] = frozenset(
    {
        "request_id",
        "channel",
        "channel_lead_id",  # the channel's own reference (a missed call's holds a keyed hash only)
        "status",
        "step",
        "created_at",
        "updated_at",
        "service_code",
        "missed_call",
        "order_id",
        "expected_completion_date",
        "installed_at",
        "qc_at",
        "satisfaction",
        "outcome",
        "reason",
        "manual_reviews",
        "joined_leads",
        "version",
        "anonymised_at",
        "possible_duplicate_of",  # request ids only
        "merged_into",
        "installation_events",  # Instalaciones' event ids and kinds
        "waits",  # workflow task tokens (cleared when the request ends)
        "messages",  # message kinds and their state (sent, refused, a lease)
        "open_tasks",  # task ids, kinds and attempts
    }
)
# Keys of a task's `result` that hold what a person said or typed.
PERSONAL_RESULT_FIELDS: frozenset[str] = frozenset({"ci", "name", "phone", "location", "comment"})
# Keys of a history entry's `detail` that hold what a person said or typed, or encode a phone:
# a customer's WhatsApp message kept for the agent (`content`), agents' comments (`comment`, e.g.
# a duplicate review), a message's wamid (it encodes the phone), identity fields.
PERSONAL_DETAIL_FIELDS: frozenset[str] = frozenset(
    {"content", "comment", "wamid", "ci", "phone", "caller", "name", "location"}
)
# Fields of a task's glance of its request (`domain.tasks.RequestGlance`) that are personal.
PERSONAL_GLANCE_FIELDS: tuple[str, ...] = ("name", "phone", "ci")
ERASED_PHONE = ""  # the model requires a string; an anonymised request has no phone


def anonymise_request(request: SaleRequest, at: datetime) -> SaleRequest:
    """A copy without personal data, marked `anonymised_at`; KPI fields unchanged.

    Raises ValueError for an open request: its workflow still needs the customer's data
    (close or cancel it first).
    """
    if request.is_open:
        raise ValueError(f"request {request.request_id} is still open")
    return request.model_copy(
        update={
            "phone": ERASED_PHONE,
            "documents_from": None,
            "name": None,
            "ci": None,
            "location": None,
            "documents": [],
            "anonymised_at": request.anonymised_at or at,
        }
    )


def anonymise_task(task: HumanTask) -> HumanTask:
    """A copy whose result keeps only what is not personal (e.g. `reached`, `satisfaction`),
    and whose glance of the request keeps the service and the order only."""
    update: dict[str, object] = {}
    if task.result:
        update["result"] = {k: v for k, v in task.result.items() if k not in PERSONAL_RESULT_FIELDS}
    if task.glance is not None:
        update["glance"] = task.glance.model_copy(update=dict.fromkeys(PERSONAL_GLANCE_FIELDS))
    return task.model_copy(update=update) if update else task


def has_personal_result(task: HumanTask) -> bool:
    """Whether the task holds personal data: in the agent's result or in its glance."""
    in_glance = task.glance is not None and any(getattr(task.glance, f) for f in PERSONAL_GLANCE_FIELDS)
    return in_glance or (bool(task.result) and any(k in PERSONAL_RESULT_FIELDS for k in task.result or {}))


def anonymise_history_entry(entry: HistoryEntry) -> HistoryEntry | None:
    """A copy whose detail keeps only what is not personal, marked `redacted: true`; None when
    the entry holds nothing personal (it stays as it is)."""
    personal = PERSONAL_DETAIL_FIELDS & entry.detail.keys()
    if not personal:
        return None
    kept = {k: v for k, v in entry.detail.items() if k not in personal}
    return entry.model_copy(update={"detail": kept | {"redacted": True}})
