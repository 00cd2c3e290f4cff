"""How far a patch reaches: from a test (its body, its class's set-up, the fixtures
it requests) into the project's functions and classes, which copies of a patched
name the code it reaches reads, and whether any of it reads the name at call time.

Names are followed, not types. A function a reached definition loads is reached; a
class is reached through its life-cycle methods (`__init__`, `__enter__`, ...) and
the methods whose names reached code loads as attributes (`engine.run` reaches
`run` of every reached class), its bases included. That over-approximates calls,
which keeps a patch rule silent rather than wrong; where the walk grows past
`MAX_DEFINITIONS`, the answer is "not known" and the rules stay silent too."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from testlint.index import ModuleIndex
from testlint.module_info import ModuleInfo

MAX_DEFINITIONS = 5000
"""Definitions read before the answer is "not known". The walk otherwise runs to
the end: a copy found near the test says nothing while a call-time read of the
same name may lie deeper on the path."""
LIFE_CYCLE = frozenset(
    {
        "__init__", "__new__", "__post_init__", "__call__", "__enter__", "__exit__",
        "__aenter__", "__aexit__", "__iter__", "__next__", "__aiter__", "__anext__",
        "__await__", "__get__", "__set__", "__getattr__", "__getitem__",
    }
)  # fmt: skip
"""Methods that run without their name being written: using the class runs them."""

Definition = tuple[ModuleInfo, str]
DYNAMIC_IMPORTS = frozenset({"__import__", "importlib.import_module", "importlib.__import__"})


@dataclass
class Reached:
    """What the code a test reaches does with one patched name `X.name`."""

    known: bool = True
    """False: too much code to follow; nothing below may be relied on."""
    cut: bool = False
    """The walk stopped at the `limit` it was given (then `known` is False)."""
    walked: int = 0
    """How many definitions the walk read."""
    copies: dict[str, set[str]] = field(default_factory=dict)
    """Module -> its local names for a by-value copy (`from X import name`) that
    reached code reads."""
    live: bool = False
    """Reached code reads `X.name` at call time: `X`'s own functions, `import X`
    then `X.name`, or a `from X import name` inside the function."""


@dataclass
class _Walk:
    index: ModuleIndex
    local: dict[str, ModuleInfo]
    target: str
    found: Reached = field(default_factory=Reached)
    seen: set[tuple[str, str]] = field(default_factory=set)
    classes: dict[tuple[str, str], ModuleInfo] = field(default_factory=dict)
    """Reached classes, by (module, class)."""
    attributes: set[str] = field(default_factory=set)
    """Attribute names reached code loads (`engine.run` -> `run`)."""


def reach(
    index: ModuleIndex,
    starts: list[Definition],
    module: str,
    attr: str,
    local: dict[str, ModuleInfo],
    limit: int = MAX_DEFINITIONS,
) -> Reached:
    """Follow what the `starts` load, to the end, and note how each reached
    definition reads `module.attr`. `local`: modules outside the index
    (the test module, conftests) by the names they were read under. Past `limit`
    definitions the answer is "not known" (`cut`)."""
    walk = _Walk(index, local, f"{module}.{attr}")
    binding = (module, attr)
    frontier = list(starts)
    while frontier:
        following: list[Definition] = []
        for info, definition in frontier:
            if (info.name, definition) in walk.seen:
                continue
            walk.seen.add((info.name, definition))
            if len(walk.seen) > limit:
                return Reached(known=False, cut=True)
            following.extend(_read(walk, info, definition, binding))
        following.extend(_methods_now_reached(walk))
        frontier = following
        if walk.found.live or not walk.found.known:
            break
    walk.found.walked = len(walk.seen)
    return walk.found


def _read(
    walk: _Walk, info: ModuleInfo, definition: str, binding: tuple[str, str]
) -> Iterator[Definition]:
    """Note what one definition does with the target; yield what it reaches."""
    target = walk.target
    for imported in info.imports_inside(definition):  # used where imported
        if imported == target:
            walk.found.live = True
        else:
            yield from _named(walk, imported)
    for read in info.reads_of(definition):
        head, _, tail = read.partition(".")
        if read in DYNAMIC_IMPORTS or info.qualify(read) in DYNAMIC_IMPORTS:
            # `__import__(name, fromlist=["X"]).X` (paasta's secret providers) may
            # read the patched name at call time: nothing below may be relied on.
            walk.found.known = False
        if tail:
            walk.attributes.update(tail.split("."))
        bound = info.by_value.get(head)
        if bound is not None and (bound.module, bound.name) == binding:
            if info.name != binding[0]:
                walk.found.copies.setdefault(info.name, set()).add(head)
            continue
        qualified = info.qualify(read)
        if qualified == target or qualified.startswith(f"{target}."):
            walk.found.live = True
            continue
        yield from _named(walk, qualified)


def _named(walk: _Walk, qualified: str) -> Iterator[Definition]:
    """The definitions a qualified name reaches: `pkg.mod.func` -> `func` of
    `pkg.mod`; `pkg.mod.Klass.method` -> `Klass.method`; a class is noted as
    reached (its methods follow in `_methods_now_reached`); through re-exports."""
    for _ in range(3):  # `pkg.func` re-exported from `pkg.core`, at most this deep
        info, rest = _module_of(walk, qualified)
        if info is None or not rest:
            return
        bound = info.by_value.get(rest[0])
        if bound is not None and info.methods_of(rest[0]) is None and not info.reads_of(rest[0]):
            qualified = ".".join([bound.module, bound.name, *rest[1:]])
            continue
        methods = info.methods_of(rest[0])
        if methods is None:
            yield info, rest[0]
        elif len(rest) > 1 and rest[1] in methods:
            yield info, f"{rest[0]}.{rest[1]}"
        else:
            _note_class(walk, info, rest[0])
        return


def _module_of(walk: _Walk, qualified: str) -> tuple[ModuleInfo | None, list[str]]:
    parts = qualified.split(".")
    if parts[0] in walk.local:
        return walk.local[parts[0]], parts[1:]
    for cut in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:cut])
        if name in walk.index.files:
            return walk.index.get(name), parts[cut:]
    return None, []


def _note_class(walk: _Walk, info: ModuleInfo, klass: str) -> None:
    key = (info.name, klass)
    if key in walk.classes:
        return
    walk.classes[key] = info
    for base in info.bases_of(klass):
        for base_info, name in _named(walk, info.qualify(base)):
            if base_info.methods_of(name) is not None:
                _note_class(walk, base_info, name)


def _methods_now_reached(walk: _Walk) -> Iterator[Definition]:
    """Methods of reached classes that run when the class is used, or whose names
    reached code loads as attributes."""
    wanted = LIFE_CYCLE | walk.attributes
    for (_, klass), info in list(walk.classes.items()):
        for method in (info.methods_of(klass) or set()) & wanted:
            if (info.name, f"{klass}.{method}") not in walk.seen:
                yield info, f"{klass}.{method}"
