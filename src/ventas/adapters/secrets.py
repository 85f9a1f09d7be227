"""Secrets Manager values through powertools parameters, cached in the container.

The PII hashing key is read once per container: it never changes while requests are open (see
docs/deploy.md, "Rotating secrets"). Back-office tokens are re-read every few minutes, so a
rotated token reaches running containers without a deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ONCE_PER_CONTAINER = 366 * 24 * 3600  # seconds: longer than any container lives
TOKEN_MAX_AGE = 300


def _get_secret(secret_id: str, max_age: int, transform: str | None = None) -> Any:
    from aws_lambda_powertools.utilities.parameters import get_secret

    if transform == "json":
        return get_secret(secret_id, transform="json", max_age=max_age)
    return get_secret(secret_id, max_age=max_age)


def secret_string(secret_id: str, max_age: int = ONCE_PER_CONTAINER) -> str:
    value = _get_secret(secret_id, max_age)
    if not isinstance(value, str) or not value:
        raise ValueError("the secret has no string value")
    return value


def json_secret_field(secret_id: str, max_age: int = TOKEN_MAX_AGE) -> Callable[[str], str]:
    """A reader of one field of a JSON secret, e.g. {"naf": "<token>", "gis": "<token>"}."""

    def field(name: str) -> str:
        value = _get_secret(secret_id, max_age, transform="json").get(name)
        if not isinstance(value, str) or not value:
            raise ValueError(f"the secret has no value for {name!r}")
        return value

    return field
