"""How far a patch reaches: from a test (its body, its class's set-up, the fixtures
it requests) into the project's functions and classes, which copies of a patched
name the code it reaches reads, and whether any of it reads the name at call time.

Names are followed, not types: a function or class a reached definition loads is
reached (for a class, every method). That over-approximates calls, which keeps a
patch rule silent rather than wrong."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from testlint.index import ModuleIndex, ModuleInfo

MAX_DEPTH = 4
"""Calls followed from the test into project code."""
MAX_DEFINITIONS = 400
"""Definitions read before the answer is "not known"."""


@dataclass
class Reached:
    """What the code a test reaches does with one patched name `X.name`."""

    copies: dict[str, set[str]] = field(default_factory=dict)
    """Module -> its local names for a by-value copy (`from X import name`) that
    reached code reads."""
    live: bool = False
    """Reached code reads `X.name` at call time: `X`'s own functions, `import X`
    then `X.name`, or a `from X import name` inside the function."""


def reach(
    index: ModuleIndex,
    starts: list[tuple[ModuleInfo, str]],
    module: str,
    attr: str,
    local: dict[str, ModuleInfo],
) -> Reached | None:
    """Follow what the `starts` (the test, its set-up, the fixtures it requests)
    load, into the project's functions and classes, `MAX_DEPTH` calls deep, and
    note how each reached definition reads `module.attr`. `local`: modules outside
    the index (the test module, conftests) by the names they were read under."""
    target = f"{module}.{attr}"
    found = Reached()
    seen: set[tuple[str, str]] = set()
    frontier = list(starts)
    for _ in range(MAX_DEPTH + 1):
        following: list[tuple[ModuleInfo, str]] = []
        for info, definition in frontier:
            if (info.name, definition) in seen:
                continue
            seen.add((info.name, definition))
            if len(seen) > MAX_DEFINITIONS:
                return None
            for imported in info.imports_inside(definition):  # used where imported
                if imported == target:
                    found.live = True
                else:
                    following.extend(_definitions_named(index, local, imported))
            for read in info.reads_of(definition):
                head = read.split(".", 1)[0]
                binding = info.by_value.get(head)
                if binding is not None and (binding.module, binding.name) == (module, attr):
                    if info.name != module:
                        found.copies.setdefault(info.name, set()).add(head)
                    continue
                qualified = info.qualify(read)
                if qualified == target or qualified.startswith(f"{target}."):
                    found.live = True
                    continue
                following.extend(_definitions_named(index, local, qualified))
        frontier = following
        if found.live:
            break
    return found


def _definitions_named(
    index: ModuleIndex, local: dict[str, ModuleInfo], qualified: str
) -> Iterator[tuple[ModuleInfo, str]]:
    """The definitions a qualified name reaches: `pkg.mod.func` -> `func` of
    `pkg.mod`; `pkg.mod.Klass.method` -> `Klass.method`; through re-exports."""
    for _ in range(3):  # `pkg.func` re-exported from `pkg.core`, at most this deep
        parts = qualified.split(".")
        if parts[0] in local:
            info: ModuleInfo | None = local[parts[0]]
            rest = parts[1:]
        else:
            info, rest = None, []
            for cut in range(len(parts) - 1, 0, -1):
                name = ".".join(parts[:cut])
                if name in index.files:
                    info, rest = index.get(name), parts[cut:]
                    break
        if info is None or not rest:
            return
        binding = info.by_value.get(rest[0])
        if binding is not None and not info.reads_of(rest[0]):
            qualified = ".".join([binding.module, binding.name, *rest[1:]])
            continue
        if len(rest) > 1 and info.reads_of(f"{rest[0]}.{rest[1]}"):
            yield info, f"{rest[0]}.{rest[1]}"
        else:
            yield info, rest[0]
        return
