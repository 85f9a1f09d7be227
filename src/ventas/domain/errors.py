"""Errors the workflow reacts to. Their class names are the ASL error names (Lambda errorType)."""

from pydantic import ValidationError


class VentasError(Exception):
    """Base class of the product's own errors."""


class BackOfficeUnavailable(VentasError):
    """A back-office system (NAF, GIS, Smartflex, installations) did not answer: Retry, then review."""


class AlreadyExists(VentasError):
    """`add` of a request or task id that is already stored."""


class ConcurrentUpdate(VentasError):
    """The request changed since it was read (another stage or event saved it): read again."""


class RequestNotFound(VentasError):
    pass


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
