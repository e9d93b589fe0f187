"""Where a post's server CPU goes: a burst through the API, measured, then profiled.

    python -m bench.post_path [--source DIR] [--label NAME] [--posts 10000] [--out PATH]

livethread as bench/fanout.py runs it (two processes on a private redis-server, one SQLite
file, the workers in process), `--posts` posts to one thread by 32 keep-alive clients. First a
burst measured without a profiler (server CPU per committed post, both processes, everything
included), then a second burst under py-spy (`--gil`: samples of the Python thread holding the
interpreter, so a share is of the Python work; time in SQLite or the kernel with the lock
released is not in it) on the first process. Writes one section, named `--label`, into
`--out` (bench/POST_PATH.md), keeping the other sections: run it once on an older tree
(`--source`, e.g. a `git worktree` of an earlier commit, whose `server` package the processes
then import) and once on this one, and the file holds the profile before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.fanout import BENCH, LoadGen, Servers, _frame_name, log, measured, revision

RATE = 500  # py-spy samples per second
# The stages of a post, each a function whose samples include everything it calls.
STAGES = (
    ("the HTTP request and the ASGI stack, everything included", "RequestResponseCycle.run_asgi"),
    ("Starlette's middleware and routing, down to the handler", "ServerErrorMiddleware.__call__"),
    ("the API handler (decoding, checks, the use case, the answer)", "Api.post"),
    ("the post use case (rules, rendering, the transaction, the publish)", "Comments.post"),
    ("rendering the body (Markdown, links, cleaning)", "render"),
    ("auto-moderation", "Automod.screen"),
    ("the store transaction's statements", "SqliteTransaction."),
    ("joining and committing the group (turns, the COMMIT's hop)", "GroupWriter."),
    ("publishing on the bus (the outbox task, Redis)", "Outbox._drain"),
    ("the bus's subscriber (Redis messages in)", "RedisBus._run"),
    ("the workers' rounds (webhooks, mail, classifier)", "Consumer._round"),
)


async def burst(posts: int, source: Path | None, profile: Path | None) -> tuple[float, int]:
    """(server CPU µs per committed post, samples taken) for one burst on fresh servers."""
    env = {"PYTHONPATH": str(source)} if source else {}
    with tempfile.TemporaryDirectory(prefix="livethread-post-path-") as tmp:
        servers = Servers("livethread", Path(tmp), env=env)
        lg = LoadGen(servers)
        spy = None
        try:
            await servers.start()
            await lg.start()
            warm = {"thread": "warm", "count": 500, "concurrency": 32, "max_seconds": 60.0}
            await lg.call("posts", **warm)
            if profile is not None:
                spy = await asyncio.create_subprocess_exec(
                    *(_py_spy(), "record", "--gil", "-r", str(RATE), "-f", "raw"),
                    *("-o", str(profile), "--pid", str(servers.pids[0])),
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                await asyncio.sleep(1.5)  # py-spy attaches
            answer, usage = await measured(
                servers,
                lambda: lg.call(
                    "posts", thread="snap", count=posts, concurrency=32, max_seconds=120.0
                ),
            )
        finally:
            if spy is not None and spy.returncode is None:
                spy.send_signal(2)  # py-spy writes its file on SIGINT
                async with asyncio.timeout(60):
                    await spy.wait()
            await lg.stop()
            await servers.stop()
    ok = int(answer["ok"])
    return (usage.server_cpu / ok * 1e6 if ok else 0.0), ok


def _py_spy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise SystemExit("py-spy not found: make bench-deps")
    return found


def stages(raw: Path, cpu_us: float) -> list[str]:
    """The section's tables: each stage's share of the samples (and of the CPU per post), and
    the functions with the most samples of their own."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        total += n
        for _, marker in STAGES:
            if any(re.match(re.escape(marker) + r"(\b|$)", frame) for frame in frames):
                inclusive[marker] += n
        if frames:
            own[frames[-1]] += n
    if not total:
        return ["(no samples)"]
    lines = [
        f"{total:,} samples. A stage's µs is its share of the samples times the CPU per post.",
        "",
        "| stage | share of samples | µs per post |",
        "|---|---:|---:|",
    ]
    for text, marker in STAGES:
        share = inclusive[marker] / total
        lines.append(f"| {text} (`{marker}`) | {share:.1%} | {share * cpu_us:,.0f} |")
    lines += ["", "| function (own samples) | share |", "|---|---:|"]
    lines += [f"| `{name}` | {n / total:.1%} |" for name, n in own.most_common(15)]
    return lines


def write_section(out: Path, label: str, heading: str, body: list[str]) -> None:
    """Replace (or add) the `## label` section of `out`, keeping the others."""
    text = out.read_text() if out.exists() else "# The post path, profiled\n\n" + __doc__ + "\n"
    sections = re.split(r"(?m)^(?=## )", text)
    kept = [s for s in sections if not s.startswith(f"## {label}\n")]
    kept.append("\n".join([f"## {label}", "", heading, "", *body, ""]) + "\n")
    out.write_text("".join(kept))


async def run(args: argparse.Namespace) -> int:
    source = args.source.resolve() if args.source else None
    cpu_us, ok = await burst(args.posts, source, None)
    log(f"{args.label}: {cpu_us:,.0f} µs server CPU per committed post ({ok} posts)")
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "profile.txt"
        await burst(args.posts, source, raw)
        body = stages(raw, cpu_us)
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    tree = f"{source} at {revision_of(source)}" if source else f"this tree at {revision()}"
    heading = (
        f"{when}, {tree}: **{cpu_us:,.0f} µs** of server CPU per committed post "
        f"({ok:,} posts, both processes, measured without the profiler); "
        f"`{shlex.join(['python', '-m', 'bench.post_path', *sys.argv[1:]])}`."
    )
    write_section(args.out, args.label, heading, body)
    print("\n".join([heading, "", *body]))
    return 0


def revision_of(source: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.post_path", description=__doc__)
    parser.add_argument("--source", type=Path, help="the tree whose server to run (default: this)")
    parser.add_argument("--label", default="after", help="the section to write (default: after)")
    parser.add_argument("--posts", type=int, default=10000, help="posts per burst")
    parser.add_argument("--out", type=Path, default=BENCH / "POST_PATH.md")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
