"""Security tier: the unit tier's in-memory API and the functional tier's local stack, reused."""

from tests.unit.api_harness import api
from tests.unit.conftest import clock, deps

__all__ = ["api", "clock", "deps"]
