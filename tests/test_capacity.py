"""The capacity model (bench/capacity.py): its arithmetic on made-up figures, its refusals of
incomplete input, and deploy/CAPACITY.md held to the committed figures."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bench.capacity import ROOT, decode, main, render
from bench.capacity_model import InputError, Shape, Size, costs, size

# Made up for these tests only: round numbers whose arithmetic can be done by hand.
METRICS: dict[str, float] = {
    "one.cpu_us": 20.0,
    "one.irq": 0.0,
    "one.dps": 10_000.0,
    "many.cpu_us": 0.0,
    "many.dps": 1_000.0,
    "ladder.max": 100_000.0,
    "idle_mb": 8.0,
    "cap.mb": 14.0,
    "cap.connected": 20_000.0,
    "storm.s": 2.5,
    "storm.cpu_us": 500.0,
    "posts.rate": 1_500.0,
    "snap.kb": 3_000.0,
    "snap.comments": 10_000.0,
}


def fanout(changes: dict[str, float | None] | None = None) -> dict[str, Any]:
    """A results.json of two runs; each metric's median is METRICS' value (runs at x0.5, x1.5),
    or the one `changes` gives (None: missing from every run)."""
    metrics: dict[str, float | None] = {**METRICS, **(changes or {})}
    runs = [
        {"livethread": {"metrics": {k: None if v is None else v * f for k, v in metrics.items()}}}
        for f in (0.5, 1.5)
    ]
    return {
        "started": "2026-01-02T03:04:05+00:00",
        "environment": {"revision": "abc1234", "machine": "2 x test CPU"},
        "plan": {"five": 5000, "per_thread": 5, "many_rate": 200.0, "one": 1000},
        "runs": runs,
    }


def posting(**postgres: float | None) -> dict[str, Any]:
    store: dict[str, float | None] = {
        "posts_per_second": 1_000.0,
        "answer_p99_ms": 50.0,
        "server_cpu_us_per_post": 1_000.0,
        "spread_posts_per_second": 2_000.0,
        "spread_server_cpu_us_per_post": 900.0,
        "paced_200_p99_ms": 10.0,
        "snapshot_10k_ms": 5.0,
    }
    pg = store | {"posts_per_second": 500.0, "server_cpu_us_per_post": 1_600.0}
    pg |= {"spread_posts_per_second": 800.0, "spread_server_cpu_us_per_post": 1_500.0}
    pg |= {"database_cpu_percent": 40.0, **postgres}
    stores = {"sqlite": store, "postgres": pg}
    return {
        "command": "python -m bench.posting",
        "started": "2026-01-03",
        "runs": 3,
        "stores": stores,
    }


def encoded(data: dict[str, Any]) -> bytes:
    return json.dumps(data).encode()


def model(
    shape: Shape,
    readers: int,
    metrics: dict[str, float | None] | None = None,
    post: dict[str, Any] | None = None,
) -> Size:
    rows, _ = decode(
        encoded(fanout(metrics)), "f.json", None if post is None else encoded(post), "p.json"
    )
    return size(rows, shape, costs(rows, shape), readers)


def test_doubling_the_rate_per_core_halves_the_cores_and_the_processes() -> None:
    """Twice the deliveries a core halves the cores (42 → 21) and, rounded up, the processes."""
    shape = Shape(cpu_target=0.8)
    # 100,000 hot readers x 20 posts/s x 20 µs = 40 cores; 1 M / 20 s pings x 2 x 20 µs = 2.
    base = model(shape, 1_000_000)
    halved = model(shape, 1_000_000, {"one.cpu_us": 10.0})
    assert base.cores == pytest.approx(42.0) and halved.cores == pytest.approx(21.0)
    assert (base.processes, halved.processes) == (53, 27)  # 42 / 0.8 = 52.5; 21 / 0.8 = 26.25
    assert (base.hosts, halved.hosts) == (7, 4)
    assert base.running == 56 and halved.running == 32  # one process a core of every host


def test_unit_costs_are_the_rows_arithmetic() -> None:
    """Each unit cost is its rows' arithmetic: softirq, extra readers, PostgreSQL's extra CPU."""
    shape = Shape(small_readers=7)
    rows, _ = decode(
        encoded(fanout({"one.irq": 10.0, "many.cpu_us": 100.0})),
        "f.json",
        encoded(posting()),
        "p.json",
    )
    c = costs(rows, shape)
    assert c.delivery_us == pytest.approx(20.0 + 10.0 / 100 / 10_000 * 1e6)  # 30 µs
    # 100 µs x 1,000 deliveries/s / 200 posts/s = 500; + 2 readers x 30; + (1,500 - 900),
    # PostgreSQL's extra CPU over many threads.
    assert c.small_post_us == pytest.approx(500.0 + 60.0 + 600.0)
    assert c.process_mb == pytest.approx((14.0 - 8.0) * 20 / 2 + 64.0)  # 124 MB
    assert c.reconnects == pytest.approx(5000 / 2.5 / 2)  # 1,000/s a process
    assert c.frame_bytes == pytest.approx(3000 * 1024 / 10_000 + 64)


def test_posts_cost_the_same_cpu_whatever_the_readers_of_small_threads() -> None:
    """1,000 posts/s over 10 times more small threads costs the same CPU (posts x 5 readers)."""
    shape = Shape(hot_share=0.0, hot_posts=0.0, ping_interval=1e12)
    small = model(shape, 10_000, {"many.cpu_us": 100.0})
    large = model(shape, 100_000, {"many.cpu_us": 100.0})
    # 1,000 posts/s x 100 µs x 1,000 / 200 = 0.5 cores at either size.
    assert small.cores == pytest.approx(0.5) and large.cores == pytest.approx(0.5)
    assert "10,000 readers / 5 = 2,000 threads" in small.working[0]
    assert "0.5000 posts/s" in small.working[0] and "0.0500 posts/s" in large.working[0]


def test_memory_adds_hosts_that_cpu_does_not_need() -> None:
    """With 2 GB hosts, a million idle readers (8 MB a thousand) need more hosts than CPU."""
    shape = Shape(host_memory_gb=2.0)
    s = model(shape, 1_000_000, {"one.cpu_us": 0.1})
    # 8 processes x 124 MB leave 1,056 MB a host: 8,000 MB of readers need 8 hosts.
    assert s.hosts == math.ceil(8_000 / (2048 - 8 * 124)) == 8
    assert s.memory_gb <= 2.0
    with pytest.raises(InputError, match="8 processes of 124 MB fill a host"):
        model(replace(shape, host_memory_gb=0.5), 10)


def test_the_hot_thread_and_postgresql_cpu_are_bottlenecks_past_their_measured_rates() -> None:
    """A hot thread at 1,000 posts/s against 500 measured on one thread is named at 200%; at
    20 posts/s, PostgreSQL's CPU (40% of a core per 500 posts/s) is sized, not the limit."""
    hot = model(Shape(hot_posts=1_000.0), 10_000, {"many.cpu_us": 100.0}, posting())
    assert hot.bottleneck.startswith("the hot thread's writes, 200% used: runs out at 500")
    cpu = model(
        Shape(host_cores=1),
        10_000,
        {"many.cpu_us": 1.0},
        posting(),
    )
    # 1,000 / 500 x 0.4 = 0.8 cores of a 1-core server at the 0.7 target: 114%.
    assert cpu.bottleneck.startswith("PostgreSQL CPU (1 cores), 114% used")
    fine = model(Shape(), 10_000, {"many.cpu_us": 100.0}, posting())
    assert fine.bottleneck.startswith("server CPU")
    # Without the posting rows: CPU (0.91 of 8 cores) before Redis (8%) and memory (7%).
    without = model(Shape(), 10_000, {"many.cpu_us": 100.0})
    assert without.bottleneck.startswith("server CPU")


def test_a_metric_missing_from_every_run_names_the_file_and_the_metric(tmp_path: Path) -> None:
    """`storm.s` in no run, or 0: InputError, and the command exits 2 naming file and metric."""
    with pytest.raises(InputError, match=r"f\.json: no run has livethread's metric `storm\.s`"):
        decode(encoded(fanout({"storm.s": None})), "f.json", None, "p.json")
    with pytest.raises(InputError, match=r"f\.json: `storm\.s` is 0\.0, must be above 0"):
        decode(encoded(fanout({"storm.s": 0.0})), "f.json", None, "p.json")
    path = tmp_path / "results.json"
    path.write_text(json.dumps(fanout({"storm.s": None})))
    assert main(["--fanout", str(path), "--out", str(tmp_path / "out.md")]) == 2
    assert not (tmp_path / "out.md").exists()


def test_incomplete_posting_figures_name_the_file_and_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL's own CPU missing, or no PostgreSQL at all, or a field gone: exit 2, named."""
    cases = [
        (posting(database_cpu_percent=None), "no `stores.postgres.database_cpu_percent`"),
        ({**posting(), "stores": {"sqlite": posting()["stores"]["sqlite"]}}, "stores.postgres"),
        ({k: v for k, v in posting().items() if k != "runs"}, "missing required field `runs`"),
    ]
    fan = tmp_path / "results.json"
    fan.write_text(json.dumps(fanout()))
    for data, expected in cases:
        post = tmp_path / "posting.json"
        post.write_text(json.dumps(data))
        argv = ["--fanout", str(fan), "--posting", str(post), "--out", str(tmp_path / "o.md")]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert str(post) in err and expected in err, err


def test_a_shape_that_makes_no_sense_is_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A hot share of 1.5 or more hot posts than posts: exit 2, naming each field."""
    with pytest.raises(InputError, match=r"hot_share must be in \[0, 1\); hot_posts must be"):
        render(encoded(fanout()), "f", None, "p", Shape(hot_share=1.5, hot_posts=2000.0))
    fan = tmp_path / "results.json"
    fan.write_text(json.dumps(fanout()))
    assert main(["--fanout", str(fan), "--hot-share", "1.5", "--out", str(tmp_path / "o")]) == 2
    assert "hot_share must be in [0, 1)" in capsys.readouterr().err


def test_the_command_writes_what_render_prints(tmp_path: Path) -> None:
    """`python -m bench.capacity` writes render's text: the measured rows, dated and sourced."""
    fan, post, out = tmp_path / "r.json", tmp_path / "p.json", tmp_path / "CAPACITY.md"
    fan.write_text(json.dumps(fanout()))
    post.write_text(json.dumps(posting()))
    assert main(["--fanout", str(fan), "--posting", str(post), "--out", str(out)]) == 0
    text = out.read_text()
    assert text == render(fan.read_bytes(), str(fan), post.read_bytes(), str(post), Shape())
    assert "| F1 | `one.cpu_us` | 20.00 |" in text
    assert f"{fan}, median of 2 run(s), 2026-01-02" in text
    assert f"{post}, median of 3 run(s), 2026-01-03" in text


def test_the_committed_capacity_document_is_what_the_committed_figures_print() -> None:
    """deploy/CAPACITY.md is exactly what bench.capacity prints from the committed figures."""
    posting_json = ROOT / "bench" / "posting.json"
    assert posting_json.exists(), (
        "bench/posting.json is missing: run `python -m bench.posting` (it writes it), then "
        "`python -m bench.capacity` to print deploy/CAPACITY.md from it, and commit both"
    )
    expected = render(
        (ROOT / "bench" / "results.json").read_bytes(),
        "bench/results.json",
        posting_json.read_bytes(),
        "bench/posting.json",
        Shape(),
    )
    assert (ROOT / "deploy" / "CAPACITY.md").read_text() == expected, (
        "deploy/CAPACITY.md is stale: run `python -m bench.capacity` and commit it"
    )
