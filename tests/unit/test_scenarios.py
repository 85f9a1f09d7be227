"""The simulated day's scenarios: deterministic per seed, and built so that no two open
requests belong to the same customer (they would be joined)."""

from __future__ import annotations

from collections import Counter

from devstack.scenarios import MIX, allocate, generate


def test_the_same_seed_gives_the_same_day() -> None:
    assert generate(50, 2026) == generate(50, 2026)
    assert generate(50, 2026) != generate(50, 7)


def test_the_mix_follows_the_weights_and_keeps_every_end_in_a_small_day() -> None:
    assert len(allocate(50)) == 50
    assert set(allocate(50)) <= set(MIX)
    expected = Counter(s.expected.split(":")[0] for s in generate(12, 7))
    assert {"sold", "rejected", "abandoned"} <= set(expected)


def test_customers_do_not_repeat_except_on_purpose() -> None:
    day = generate(200, 1)
    own = [s for s in day if s.duplicate_of is None]
    assert len({s.phone for s in own}) == len(own)
    assert len({s.ci for s in own}) == len(own)
    for duplicate in (s for s in day if s.duplicate_of is not None):
        assert duplicate.phone == day[duplicate.duplicate_of].phone
    assert sum(s.outage for s in day) == 1
