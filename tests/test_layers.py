"""The architecture, read from the imports: layers, no module imports upward, no cycle.

Every import of a testlint module counts, wherever it is written: at the top, inside
a function (a lazy import) or under `if TYPE_CHECKING:`. A new module must be given a
layer here; `docs/architecture.md` says what each one does.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SOURCE / "testlint"

BASE, FACTS, RULES, RUN, FRONTS = range(5)
LAYER_NAMES = ("base", "facts", "rules", "run", "fronts")
LAYERS: dict[str, int] = {
    # The bottom: the standard library only. What a replay needs, and values.
    "testlint": BASE,
    "testlint.locate": BASE,
    "testlint.fingerprint": BASE,
    "testlint.invocation": BASE,
    "testlint.record": BASE,
    "testlint.dataclass_code": BASE,
    "testlint.diagnostics": BASE,
    "testlint.noqa": BASE,
    "testlint.memo": BASE,
    "testlint.terminal": BASE,
    # What testlint knows about a project and its files, and the settings.
    "testlint.names": FACTS,
    "testlint.positions": FACTS,
    "testlint.traversal": FACTS,
    "testlint.scan": FACTS,
    "testlint.import_time": FACTS,
    "testlint.imports": FACTS,
    "testlint.module_info": FACTS,
    "testlint.index": FACTS,
    "testlint.pytest_config": FACTS,
    "testlint.dependencies": FACTS,
    "testlint.toml_text": FACTS,
    "testlint.project": FACTS,
    "testlint.facts": FACTS,
    "testlint.settings": FACTS,
    "testlint.files": FACTS,
    # The rule API, the rules, the registry and the engine that runs them.
    "testlint.source": FACTS,
    "testlint.rule": RULES,
    "testlint.api": RULES,
    "testlint.rules": RULES,
    "testlint.registry": RULES,
    "testlint.engine": RULES,
    "testlint.config_lint": RULES,
    "testlint.docs": RULES,
    # A run over many files: cache, workers, writing fixes, re-checks, output.
    "testlint.cache": RUN,
    "testlint.runner": RUN,
    "testlint.output": RUN,
    "testlint.render": RUN,
    "testlint.rerun": RUN,
    "testlint.workers": RUN,
    "testlint.show": RUN,
    "testlint.add_noqa": RUN,
    # The fronts: the command, its launcher, the flake8 plugin, the scaffold.
    "testlint.cli": FRONTS,
    "testlint.launcher": FRONTS,
    "testlint.__main__": FRONTS,
    "testlint.flake8_plugin": FRONTS,
    "testlint.dev": FRONTS,
}
STANDARD_LIBRARY_ONLY = {name for name, layer in LAYERS.items() if layer == BASE}
THIRD_PARTY_ALLOWED_AT_THE_BOTTOM = {"tomli"}  # tomllib before Python 3.11


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int:
    """A rule module (`testlint.rules.tl101_...`, `testlint.rules._asyncio`) is in
    the rules layer; every other module is listed."""
    if module.startswith("testlint.rules."):
        return RULES
    return LAYERS[module]


def imported(path: Path) -> Iterator[tuple[str, int, bool]]:
    """(module, line, under TYPE_CHECKING) of every import in the file, anywhere."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    type_only = {
        id(node)
        for statement in ast.walk(tree)
        if isinstance(statement, ast.If) and "TYPE_CHECKING" in ast.unparse(statement.test)
        for child in statement.body
        for node in ast.walk(child)
    }
    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            # `from testlint import output` imports the module testlint.output.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                for alias in node.names
            ]
        for name in dict.fromkeys(names):
            yield name, node.lineno, id(node) in type_only


def internal_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for target, _, _ in imported(path):
            if target in MODULES and target != name:
                edges[name].add(target)
    return edges


def test_every_module_has_a_layer() -> None:
    unplaced = [name for name in MODULES if not name.startswith("testlint.rules.")]
    missing = [name for name in unplaced if name not in LAYERS]
    assert not missing, f"give these a layer in tests/test_layers.py: {missing}"
    stale = [name for name in LAYERS if name not in MODULES]
    assert not stale, f"no such modules: {stale}"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_imports_upward(name: str) -> None:
    upward = [
        f"line {line}: {target} ({LAYER_NAMES[layer_of(target)]})"
        for target, line, _ in imported(MODULES[name])
        if target in MODULES and layer_of(target) > layer_of(name)
    ]
    assert not upward, f"{name} ({LAYER_NAMES[layer_of(name)]}) imports upward: {upward}"


def test_the_import_graph_has_no_cycle() -> None:
    edges = internal_edges()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(edges[node]):
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names")
@pytest.mark.parametrize("name", sorted(STANDARD_LIBRARY_ONLY))
def test_the_bottom_imports_only_the_standard_library(name: str) -> None:
    # (Type-only imports are allowed: `diagnostics` names libcst nodes in annotations.)
    foreign = [
        f"line {line}: {target}"
        for target, line, type_only in imported(MODULES[name])
        if not type_only
        and target.split(".")[0] not in sys.stdlib_module_names
        and target.split(".")[0] not in THIRD_PARTY_ALLOWED_AT_THE_BOTTOM
        and target not in STANDARD_LIBRARY_ONLY
        and target != "__future__"
    ]
    assert not foreign, f"{name} is at the bottom, yet imports {foreign}"


ENGINE_COUPLED = {"testlint.rules.tl003_unused_noqa"}
"""TL003 judges the `# noqa` comments the engine applies: it reads the engine's own
noqa parser and reports, and is not a model for other rules."""


@pytest.mark.parametrize(
    "name",
    sorted(n for n in MODULES if n.startswith("testlint.rules.tl") and n not in ENGINE_COUPLED),
)
def test_a_rule_is_written_against_the_api(name: str) -> None:
    """A rule module imports, of testlint, only `testlint.api` and its family's
    shared helpers (`testlint.rules._asyncio`, ...)."""
    other = [
        f"line {line}: {target}"
        for target, line, _ in imported(MODULES[name])
        if target.startswith("testlint")
        and target != "testlint.api"
        and not target.startswith("testlint.rules._")
    ]
    assert not other, f"{name} imports {other}: add what it needs to testlint.api"


def test_every_reader_of_the_tree_skips_at_least_what_the_run_record_skips() -> None:
    """The run record watches every directory but `NEVER_READ` (and virtualenvs):
    a reader that skipped less would read a file whose change no replay notices."""
    from testlint import cache, files, index, locate, project, record

    readers = {
        "discovery": files.ALWAYS_SKIPPED,
        "module index (inside packages)": index.SKIPPED_DIRS,
        "module index (source roots)": index.SKIPPED_TOP_DIRS,
        "suite listing": project.SUITE_SKIPPED,
        "environment digest": cache.SKIPPED,
    }
    assert record.UNREAD_DIRECTORIES == locate.NEVER_READ
    for reader, skipped in readers.items():
        assert skipped >= locate.NEVER_READ, reader
