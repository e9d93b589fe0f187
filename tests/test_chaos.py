"""The chaos run (tests/chaos.py) in short form: faults at seeded moments, invariants hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import chaos


@pytest.mark.timeout(90)
async def test_short_chaos_run_breaks_no_invariant(tmp_path: Path, database_url: str) -> None:
    """Through a Redis restart and a server kill nothing is lost, doubled, reordered or revived."""
    config = chaos.Config(readers=20, seconds=10, rate=20, seed=4)
    result = await chaos.run(config, tmp_path, database_url)
    print("\n" + result.table())
    assert {f.kind for f in result.faults} == {"redis", "server"}
    assert result.posts_acked == result.posts_tried == 200
    assert result.removals_acked == result.removals_tried == 20
    assert result.not_converged == 0
    assert result.delivered == [result.final_seq] * config.readers
    assert (
        result.lost,
        result.duplicated,
        result.out_of_order,
        result.resurrected,
        result.missing_in_db,
        result.stored_twice,
    ) == (0, 0, 0, 0, 0, 0)
