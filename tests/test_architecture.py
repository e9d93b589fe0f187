"""The rules of the house (ARCHITECTURE.md, "The rooms"), checked on the source."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = {"server/model.py", "server/events.py"}
ADAPTERS = "server.adapters"
# The only modules outside server/adapters/ that may import an adapter, and why.
ADAPTER_IMPORTERS = {
    "server.composition": "the composition root: `store_for` and `bus_for` pick the store and the "
    "bus for the web edge (`create_app`), the command line and `livethread worker`",
}
# All that adapters may know of ours besides other adapters: the contract (what a comment and
# an event are), the ports they implement, and the records those ports carry. No use-case, no
# live delivery, no worker, no web edge: adapters store and fetch.
ADAPTERS_KNOW = {
    "server.model",
    "server.events",
    "server.storage",
    "server.bus",
    "workers.cursors",
    # A site's rules, as the rule book port keeps them; reports and audit entries as their
    # ports keep them.
    "server.moderation.rules",
    "server.moderation.ports",
    # The `Buckets` port (flood and velocity limits) with its `Rate` and its error.
    "server.limits",
    # The accounts room's ports and the records they carry (sign-in settings, accounts).
    "server.accounts.ports",
    # The reactions room's port, with the changes and counts it carries.
    "server.reactions.ports",
}
# The rooms: a feature each, whose `__init__.py` names in `__all__` the modules other rooms may
# import; the rest are its own.
FEATURES = (
    "server.threads",
    "server.moderation",
    "server.sites",
    "workers.webhooks",
    "workers.notifications",
    "server.archive",
    "server.accounts",
    "server.reactions",
    "server.feeds",
    "server.importing",
    "server.language",
)
# The command line's parser and its serve/worker/migrate commands (once `server/cli.py`): the
# only modules outside the web edge that may import Starlette.
CLI_ENTRY = {"server/cli/parser.py", "server/cli/serve.py"}
MAX_LINES = 400
# Modules allowed over MAX_LINES, and why; each must still be over it (else drop it here).
LONG_MODULES: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(p for d in ("server", "workers") for p in (ROOT / d).rglob("*.py"))


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", _modules(), ids=_name)
def test_room_rules(path: Path) -> None:
    """Contract imports nothing of ours; only adapters touch drivers; only the edge Starlette."""
    name = _name(path)
    imports = _imports(path)
    roots = {i.split(".")[0] for i in imports}
    if name in CONTRACT:
        ours = {i for i in imports if i.split(".")[0] in ("server", "workers")}
        assert ours <= {"server.model"}, f"{name} imports {ours}"
    if not name.startswith("server/adapters/"):
        assert not roots & {"sqlite3", "asyncpg", "redis"}, f"{name} imports a driver"
    if not (name.startswith("server/web/") or name in CLI_ENTRY):
        assert "starlette" not in roots, f"{name} imports starlette"
    if name.startswith("workers/"):
        assert not any(i.startswith(("server.web", "server.threads.hub")) for i in imports)


def _module(path: str) -> str:
    """`server/web/app.py` → `server.web.app`; a package's `__init__.py` → the package."""
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def import_graph(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Which of the given modules each one imports, from its AST (every import, at any depth).

    `sources` maps a path under the repository (`server/hub.py`) to its text. `from P import n`
    counts as importing `P.n` when that is one of the modules, else `P`; relative imports are
    resolved against the importing module's package.
    """
    modules = {_module(path) for path in sources}
    graph: dict[str, set[str]] = {}
    for path, text in sources.items():
        name = _module(path)
        package = name if path.endswith("/__init__.py") else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    target = f"{base}.{alias.name}"
                    if target in modules:
                        found.add(target)
                    elif base in modules:
                        found.add(base)
        graph[name] = found - {name}
    return graph


def adapter_importers(
    graph: Mapping[str, set[str]], allowed: Mapping[str, str]
) -> dict[str, set[str]]:
    """Modules outside the adapters, not in `allowed`, that import an adapter; and which."""
    found = {
        module: {i for i in imports if _within(i, ADAPTERS)}
        for module, imports in graph.items()
        if not _within(module, ADAPTERS) and module not in allowed
    }
    return {module: adapters for module, adapters in found.items() if adapters}


def _a_port(module: str) -> bool:
    return module in ADAPTERS_KNOW or module.endswith(".ports")


def adapters_using_use_cases(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Adapters that import anything of ours but adapters, ports and the contract; and what."""
    found = {
        module: {i for i in imports if not (_within(i, ADAPTERS) or _a_port(i))}
        for module, imports in graph.items()
        if _within(module, ADAPTERS)
    }
    return {module: used for module, used in found.items() if used}


def public_modules(sources: Mapping[str, str]) -> dict[str, set[str]]:
    """Each room's public modules, as its `__init__.py` names them in `__all__`."""
    public: dict[str, set[str]] = {}
    for feature in FEATURES:
        tree = ast.parse(sources[feature.replace(".", "/") + "/__init__.py"])
        names: set[str] = set()
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
            ):
                names = {str(name) for name in ast.literal_eval(node.value)}
        public[feature] = {f"{feature}.{name}" for name in names}
    return public


def reaching_in(
    graph: Mapping[str, set[str]], public: Mapping[str, set[str]]
) -> dict[str, set[str]]:
    """Modules that import another room's own (non-public) modules; and which."""
    found: dict[str, set[str]] = {}
    for module, imports in graph.items():
        for feature, allowed in public.items():
            if _within(module, feature):
                continue
            inside = {
                i for i in imports if _within(i, feature) and i != feature and i not in allowed
            }
            if inside:
                found.setdefault(module, set()).update(inside)
    return found


def import_cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle (`a → b → … → a`) per strongly connected group of modules (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph.get(module, set())):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group: set[str] = set()
            while not group or module not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(group)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return [_cycle_through(min(group), group, graph) for group in groups]


def _cycle_through(start: str, group: set[str], graph: Mapping[str, set[str]]) -> list[str]:
    """The shortest path from `start` back to itself inside one strongly connected group."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt: list[str] = []
        for module in frontier:
            for other in sorted(graph[module] & group):
                if other == start:
                    return [*paths[module], start]
                if other not in paths:
                    paths[other] = [*paths[module], other]
                    nxt.append(other)
        frontier = nxt
    raise AssertionError(f"{start} is in no cycle of {sorted(group)}")


def long_modules(
    lengths: Mapping[str, int], allowed: Mapping[str, str], limit: int = MAX_LINES
) -> dict[str, int]:
    """Modules over `limit` lines that `allowed` does not name; with their lengths."""
    return {p: n for p, n in lengths.items() if n > limit and p not in allowed}


def _sources() -> dict[str, str]:
    return {_name(path): path.read_text() for path in _modules()}


def test_only_the_composition_root_imports_adapters() -> None:
    """No module outside server/adapters/ imports an adapter but the composition root."""
    graph = import_graph(_sources())
    assert adapter_importers(graph, ADAPTER_IMPORTERS) == {}
    assert set(ADAPTER_IMPORTERS) <= set(graph), "an allowed importer no longer exists"


def test_adapters_import_no_use_case() -> None:
    """Adapters store and fetch: none imports a use-case, the hub, a worker or the web edge."""
    assert adapters_using_use_cases(import_graph(_sources())) == {}


def test_no_room_reaches_into_another() -> None:
    """A module outside a room imports only the modules the room's `__all__` makes public."""
    sources = _sources()
    public = public_modules(sources)
    assert reaching_in(import_graph(sources), public) == {}
    graph = import_graph(sources)
    for feature, names in public.items():
        assert names, f"{feature}/__init__.py names no public module"
        assert names <= set(graph), f"{feature} names a module it does not have"


def test_no_import_cycles() -> None:
    """The modules of server/ and workers/ import each other without a cycle."""
    assert import_cycles(import_graph(_sources())) == []


def test_modules_stay_small() -> None:
    """No module of server/ or workers/ passes 400 lines but the named exceptions."""
    lengths = {_name(p): len(p.read_text().splitlines()) for p in _modules()}
    assert long_modules(lengths, LONG_MODULES) == {}
    back = {p for p in LONG_MODULES if lengths.get(p, 0) <= MAX_LINES}
    assert not back, f"{back} no longer need an exception: remove it from LONG_MODULES"


def test_each_rule_reports_a_violation() -> None:
    """Fed a graph that breaks each rule, every check names the culprit."""
    graph = {
        "server.comments": {"server.adapters.sqlite_store", "server.ports"},
        "server.composition": {"server.adapters.memory_store"},
        "server.adapters.sqlite_store": {"server.hub", "server.model", "server.adapters.x"},
        "server.adapters.x": {"workers.consumer", "server.threads.ports"},
        "server.a": {"server.b"},
        "server.web.x": {"server.threads.room", "server.threads.hub"},
        "server.b": {"server.c"},
        "server.c": {"server.a", "server.ports"},
        "server.ports": set(),
        "server.model": set(),
    }
    assert adapter_importers(graph, ADAPTER_IMPORTERS) == {
        "server.comments": {"server.adapters.sqlite_store"}
    }
    assert adapters_using_use_cases(graph) == {
        "server.adapters.sqlite_store": {"server.hub"},
        "server.adapters.x": {"workers.consumer"},
    }
    assert import_cycles(graph) == [["server.a", "server.b", "server.c", "server.a"]]
    public = {"server.threads": {"server.threads.hub", "server.threads.ports"}}
    assert reaching_in(graph, public) == {"server.web.x": {"server.threads.room"}}
    assert long_modules({"server/big.py": MAX_LINES + 1, "server/ok.py": MAX_LINES}, {}) == {
        "server/big.py": MAX_LINES + 1
    }


def test_the_import_graph_sees_every_form_of_import() -> None:
    """Plain, from-, relative, nested and function-level imports all become edges."""
    sources = {
        "server/__init__.py": "",
        "server/adapters/__init__.py": "",
        "server/adapters/sqlite_store.py": "from ..hub import Hub\n",
        "server/adapters/memory_store.py": "from . import sqlite_store\n",
        "server/hub.py": "import server.adapters.memory_store\nimport json\n",
        "server/comments.py": "def f() -> None:\n    from server.adapters import sqlite_store\n",
        "server/web/__init__.py": "",
        "server/web/app.py": "from server.hub import Hub\nfrom server import comments\n",
    }
    graph = import_graph(sources)
    assert graph == {
        "server": set(),
        "server.adapters": set(),
        "server.adapters.sqlite_store": {"server.hub"},
        "server.adapters.memory_store": {"server.adapters.sqlite_store"},
        "server.hub": {"server.adapters.memory_store"},
        "server.comments": {"server.adapters.sqlite_store"},
        "server.web": set(),
        "server.web.app": {"server.hub", "server.comments"},
    }
    assert set(adapter_importers(graph, ADAPTER_IMPORTERS)) == {"server.hub", "server.comments"}
    assert adapters_using_use_cases(graph) == {"server.adapters.sqlite_store": {"server.hub"}}
    assert import_cycles(graph) == [
        [
            "server.adapters.memory_store",
            "server.adapters.sqlite_store",
            "server.hub",
            "server.adapters.memory_store",
        ]
    ]


def test_only_settings_reads_the_environment() -> None:
    """No module but settings touches os.environ or os.getenv."""
    for path in _modules():
        if _name(path) == "server/settings.py":
            continue
        text = path.read_text()
        assert "os.environ" not in text and "getenv" not in text, _name(path)


def test_only_the_demo_and_its_hosts_import_the_demo() -> None:
    """No module under server/ or workers/ imports server.demo but the demo itself, the CLI
    (`serve --demo`), the composition root that installs it, and the article page's module."""
    hosts = {"server.demo", "server.cli.serve", "server.web.app", "server.web.pages"}
    graph = import_graph(_sources())
    importers = {module for module, imports in graph.items() if "server.demo" in imports}
    assert importers - hosts == set()
