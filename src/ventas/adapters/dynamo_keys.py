"""Key and paging rules of the DynamoDB adapters (`ventas.adapters.dynamo` documents the design).

Sortable UTC timestamps, index attributes, the La Paz day of a request, opaque page tokens and
the conflict a failed conditional task write means. No boto3 here; the in-memory fakes of the
tests order and page with these same rules.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from ventas.domain.errors import TaskConflict
from ventas.domain.models import SaleRequest
from ventas.domain.schedule import local_day
from ventas.domain.tasks import HumanTask, TaskStatus

REQUEST_PAGE_KEY = ("pk", "sk", "gsi1pk", "gsi1sk")  # LastEvaluatedKey of GSI by_status
INBOX_PAGE_KEY = ("task_id", "status", "inbox_sk")  # LastEvaluatedKey of GSI inbox
OPEN_TASK_STATES = (TaskStatus.OPEN, TaskStatus.CLAIMED)
_sequence = itertools.count()  # next() on a count is atomic under the GIL


def iso(moment: datetime) -> str:
    """Fixed-width UTC text of an aware datetime: sorts as text like the instant it names."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: the repositories store timezone-aware UTC only")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def la_paz_day(moment: datetime) -> str:
    iso(moment)  # same naive-datetime check
    return local_day(moment)


def request_index(request: SaleRequest) -> dict[str, str]:
    """The GSI attributes of a request item."""
    created = f"{iso(request.created_at)}#{request.request_id}"
    index = {
        "gsi1pk": f"STATUS#{request.status.value}",
        "gsi1sk": created,
        "gsi2pk": f"DAY#{la_paz_day(request.created_at)}",
        "gsi2sk": created,
    }
    if request.order_id:
        index["gsi3pk"] = f"ORDER#{request.order_id}"
    if request.documents_from and "documents" in request.waits:
        index["gsi4pk"] = awaiting_documents_key(request.documents_from)
    return index


def awaiting_documents_key(phone_key: str) -> str:
    """The partition of GSI `awaiting_documents` of a phone's keyed hash."""
    return f"DOCS#{phone_key}"


def request_keys(request: SaleRequest) -> dict[str, str]:
    return {"pk": f"REQ#{request.request_id}", "sk": "META", **request_index(request)}


def history_sk(at: datetime) -> str:
    """Sorts by `at`, then by append order within a process; unique across processes."""
    return f"HIST#{iso(at)}#{next(_sequence):012d}-{uuid.uuid4().hex[:8]}"


def task_document(task: HumanTask) -> dict[str, Any]:
    """A task item in JSON form: `created_at` sortable, plus the inbox sort key."""
    document = task.model_dump(mode="json")
    document["created_at"] = iso(task.created_at)
    document["inbox_sk"] = f"{iso(task.due_at)}#{task.task_id}"
    return document


def check_day(day: str) -> str:
    try:
        return date.fromisoformat(day).isoformat()
    except ValueError:
        raise ValueError(f"día no válido: {day!r} (formato AAAA-MM-DD)") from None


def check_limit(limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")


def encode_page(key: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(key), sort_keys=True).encode()).decode()


def decode_page(token: str, fields: Sequence[str], partition: tuple[str, str]) -> dict[str, str]:
    """The key a token names; ValueError (bad request) when not issued for this query."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (binascii.Error, UnicodeError, ValueError):
        key = None
    name, value = partition
    if (
        not isinstance(key, dict)
        or sorted(key) != sorted(fields)
        or not all(isinstance(v, str) for v in key.values())
        or key[name] != value
    ):
        raise ValueError("token de paginación no válido")
    return cast(dict[str, str], key)


def task_conflict(stored: HumanTask, task: HumanTask, claimant: str | None) -> TaskConflict:
    """Why a conditional task write failed, told to the agent who tried it."""
    if stored.status == TaskStatus.COMPLETED:
        return TaskConflict("La tarea ya fue completada.", "already_completed", stored)
    if stored.status == TaskStatus.EXPIRED:
        return TaskConflict("La tarea venció: el proceso ya no espera esta respuesta.", "expired", stored)
    if stored.status == TaskStatus.CLAIMED and stored.assignee != (claimant or task.assignee):
        return TaskConflict("La tarea está asignada a otro agente.", "claimed_by_other", stored)
    changed = "La tarea cambió mientras la atendía. Actualice la bandeja e intente de nuevo."
    return TaskConflict(changed, "conflict", stored)
