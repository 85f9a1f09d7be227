"""Fakes for the WhatsApp tests: a notifier with scripted answers, media and repositories that fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ventas.domain.errors import BackOfficeUnavailable
from ventas.domain.models import HistoryEntry


@dataclass
class ScriptedNotifier:
    """Returns the scripted wamids in order (then `wamid.test-<n>`); raises what `answers`
    maps a message kind to (an exception, or a list of them, one per attempt)."""

    ids: list[str] = field(default_factory=list)
    answers: dict[str, list[Exception]] = field(default_factory=dict)
    sent: list[tuple[str, str, str]] = field(default_factory=list)  # (request_id, kind, text)

    def send(self, request_id: str, phone: str, template: str, text: str) -> str:
        pending = self.answers.get(template)
        if pending:
            raise pending.pop(0)
        self.sent.append((request_id, template, text))
        return self.ids.pop(0) if self.ids else f"wamid.test-{len(self.sent)}"

    def kinds(self, request_id: str) -> list[str]:
        return [kind for rid, kind, _ in self.sent if rid == request_id]


@dataclass
class FlakyMedia:
    """Media download that fails (BackOfficeUnavailable) for the listed media ids, `times` each."""

    failing: dict[str, int] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)

    def fetch(self, media_id: str) -> bytes:
        self.fetched.append(media_id)
        if self.failing.get(media_id, 0) > 0:
            self.failing[media_id] -= 1
            raise BackOfficeUnavailable("media download failed")
        return b"%PDF-1.4 " + media_id.encode()


class ThrottledHistory:
    """A request repository whose history writes (a note alone, or a save carrying the entry)
    fail `times` times when `when` holds (a DynamoDB throttle, as botocore raises it: not one
    of the product's errors)."""

    def __init__(self, inner: Any, times: int, when: Callable[[HistoryEntry], bool]) -> None:
        self._inner = inner
        self._times = times
        self._when = when

    def append_history(self, request_id: str, entry: HistoryEntry) -> None:
        if self._times > 0 and self._when(entry):
            self._times -= 1
            raise RuntimeError("ProvisionedThroughputExceededException")
        self._inner.append_history(request_id, entry)

    def save(self, request: Any, tasks: Any = ()) -> None:
        if self._times > 0 and any(self._when(entry) for entry in request.new_history):
            self._times -= 1
            raise RuntimeError("ProvisionedThroughputExceededException")
        self._inner.save(request, tasks)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
