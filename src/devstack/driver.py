"""Drive the local stack as its outside world does: channels, agents, customers, Instalaciones.

`DriverBase` holds what every driver shares; `devstack.http_driver.HttpDriver` acts through the
HTTP API, the only way in for channels, agents, WhatsApp and Instalaciones; `Driver` is that
driver in the stack's own process, reading state straight from the stack for speed (tests and
benches) and reporting IVR missed calls by the documented direct invoke of the intake function.
Every wait here has a deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from devstack.stack import LocalStack

T = TypeVar("T")


class InvokeError(Exception):
    """A Lambda answered with FunctionError: `error_type` is the exception's class name."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, interval: float = 0.05) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class DriverBase:
    """What every driver derives from `execution` and `history`, and the local stack's own
    outbox and back office (the same whether the outside world talks Lambda or HTTP)."""

    def _local(self) -> LocalStack:
        raise NotImplementedError

    def execution(self, request_id: str) -> dict[str, Any]:
        raise NotImplementedError

    def history(self, request_id: str) -> list[dict[str, Any]]:
        raise NotImplementedError

    def finish(self, request_id: str, timeout: float = 30) -> dict[str, Any]:
        """Wait until the execution ends; returns DescribeExecution (its main fields)."""

        def ended() -> dict[str, Any] | None:
            described = self.execution(request_id)
            return described if described["status"] != "RUNNING" else None

        return wait_for(ended, timeout, f"end of {request_id}", interval=0.1)

    def states_entered(self, request_id: str) -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"] for e in self.history(request_id) if "stateEnteredEventDetails" in e
        ]

    def messages(self, request_id: str) -> list[str]:
        """Templates of the WhatsApp messages the customer of a request received, oldest first."""
        return [m["template"] for m in self._local().deps.notifier.messages_for(request_id)]

    def outage(self, system: str, times: int | None = None) -> None:
        """A back office (naf, gis, smartflex, installations) stops answering, as in `FaultSwitch`."""
        self._local().faults.fail(system, times)

    def heal(self, system: str) -> None:
        self._local().faults.heal(system)


# The in-process driver lives beside the HTTP one it extends, which imports this module: it is
# resolved on first use, so either module may be imported first.
if TYPE_CHECKING:
    from devstack.http_driver import Driver
else:

    def __getattr__(name: str) -> Any:
        if name == "Driver":
            from devstack.http_driver import Driver

            return Driver
        raise AttributeError(name)


__all__ = ["Driver", "DriverBase", "InvokeError", "wait_for"]
