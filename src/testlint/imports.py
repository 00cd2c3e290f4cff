"""The imports a fix adds or leaves unused, kept the way isort and ruff want them.

`update_imports` is the one entry point (the engine calls it after applying a
round of fixes). It adds each missing `import X` in its isort section — future,
standard library, third party, first party, local (relative) — at its sorted
place, as ruff's default isort profile sorts (`import x` lines before
`from x import y` lines in a section, names compared case-insensitively in
natural order); a section that does not exist yet is created with the blank
lines isort puts around it. When the leading imports are not sorted that way to
begin with, or the project's isort configuration uses options modelled here only
partly, the import goes after the leading imports, as before, rather than
guessing. Then it removes the top-level imports whose last use a fix replaced.

`ImportStyle` is what the project's configuration says about sections
(`[tool.ruff.lint.isort]`, `[tool.ruff.isort]`, ruff.toml, `[tool.isort]`);
`Project.import_style` finds it. Nothing here is cached by the results cache:
fixes and their edits are always computed afresh.
"""

from __future__ import annotations

import ast
import bisect
import enum
import fnmatch
import importlib.machinery
import re
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import libcst as cst

from testlint.diagnostics import ImportRequest
from testlint.locate import ProjectError, load_toml
from testlint.names import ImportTable, dotted_name, is_docstring, leading_imports
from testlint.scan import Scan
from testlint.traversal import children


class Section(enum.IntEnum):
    FUTURE = 0
    STANDARD_LIBRARY = 1
    THIRD_PARTY = 2
    FIRST_PARTY = 3
    LOCAL_FOLDER = 4


# ------------------------------------------------------------------ the standard library


@lru_cache(maxsize=4096)
def is_standard_library(name: str) -> bool:
    """Whether top-level module `name` comes with the running Python."""
    names: frozenset[str] | None = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return name in names
    return found_in_standard_library(name)  # pragma: no cover - Python 3.9 only


def found_in_standard_library(name: str) -> bool:
    """Python 3.9 has no `sys.stdlib_module_names`: look for the module in the
    interpreter's own library directories only (never site-packages), without
    importing it."""
    if name in sys.builtin_module_names:
        return True
    paths = sysconfig.get_paths()
    library = [paths["stdlib"], paths["platstdlib"]]
    directories = [*library, *(str(Path(p) / "lib-dynload") for p in library)]
    try:
        return importlib.machinery.PathFinder.find_spec(name, directories) is not None
    except (ImportError, ValueError):
        return False


# ------------------------------------------------------------------ the project's style

_SECTION_KEYS = {
    "known-first-party": Section.FIRST_PARTY,
    "known-third-party": Section.THIRD_PARTY,
    "known-local-folder": Section.LOCAL_FOLDER,
    "extra-standard-library": Section.STANDARD_LIBRARY,
}
UNMODELLED_KEYS = frozenset(
    {
        "section-order",
        "sections",
        "no-sections",
        "default-section",
        "force-to-top",
        "length-sort",
        "length-sort-straight",
        "from-first",
        "no-lines-before",
        "lines-between-types",
        "case-sensitive",
        "known-other",
        "profile",
    }
)
"""isort options that move a new `import X` or the blank lines around it: with
any of them set, fixes place imports as before (after the leading imports)."""


@dataclass(frozen=True)
class ImportStyle:
    """How the project sorts imports, for the files of one directory."""

    known: tuple[tuple[str, Section], ...] = ()
    """`known-first-party` and the like: (module pattern, section)."""
    source_roots: tuple[Path, ...] = ()
    """Where first-party modules live (ruff's `src`)."""
    package: str | None = None
    """The top-level package holding the files (first party, as ruff's
    `detect-same-package`)."""
    force_sort_within_sections: bool = False
    modelled: bool = True
    """False: the configuration uses options not modelled here."""

    def section(self, module: str, level: int = 0) -> Section:
        """The isort section of `import module` (`level`: leading dots of a
        relative import), decided in ruff's order."""
        if level:
            return Section.LOCAL_FOLDER
        base = module.split(".", 1)[0]
        if base == "__future__":
            return Section.FUTURE
        prefixes = [".".join(module.split(".")[:n]) for n in range(module.count(".") + 1, 0, -1)]
        for pattern, section in self.known:
            if any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes):
                return section
        if is_standard_library(base):
            return Section.STANDARD_LIBRARY
        if base == self.package or any(_holds_module(root, base) for root in self.source_roots):
            return Section.FIRST_PARTY
        return Section.THIRD_PARTY


UNKNOWN_STYLE = ImportStyle(modelled=False)


def _holds_module(root: Path, name: str) -> bool:
    return (root / name).is_dir() or any(
        (root / f"{name}{suffix}").is_file() for suffix in (".py", ".pyi")
    )


def read_import_style(directory: Path, top: Path, default_roots: Sequence[Path]) -> ImportStyle:
    """The style for files in `directory`: the nearest ruff configuration (ruff.toml,
    .ruff.toml, pyproject.toml with `[tool.ruff]`) or `[tool.isort]` table, looked
    for from `directory` up to `top`. Without one, or without `src` in it, the
    first-party modules are those in `default_roots` (the project's source roots)."""
    package = _top_package(directory)
    try:
        found = _nearest_config(directory, top)
    except ProjectError:
        return UNKNOWN_STYLE
    if found is None:
        return ImportStyle(source_roots=tuple(default_roots), package=package)
    base, settings, roots = found
    if any(key in UNMODELLED_KEYS for key in settings):
        return UNKNOWN_STYLE
    known = tuple(
        (str(pattern), section)
        for key, section in _SECTION_KEYS.items()
        for pattern in _strings(settings.get(key))
    )
    if settings.get("detect-same-package") is False:
        package = None
    return ImportStyle(
        known=known,
        source_roots=tuple(base / root for root in roots) if roots else tuple(default_roots),
        package=package,
        force_sort_within_sections=settings.get("force-sort-within-sections") is True,
    )


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _normalised(table: object) -> dict[str, Any]:
    """isort spells keys with `_`, ruff with `-`."""
    if not isinstance(table, dict):
        return {}
    return {str(key).replace("_", "-"): value for key, value in table.items()}


def _nearest_config(directory: Path, top: Path) -> tuple[Path, dict[str, Any], list[str]] | None:
    """(its directory, isort settings, source roots) of the nearest configuration."""
    for current in (directory, *directory.parents):
        for name in (".ruff.toml", "ruff.toml"):
            if (current / name).is_file():
                data = load_toml(current / name)
                lint = data.get("lint")
                isort = (lint.get("isort") if isinstance(lint, dict) else None) or data.get("isort")
                return current, _normalised(isort), _strings(data.get("src"))
        pyproject = current / "pyproject.toml"
        if pyproject.is_file():
            tool = load_toml(pyproject).get("tool")
            tool = tool if isinstance(tool, dict) else {}
            ruff = tool.get("ruff")
            if isinstance(ruff, dict):
                lint = ruff.get("lint")
                isort = (lint.get("isort") if isinstance(lint, dict) else None) or ruff.get("isort")
                return current, _normalised(isort), _strings(ruff.get("src"))
            if isinstance(tool.get("isort"), dict):
                settings = _normalised(tool["isort"])
                return current, settings, _strings(settings.get("src-paths"))
        if current == top:
            break
    return None


def _top_package(directory: Path) -> str | None:
    """The outermost package above `directory` (a chain of `__init__.py`)."""
    package = None
    for current in (directory, *directory.parents):
        if not (current / "__init__.py").is_file():
            break
        package = current.name
    return package


# ------------------------------------------------------------------ the entry point


def update_imports(
    module: cst.Module,
    changes: Mapping[cst.CSTNode, object],
    requests: Iterable[ImportRequest],
    style: ImportStyle,
    *,
    may_remove: bool = True,
    lines: StatementLines | None = None,
) -> cst.Module:
    """`module` after fixes replaced nodes of the module before (`changes`: old
    node -> replacement): `requests` added, then imports left unused removed
    (unless `may_remove` is False, e.g. in an `__init__.py`, whose imports are its
    interface). Adding first places the new import among the imports the author
    sorted; a removal then closes its gap (keeping form feeds and comments).
    `lines`: the statements of the module before that may use a name."""
    table = ImportTable(module)
    missing = sorted({r.module for r in requests if table.local_name_for_module(r.module) is None})
    for name in missing:
        module = _add_import(module, name, style)
    if may_remove:
        module = remove_unused_imports(module, changes, lines)
    return module


# ------------------------------------------------------------------ adding


def natural(text: str) -> tuple[str | int, ...]:
    """Case-insensitive natural order (`mod2` before `mod10`), as ruff compares names."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text.lower()))


SortKey = tuple[Section, tuple[object, ...]]


def _sort_key(module: str, level: int, from_import: bool, style: ImportStyle) -> SortKey:
    """Where isort puts an import of `module` (`level`: leading dots)."""
    section = style.section(module, level)
    if section is Section.LOCAL_FOLDER:
        return section, ()  # only absolute imports are ever added: not compared
    name, kind = natural(module), int(from_import)
    return section, ((name, kind) if style.force_sort_within_sections else (kind, name))


def _line_key(line: cst.SimpleStatementLine, style: ImportStyle) -> SortKey | None:
    """The sort key of an import line, or None for a line isort would split up."""
    small = line.body[0]
    if len(line.body) != 1 or not isinstance(small, (cst.Import, cst.ImportFrom)):
        return None
    if isinstance(small, cst.Import):
        module = dotted_name(small.names[0].name) if len(small.names) == 1 else None
        return None if module is None else _sort_key(module, 0, False, style)
    module = dotted_name(small.module) if small.module is not None else ""
    return None if module is None else _sort_key(module, len(small.relative), True, style)


def _sorted_keys(
    lines: Sequence[cst.SimpleStatementLine], style: ImportStyle
) -> list[SortKey] | None:
    """The sort key of each leading import line, or None if they are not sorted."""
    keys: list[SortKey] = []
    for line in lines:
        key = _line_key(line, style)
        if key is None or (keys and key < keys[-1]):
            return None
        keys.append(key)
    return keys


def _blank() -> cst.EmptyLine:
    return cst.EmptyLine()


def _leading_blanks(lines: Sequence[cst.EmptyLine]) -> int:
    count = 0
    while count < len(lines) and lines[count].comment is None:
        count += 1
    return count


def _split_attached(
    lines: Sequence[cst.EmptyLine],
) -> tuple[list[cst.EmptyLine], list[cst.EmptyLine]]:
    """The lines above a statement, split after the last blank one: isort keeps
    the comments right above an import with it, and the rest where it is."""
    cut = max((i + 1 for i, line in enumerate(lines) if line.comment is None), default=0)
    return list(lines[:cut]), list(lines[cut:])


def _add_import(module: cst.Module, name: str, style: ImportStyle) -> cst.Module:
    body = list(module.body)
    start = 1 if body and is_docstring(body[0]) else 0
    block = leading_imports(body)
    new = cst.parse_statement(f"import {name}")
    assert isinstance(new, cst.SimpleStatementLine)
    keys = _sorted_keys(block, style) if style.modelled else None
    if not block:
        return module.with_changes(body=_into_empty_block(body, start, new))
    if keys is None:  # not sorted as modelled: after the leading imports, as before
        end = start + len(block)
        return module.with_changes(body=[*body[:end], new, *body[end:]])
    key = _sort_key(name, 0, False, style)
    position = sum(1 for k in keys if k <= key)
    at = start + position
    if position and keys[position - 1][0] == key[0]:
        pass  # inside its section, after the imports that sort before it
    elif position < len(keys):
        # The new line opens its section (existing or new) before `body[at]`,
        # taking over the lines above it but the comments on that import; a new
        # section needs a blank line of its own.
        head = body[at]
        detached, attached = _split_attached(head.leading_lines)
        new = new.with_changes(leading_lines=detached)
        ahead = attached if keys[position][0] == key[0] else [_blank(), *attached]
        body[at] = head.with_changes(leading_lines=ahead)
    else:
        new = new.with_changes(leading_lines=[_blank()])  # a new last section
    return module.with_changes(body=[*body[:at], new, *body[at:]])


def _into_empty_block(
    body: Sequence[cst.BaseStatement], start: int, new: cst.SimpleStatementLine
) -> list[cst.BaseStatement]:
    """The first import of the module: one blank line after a docstring, and the
    blank lines isort wants before the code (two before a def or class)."""
    if start:
        new = new.with_changes(leading_lines=[_blank()])
    rest = body[start:]
    if rest:
        following = rest[0]
        lines = _leading_lines(following)
        after = lines[_leading_blanks(lines) :]
        # isort puts two blank lines before a def or class (or the comments right
        # above it), one before anything else, a comment block standing apart too.
        apart = any(line.comment is None for line in after)
        wanted = 2 if isinstance(following, (cst.FunctionDef, cst.ClassDef)) and not apart else 1
        lines = [*(_blank() for _ in range(wanted)), *after]
        rest = [following.with_changes(leading_lines=lines), *rest[1:]]
    return [*body[:start], new, *rest]


def _leading_lines(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    """Blank and comment lines above a statement (every statement class has them)."""
    return list(getattr(statement, "leading_lines", ()))


# ------------------------------------------------------------------ removing


def remove_unused_imports(
    module: cst.Module,
    changes: Mapping[cst.CSTNode, object],
    lines: StatementLines | None = None,
) -> cst.Module:
    """Remove the names that top-level imports bind and that are now unused, when
    the nodes a fix replaced used them: imports unused before the fix, `__future__`
    imports, star imports, explicit re-exports (`import x as x`) and lines with a
    `# noqa` comment are never touched."""
    removable = _removable_bindings(module)
    if not removable:
        return module
    # Names the replacements use are still used: the module is walked only for
    # the others (a decorator added to a test keeps every name its body uses).
    suspects = _suspects(removable, changes)
    if not suspects:
        return module
    unused = suspects - _uses(module, suspects, lines)
    if not unused:
        return module
    return module.with_changes(body=_without(module.body, unused))


def _suspects(removable: set[str], changes: Mapping[cst.CSTNode, object]) -> set[str]:
    """The removable names the replaced nodes used and their replacements do not."""
    replacements = [
        node
        for value in changes.values()
        for node in (value.nodes if isinstance(value, cst.FlattenSentinel) else [value])
        if isinstance(node, cst.CSTNode)
    ]
    return (removable & _names_under(changes)) - _names_under(replacements)


class StatementImports:
    """What `update_imports` does after a fix that replaced one top-level statement,
    told from that statement alone, so that the edits of many fixes to one file are
    found without reading the whole file for each. The module's import table and
    removable imports are read once: a statement that imports and binds exactly
    what the one it replaced did leaves both as they were (each name's last import
    or binding decides), and the imports to add then do not depend on the fix."""

    def __init__(
        self,
        module: cst.Module,
        style: ImportStyle,
        *,
        may_remove: bool,
        lines: StatementLines | None = None,
    ) -> None:
        self.module = module
        self._lines = lines
        self._style = style
        self._may_remove = may_remove
        self._table = ImportTable(module)
        self._removable = _removable_bindings(module)
        body = module.body
        start = 1 if body and is_docstring(body[0]) else 0
        # What adding an import may change: the docstring, the leading imports and
        # the statement after them (its blank lines).
        reach = start + len(leading_imports(body)) + 1
        self._moved = {id(statement) for statement in body[:reach]}
        self._added: dict[tuple[str, ...], tuple[cst.Module, set[str]]] = {}

    def updated(
        self,
        old: cst.BaseStatement,
        new: Sequence[cst.BaseStatement],
        changes: Mapping[cst.CSTNode, object],
        requests: Iterable[ImportRequest],
    ) -> cst.Module | None:
        """The module with the imports `update_imports` adds or removes after the
        fix, but `old` still in place of `new` (the fix's import changes alone);
        None when they cannot be told from the statement: `old` and `new` differ in
        what they import or bind, an import left unused would go, or an added
        import would move `old`."""
        if _import_effects([old]) != _import_effects(new):
            return None
        missing = tuple(
            sorted(
                {r.module for r in requests if self._table.local_name_for_module(r.module) is None}
            )
        )
        if missing and id(old) in self._moved:
            return None
        added, removable = self._with_imports(missing)
        suspects = _suspects(removable, changes) if self._may_remove else set()
        if suspects and not suspects <= self._uses_besides(old, new, suspects):
            return None  # an import the fix leaves unused goes
        return added

    def _uses_besides(
        self, old: cst.BaseStatement, new: Sequence[cst.BaseStatement], names: set[str]
    ) -> set[str]:
        """`_uses` of the module with `old` replaced by `new`."""
        words = frozenset(names)
        found = {name for statement in new for name in _statement_uses(statement, words)}
        lines = self._lines
        for statement in self.module.body:
            if found >= words:
                break  # all used: the rest cannot change the answer
            if statement is not old and (lines is None or lines.may_use(statement, words)):
                found |= _statement_uses(statement, words)
        return found

    def _with_imports(self, missing: tuple[str, ...]) -> tuple[cst.Module, set[str]]:
        if not missing:
            return self.module, self._removable
        known = self._added.get(missing)
        if known is None:
            module = self.module
            for name in missing:
                module = _add_import(module, name, self._style)
            known = self._added[missing] = (module, _removable_bindings(module))
        return known


def _import_effects(statements: Sequence[cst.BaseStatement]) -> tuple[object, ...]:
    """What `statements` put in a module's import table and removable imports."""
    module = cst.Module(body=statements)  # type: ignore[arg-type]
    table = ImportTable(module)
    return (
        table.aliases,
        table.bound,
        table.star_imports,
        table.leading_aliases,
        _removable_bindings(module),
    )


def _removable_bindings(module: cst.Module) -> set[str]:
    found: set[str] = set()
    for statement in module.body:
        for small in _editable_imports(statement):
            names = (_bound_name(small, alias) for alias in _aliases(small))
            found.update(name for name in names if name is not None)
    return found


def _editable_imports(statement: cst.BaseStatement) -> list[cst.Import | cst.ImportFrom]:
    if not isinstance(statement, cst.SimpleStatementLine) or not _may_edit(statement):
        return []
    return [small for small in statement.body if isinstance(small, (cst.Import, cst.ImportFrom))]


def _may_edit(statement: cst.BaseStatement) -> bool:
    if not isinstance(statement, cst.SimpleStatementLine):
        return False
    comment = statement.trailing_whitespace.comment
    return comment is None or "noqa" not in comment.value.lower()


def _aliases(small: cst.Import | cst.ImportFrom) -> Sequence[cst.ImportAlias]:
    if isinstance(small, cst.ImportFrom):
        if isinstance(small.names, cst.ImportStar):
            return ()
        if small.module is not None and dotted_name(small.module) == "__future__":
            return ()
        return small.names
    return small.names


def _bound_name(small: cst.Import | cst.ImportFrom, alias: cst.ImportAlias) -> str | None:
    """The name `alias` binds, or None for a re-export (`x as x`) or odd syntax."""
    full = dotted_name(alias.name)
    if full is None:
        return None
    if alias.asname is not None:
        asname = alias.asname.name
        if not isinstance(asname, cst.Name) or asname.value == full:
            return None
        return asname.value
    return full.split(".", 1)[0] if isinstance(small, cst.Import) else full


def _identifiers(
    nodes: Iterable[cst.CSTNode], words: frozenset[str] = frozenset()
) -> Iterator[str]:
    """Identifiers read or written under `nodes`, except in import statements,
    attribute names and keyword names (never a module-level binding), and those of
    `words` in the strings pyflakes reads as code: annotations, `cast(...)` and
    `TypeVar(...)` arguments, and `__all__`."""
    stack = [(node, False) for node in nodes]
    while stack:
        node, code = stack.pop()
        if isinstance(node, cst.Name):
            yield node.value
        elif isinstance(node, (cst.Attribute, cst.Arg)):
            stack.append((node.value, code))
        elif isinstance(node, (cst.SimpleString, cst.FormattedStringText)):
            if code:
                yield from (w for w in words if re.search(rf"\b{re.escape(w)}\b", node.value))
        elif not isinstance(node, (cst.Import, cst.ImportFrom)):
            code = code or _holds_code_strings(node)
            stack.extend((child, code) for child in children(node))


_STRING_CODE_CALLS = frozenset({"cast", "TypeVar", "NewType"})


def _holds_code_strings(node: cst.CSTNode) -> bool:
    if isinstance(node, cst.Annotation):
        return True
    if isinstance(node, cst.Call):
        name = dotted_name(node.func) or ""
        return name.rsplit(".", 1)[-1] in _STRING_CODE_CALLS or name.startswith("__all__.")
    if isinstance(node, cst.Assign):
        return any(_is_all(target.target) for target in node.targets)
    if isinstance(node, (cst.AugAssign, cst.AnnAssign)):
        return _is_all(node.target)
    return False


def _is_all(target: cst.BaseExpression) -> bool:
    return isinstance(target, cst.Name) and target.value == "__all__"


def _names_under(nodes: Iterable[cst.CSTNode]) -> set[str]:
    return set(_identifiers(nodes))


def _uses(module: cst.Module, names: set[str], lines: StatementLines | None = None) -> set[str]:
    """Which of `names` the module uses: `_identifiers([module], names) & names`,
    one top-level statement at a time, each remembered (`_statement_uses`), and
    only those whose lines may hold one of them (`lines`)."""
    words = frozenset(names)
    found: set[str] = set()
    for statement in module.body:
        if lines is None or lines.may_use(statement, words):
            found |= _statement_uses(statement, words)
        if found >= words:
            break  # all used: the rest cannot change the answer
    return found


class StatementLines:
    """Which top-level statements of a parsed module may use a name, told from the
    `ast` of the same text (a speed trick behind `_uses`: walking every statement
    of a large file to learn that one import is still used cost seconds).

    A statement can use a name (`_identifiers`: a Name, or a word in a string
    pyflakes reads as code) only on a line that holds it as a whole word, and a
    top-level libcst statement spans the lines of the `ast` statements it holds,
    decorators included. Its statements are matched with the `ast`'s in order; where
    they do not match, or CPython counts lines otherwise than the text's "\n" (a
    lone "\r"), every statement may use every name. A test proves `_uses` equal
    with and without it on every fixture and module of the repository."""

    def __init__(self, module: cst.Module, scan: Scan) -> None:
        self._scan = scan
        self._spans: dict[int, tuple[cst.CSTNode, int, int]] = {}
        if scan.counts_lines_as_text_does:
            self._spans = _statement_spans(module, scan.tree.body) or {}
        self._lines: dict[frozenset[str], list[int]] = {}

    def may_use(self, statement: cst.CSTNode, words: frozenset[str]) -> bool:
        """False only when no line of `statement` (one of the module's own top-level
        statements) holds one of `words`."""
        kept = self._spans.get(id(statement))
        if kept is None or kept[0] is not statement:
            return True
        _, first, last = kept
        lines = self._lines.get(words)
        if lines is None:  # asked of each statement in turn: sorted once
            lines = self._lines[words] = sorted(set().union(*map(self._scan.lines_of, words)))
        at = bisect.bisect_left(lines, first)
        return at < len(lines) and lines[at] <= last


@lru_cache(maxsize=1)
def _compound() -> dict[type[cst.CSTNode], tuple[type[ast.stmt], ...]]:
    """libcst's compound statements and the `ast` statements each one is (made on
    first use: libcst is imported only when a file is parsed)."""
    kinds: dict[type[cst.CSTNode], tuple[type[ast.stmt], ...]] = {
        cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
        cst.ClassDef: (ast.ClassDef,),
        cst.If: (ast.If,),
        cst.For: (ast.For, ast.AsyncFor),
        cst.While: (ast.While,),
        cst.Try: (ast.Try,),
        cst.With: (ast.With, ast.AsyncWith),
    }
    if sys.version_info >= (3, 10):  # pragma: no branch
        kinds[cst.Match] = (ast.Match,)
    if sys.version_info >= (3, 11):  # pragma: no branch
        kinds[cst.TryStar] = (ast.TryStar,)
    return kinds


def _statement_spans(
    module: cst.Module, body: list[ast.stmt]
) -> dict[int, tuple[cst.CSTNode, int, int]] | None:
    """Each top-level statement's first and last line, from the `ast` statements it
    holds (one per small statement of a line, else one); None if they do not match."""
    compound = _compound()
    compound_ast = tuple(kind for kinds in compound.values() for kind in kinds)
    spans: dict[int, tuple[cst.CSTNode, int, int]] = {}
    at = 0
    for statement in module.body:
        if isinstance(statement, cst.SimpleStatementLine):
            nodes = body[at : at + len(statement.body)]
            if len(nodes) != len(statement.body) or any(
                isinstance(node, compound_ast) for node in nodes
            ):
                return None
        else:
            kinds = compound.get(type(statement))
            nodes = body[at : at + 1]
            if kinds is None or not nodes or not isinstance(nodes[0], kinds):
                return None
        at += len(nodes)
        first = min(
            line
            for node in nodes
            for line in (node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ())))
        )
        last = max(node.end_lineno or node.lineno for node in nodes)
        spans[id(statement)] = (statement, first, last)
    return spans if at == len(body) else None


_STATEMENT_USES: dict[tuple[int, frozenset[str]], tuple[cst.CSTNode, frozenset[str]]] = {}
STATEMENT_USES_KEPT = 4096


def _statement_uses(statement: cst.CSTNode, words: frozenset[str]) -> frozenset[str]:
    """The `words` one statement uses. A fix replaces nodes in one statement and
    keeps the others (the same objects), so the edits of several fixes to a file
    walk each unchanged statement once. The statement is kept with its answer, so
    its id cannot be reused while the answer is."""
    key = (id(statement), words)
    kept = _STATEMENT_USES.get(key)
    if kept is None or kept[0] is not statement:
        if len(_STATEMENT_USES) >= STATEMENT_USES_KEPT:
            _STATEMENT_USES.clear()
        kept = (statement, frozenset(_identifiers([statement], words)) & words)
        _STATEMENT_USES[key] = kept
    return kept[1]


def _without(body: Sequence[cst.BaseStatement], unused: set[str]) -> list[cst.BaseStatement]:
    out: list[cst.BaseStatement] = []
    dropped: cst.SimpleStatementLine | None = None
    for statement in body:
        if dropped is not None:
            statement = _after_dropped(statement, dropped, first=not out)
            dropped = None
        if _editable_imports(statement):
            assert isinstance(statement, cst.SimpleStatementLine)
            kept = _kept_smalls(statement.body, unused)
            if not kept:
                dropped = statement
                continue
            statement = statement.with_changes(body=kept)
        out.append(statement)
    return out


def _after_dropped(
    statement: cst.BaseStatement, dropped: cst.SimpleStatementLine, first: bool
) -> cst.BaseStatement:
    """`statement` taking over the place of the removed line above it: its
    comments, and its blank lines where they separated it from what came before."""
    gone = list(dropped.leading_lines)
    own = _leading_lines(statement)
    kept = len(gone) - _leading_blanks(gone[::-1])
    skipped = _leading_blanks(own)
    # Where they meet, as many blank lines as either had (none above the first).
    blanks = len(gone) - kept if first else max(len(gone) - kept, skipped)
    lines = [*gone[:kept], *(_blank() for _ in range(blanks)), *own[skipped:]]
    return statement.with_changes(leading_lines=lines)


def _kept_smalls(
    smalls: Sequence[cst.BaseSmallStatement], unused: set[str]
) -> list[cst.BaseSmallStatement]:
    kept: list[cst.BaseSmallStatement] = []
    for small in smalls:
        if isinstance(small, (cst.Import, cst.ImportFrom)):
            aliases = _aliases(small)
            keep = [a for a in aliases if _bound_name(small, a) not in unused]
            if aliases and not keep:
                continue
            if len(keep) != len(aliases):
                keep[-1] = keep[-1].with_changes(comma=aliases[-1].comma)
                small = small.with_changes(names=keep)
        kept.append(small)
    if kept and len(kept) != len(smalls):
        kept[-1] = kept[-1].with_changes(semicolon=smalls[-1].semicolon)
    return kept
