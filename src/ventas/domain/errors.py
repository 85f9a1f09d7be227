"""Errors the workflow reacts to. Their class names are the ASL error names (Lambda errorType)."""

from pydantic import ValidationError


class VentasError(Exception):
    """Base class of the product's own errors."""


class BackOfficeUnavailable(VentasError):
    """A back-office system (NAF, GIS, Smartflex, installations) did not answer: Retry, then review."""


class NotifierUnavailable(VentasError):
    """WhatsApp did not take a customer message (no answer, 5xx, rate limit). Its own ASL error
    name: the notifying states retry it, and it must not open a back-office review."""


class WhatsAppRejected(VentasError):
    """Meta refused a customer message (a 4xx other than a rate limit), or answered outside the
    Cloud API contract: a misconfiguration or a policy limit, not an outage, so never retried.
    The message names Meta's error code, never the phone number or the text."""

    def __init__(self, detail: str, status: int | None = None, code: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code


class MessageWindowClosed(WhatsAppRejected):
    """Meta error 131047: free-form text outside the 24-hour customer-service window. Only an
    approved template reaches the customer then (VD_WHATSAPP_TEMPLATES, docs/deploy.md)."""


class AlreadyExists(VentasError):
    """`add` of a request or task id that is already stored."""


class ConcurrentUpdate(VentasError):
    """The request changed since it was read (another stage or event saved it): read again."""


class RequestNotFound(VentasError):
    pass


class RequestEnded(VentasError):
    """A transition asked of a request that has already ended: nothing was changed."""

    def __init__(self, request_id: str, event: str) -> None:
        super().__init__(f"request {request_id} has ended; {event} refused")
        self.request_id = request_id
        self.event = event


class InstallationConflict(VentasError):
    """An installation event that contradicts the order's state (HTTP 409): e.g. a second
    completion with another event id, a cancellation after the installation, an ended request.
    The message is Spanish, for the integrator's operators."""


class InvalidEvent(VentasError):
    """An outside event whose field holds an impossible value (HTTP 422), e.g. an installation
    time in the future. `field` names it; the message is Spanish."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class TaskNotFound(VentasError):
    pass


class TaskConflict(VentasError):
    """The task is claimed by another agent or already completed."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class WorkflowNotWaiting(VentasError):
    """The workflow behind a task token no longer waits for it (timed out or ended)."""


class UnknownService(VentasError):
    """The service code is not in the product catalogue (COM-GCM-P01)."""


def field_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Field-level detail for systems, from a pydantic error (no input values: they may be personal)."""
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]


class ExecutionNotFound(VentasError):
    """The request has no Step Functions execution (not started yet, or unknown)."""


class NotRedrivable(VentasError):
    """Only a failed, timed-out or aborted execution can be redriven."""


class RedriveUnsupported(VentasError):
    """The Step Functions endpoint does not implement RedriveExecution (moto 5.2 locally)."""


class InvalidQuery(VentasError):
    """A search or report parameter that cannot be answered (bad page token, range too long)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
