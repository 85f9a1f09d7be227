"""moto's DynamoDB as the local stack needs it (moto 5.2.x; installed by `devstack.moto_bridge`).

1. Atomic conditional writes: moto checks a write's condition and then writes without a lock,
   so concurrent conditional writes can both succeed. DynamoDB makes them atomic; we serialise
   moto's calls so idempotency and "complete once" hold locally as they do in AWS.
2. Transactions back up the items they name, not whole tables (below).
3. Queries read the items they can match, unsorted: moto's Query calls `Table.all_items()`,
   which SORTS every item of the table on each call (Python-level comparisons of its key
   types), then keeps the few of one partition. Under a day's load that made every Query cost
   O(n log n) in the table's size, while every other DynamoDB call waited on the lock of 1:
   intake slowed as the table filled (bench/load_day.py). A base-table Query now reads its
   partition's items only; an index Query walks the items once, unsorted, and moto sorts what
   matched, as it did. Scans keep moto's sorted walk (their pages depend on that order).
"""

from __future__ import annotations

import threading
from typing import Any


def install() -> None:
    """Every patch of this module, once per process (each is idempotent)."""
    atomic_dynamodb_writes()
    partition_queries()


def atomic_dynamodb_writes() -> None:
    """Serialise moto's DynamoDB calls (condition check + write as one step; a read never sees a
    table a write is changing: moto's Query walks the table's dict, and a concurrent write broke
    it with "dictionary changed size during iteration", an HTTP 500). Idempotent."""
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_vd_atomic", False):
        return
    _item_level_transaction_backup()  # first: the lock below then covers its backup reads too
    writes = threading.RLock()  # re-entrant: moto's transact_write_items calls put_item
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "get_item", "query", "scan"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with writes:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, locked)
    setattr(DynamoDBBackend, "_vd_atomic", True)  # noqa: B010 - marks the class patched


_in_transaction = threading.local()


def _item_level_transaction_backup() -> None:
    """moto's transact_write_items deep-copies every table it touches before writing, to roll
    back on failure: a cost that grows with the table (0.4 s a transaction at 5,000 items), so
    a local day slows down as it fills the table, and a concurrent reader can break the copy
    ("dictionary changed size during iteration", an HTTP 500). Back up only the items the
    transaction names instead, restore them if it fails, and let moto's copy of the table
    return the table itself (the writes are serialised by `atomic_dynamodb_writes`'s lock).
    Same outcome as moto's rollback: every named item as it was before."""
    import copy

    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    real_deepcopy = copy.deepcopy

    def deepcopy(value: Any, memo: Any = None) -> Any:
        if isinstance(value, Table) and getattr(_in_transaction, "on", False):
            return value
        return real_deepcopy(value, memo)

    class _Copy:
        def __getattr__(self, name: str) -> Any:
            return deepcopy if name == "deepcopy" else getattr(copy, name)

    setattr(models, "copy", _Copy())  # noqa: B010 - the module calls copy.deepcopy(...)
    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        backups: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = self.get_table(op["TableName"])
                key = op.get("Key") or {
                    k: op["Item"][k] for k in (table.hash_key_attr, table.range_key_attr) if k is not None
                }
                current = self.get_item(op["TableName"], key)
            except Exception:  # noqa: S112 - moto itself reports what is wrong with this entry
                continue
            backups.append((op["TableName"], key, None if current is None else current.to_json()["Attributes"]))
        _in_transaction.on = True
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, before in reversed(backups):
                if before is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before)
            raise
        finally:
            _in_transaction.on = False

    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


_query = threading.local()  # the table and partition a Query in this thread reads (point 3)


def partition_queries() -> None:
    """Point 3 of the module docstring. Idempotent."""
    from moto.dynamodb.models.table import Table

    if getattr(Table, "_vd_queries", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items

    def all_items(self: Any) -> list[Any]:
        scope = getattr(_query, "scope", None)
        if scope is None or scope[0] is not self:
            moto_all_items: Any = Table._vd_queries[1]  # type: ignore[attr-defined]
            return list(moto_all_items(self))
        _, index_name, hash_key = scope
        if index_name is None:  # the base table: one partition
            found = self.items.get(hash_key)
            if found is None:
                return []
            return list(found.values()) if self.range_key_attr else [found]
        if not self.range_key_attr:
            return list(self.items.values())
        return [item for partition in self.items.values() for item in partition.values()]

    def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
        _query.scope = (self, index_name, hash_key)
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            _query.scope = None

    setattr(Table, "all_items", all_items)  # noqa: B010 - a moto class
    setattr(Table, "query", query)  # noqa: B010
    setattr(Table, "_vd_queries", (original_query, original_all_items))  # noqa: B010 - moto's own, kept
