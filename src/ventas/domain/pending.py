"""Lookup keys an aggregate binds or releases with its next save (pure pydantic, no AWS).

The repository's `save` writes them in the same unit as the state and its history (one
DynamoDB TransactWriteItems, `ventas.adapters.dynamo`), then clears them (`keys_saved`).
"""

from __future__ import annotations

from pydantic import BaseModel, PrivateAttr


class PendingKeys(BaseModel):
    """Base of an aggregate whose saves also bind and release lookup keys."""

    # key -> the value to bind (unconditionally: keys only this aggregate can own)
    _new_keys: dict[str, str] = PrivateAttr(default_factory=dict)
    # key -> the value it must still hold to be released
    _released_keys: dict[str, str] = PrivateAttr(default_factory=dict)
    # key -> the value to bind only if the key is free (else it stays with its holder)
    _claimed_keys: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def new_keys(self) -> dict[str, str]:
        """Lookup keys to bind with the next save (key -> value), as `claim_key` would."""
        return dict(self._new_keys)

    @property
    def released_keys(self) -> dict[str, str]:
        """Lookup keys to release with the next save (key -> value they must still hold)."""
        return dict(self._released_keys)

    def bind_key(self, key: str, value: str) -> None:
        """Bind a lookup key that only this aggregate can own (a wamid, a WhatsApp message id)
        in the same unit as the next save."""
        self._new_keys[key] = value

    def release_key(self, key: str, value: str) -> None:
        """Release a lookup key still bound to `value` in the same unit as the next save (an
        end frees the customer's keys)."""
        self._released_keys[key] = value

    @property
    def claimed_keys(self) -> dict[str, str]:
        """Lookup keys to bind with the next save only if free (key -> value)."""
        return dict(self._claimed_keys)

    def claim_key(self, key: str, value: str) -> None:
        """Bind a lookup key in the same unit as the next save if no one holds it (a customer's
        `open#` key learnt on a call); held already, it stays with its holder."""
        self._claimed_keys[key] = value

    def take_conditional_keys(self) -> tuple[dict[str, str], dict[str, str]]:
        """The keys to release and to claim with the next save, no longer part of it (the
        repository releases and claims them on their own when one is not as expected)."""
        keys = dict(self._released_keys), dict(self._claimed_keys)
        self._released_keys.clear()
        self._claimed_keys.clear()
        return keys

    def keys_saved(self) -> None:
        self._new_keys.clear()
        self._released_keys.clear()
        self._claimed_keys.clear()
