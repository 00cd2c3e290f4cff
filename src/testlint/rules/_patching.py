"""What the patching rules (TL401-TL404) share: recognising patch calls and their
targets in a test module, what the test imports, and splitting a target into
module and attribute against the project's module index."""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import ClassVar, Optional, cast

import libcst as cst

from testlint.api import MODULES, NodeFix, Rule, RuleContext, SourceFile
from testlint.index import ModuleIndex
from testlint.memo import Key, Memo
from testlint.module_info import ModuleInfo, read_module
from testlint.names import dotted_name
from testlint.project import Project, display_path
from testlint.rules._asyncio import (
    FIXTURE_DECORATORS,
    decorator_names,
    mark_names,
    marks_in_scope,
)
from testlint.rules._helpers import find_keyword, positional_args
from testlint.rules._reach import MAX_DEFINITIONS, Reached, reach
from testlint.scan import Scan, dotted, statements_in

PATCH_FUNCTIONS = ("unittest.mock.patch", "mock.patch")
MOCKER_NAMES = frozenset(
    {"mocker", "class_mocker", "module_mocker", "package_mocker", "session_mocker"}
)
RELOAD = "importlib.reload"
SKIPPING_MARKS = frozenset({"pytest.mark.skip", "pytest.mark.skipif", "pytest.mark.xfail"})


@dataclass
class PatchTarget:
    """One patched name: `target` is `module.attr` (or deeper for class attributes)."""

    target: str
    node: cst.BaseExpression
    """Where to report: the target string, or the patch call for object forms."""
    string: cst.SimpleString | None
    """The literal holding the whole target, when a fix can rewrite it."""
    create: bool
    statement: cst.CSTNode | None
    scope: int | None = None
    """The top-level function (or method) holding the patch, by id."""
    skipped: bool = False
    """The test holding it is marked skip, skipif or xfail."""
    definition: str | None = None
    """The function holding it as the module index names definitions: `test_x`,
    or `TestKlass.test_x` for a method (None: at module level)."""
    in_fixture: bool = False
    """The function holding it is a fixture (its patches reach the tests using it)."""
    parameters: tuple[str, ...] = ()
    """The parameters of the function holding it (the fixtures a test requests)."""
    by_mock: bool = True
    """Patched by `unittest.mock` (`patch`, `patch.object`, `mocker.patch`), which
    creates a missing builtin name on a module; `monkeypatch.setattr` does not."""
    call: int | None = None
    """The id of a `mock.patch(...)` call: a patcher, which looks its target up
    only when entered, started or used as a decorator (None: applied at once,
    like `mocker.patch`)."""
    call_id: int = 0
    """The id of the patch call, whatever its kind."""
    configured: bool = True
    """The call gives the replacement or shapes the mock (`new`, `return_value`,
    `side_effect`, `wraps`...); False for a bare `mocker.patch("x.y")`."""
    order: int = 0
    """When the visit recorded it, counted with the local imports (source order)."""


@dataclass
class SplitTarget:
    module: str
    attr: str
    project: bool


@dataclass
class TestFacts:
    """Everything the patch rules read from one test module."""

    targets: list[PatchTarget] = field(default_factory=list)
    imported: set[str] = field(default_factory=set)
    """Modules imported at module level (what every test of the file has)."""
    local_imports: dict[int, set[str]] = field(default_factory=dict)
    """Modules imported inside one top-level function or method, by its id."""
    first_local_import: dict[tuple[int, str], int] = field(default_factory=dict)
    """(function id, module) -> when the function first imports it (source order)."""
    recorded: int = 0
    """How many patches and local imports were recorded so far (the order)."""
    reloaded: set[str] = field(default_factory=set)
    reload_unknown: bool = False
    unused_calls: set[int] = field(default_factory=set)
    """Ids of calls whose value is dropped: a whole statement, or a with-item
    without `as`."""
    expression_statements: set[int] = field(default_factory=set)
    """Ids of calls that are a whole statement."""
    bound: dict[int, str] = field(default_factory=dict)
    """Ids of calls -> the name their value is bound to (`m = patch(...)`,
    `with patch(...) as m`)."""
    passed: dict[int, set[str]] = field(default_factory=dict)
    """Names passed as call arguments inside each top-level function, by its id."""


TEST_FACTS: Key[TestFacts] = Key("the test module's patch facts, shared by the patch rules")
IMPORTED_BEFORE_TESTS: Key[frozenset[str]] = Key("project modules imported before the tests")
CONFTEST_IMPORTS: Key[frozenset[str]] = Key("modules a conftest imports (per text)")
CONFTEST_IMPORTS_IN: Key[frozenset[str]] = Key("modules the conftests above import (per dir)")
TARGETS_AND_IMPORTS: Key[tuple[set[tuple[str, bool]], set[str]]] = Key("patch targets (ast)")
REACHED: Key[Reached] = Key("a patch's reach (per file, place and target)")

GATE_REACH_BYTES = 32
"""Bytes of the test file per definition the gate may follow, over all the file's
patches, before it leaves the rest to the visit (which follows up to
`MAX_DEFINITIONS` per patch): following a definition (reading the modules it
reaches) costs about what a libcst parse and visit of that many bytes does, so the
gate spends at most what it would save."""
SET_UP_METHODS = ("setUp", "setup_method", "setUpClass", "setup_class", "asyncSetUp")
TEST_MODULE = "<test module>"
"""The name the test module's own facts are read under (not a project module)."""
_NOWHERE = cast("cst.BaseExpression", object())
"""The node the gate's targets report at: it reports nowhere, and building a
libcst node here would import libcst for files that are never parsed."""


class PatchRule(Rule):
    """Base for TL4xx: records the file's patch targets and imports during the
    visit; subclasses judge each target in `check` once the visit is over.

    The facts are the same for every patch rule, so the first patch rule made for
    a file records them and the others share its record (through the file's memo)
    instead of walking the same calls again."""

    triggers: ClassVar[tuple[str, ...]] = ("patch", "setattr")
    facts = (MODULES,)
    without_tree = False
    """True for the instance the gate judges with: targets found with `ast`, and no
    libcst tree, so everything the visit would record is unknown and assumed not
    to suppress a finding (no reload, no other patch, every import counts for
    every test). The same `check` then judges in the gate and in the visit."""
    would_report = False
    """Set instead of reporting, in the gate's judge."""

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """Judge the file's patch targets, found with `ast`, as the rule would but
        assuming nothing suppresses a finding (no reload, no other patch, every
        import counts for every test): only a file where the rule could report is
        parsed with libcst."""
        targets, imports = _targets_and_imports(file.scan)
        if not targets:
            return False
        judge = cls(cast("RuleContext", _GateContext(file.path, file.source, file.project)))
        judge.without_tree = True
        judge._imported = imports | conftest_imports(judge.context)
        judge._gate_scan = file.scan
        for target, create in sorted(targets):
            judge._judged = PatchTarget(target, _NOWHERE, None, create, None)
            judge._follows_reach = False
            judge.check(judge._judged)
            if judge.would_report:
                # Judged again following the reach, which costs reading project
                # modules: only for a target that would keep the file otherwise.
                judge.would_report = False
                judge._follows_reach = True
                judge.check(judge._judged)
            if judge.would_report:
                return True
        return False

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._records = not context.memo.known(TEST_FACTS)
        self.test_facts = context.memo.get(TEST_FACTS, TestFacts)
        self._module_names: dict[str, str] = {}
        """Local names bound by `import X` statements (module objects)."""
        self._function: cst.FunctionDef | None = None
        self._classes: list[str] = []
        """Names of the classes being visited (outermost first)."""
        self._imported: set[str] = set()
        """What the test being judged imports (set per target in leave_Module)."""
        self._own: set[str] = set()
        """What of that the test module imports itself, not through a conftest."""
        self._judged: PatchTarget | None = None
        """The target being judged (set per target in leave_Module)."""
        self._gate_scan: Scan | None = None
        """The file's `ast`, in the gate's judge (which follows a patch's reach
        from where the `ast` says the patch is)."""
        self._gate_budget = len(context.source) // GATE_REACH_BYTES
        """Definitions the gate's judge may still follow for this file."""
        self._follows_reach = False
        """The gate's judge follows the reach (else `reached` is None: the worst)."""

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        *,
        fix: NodeFix | None = None,
        statement: cst.CSTNode | None = None,
    ) -> None:
        if self.without_tree:
            self.would_report = True  # the gate's judge: the file is worth parsing
            return
        super().report(node, message, fix=fix, statement=statement)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if not self.context.function_depth:
            self._function = node  # the top-level function (or method) being visited

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        if original_node is self._function:
            self._function = None

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self._records:
            self._classes.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        if self._records:
            self._classes.pop()

    def _definition(self) -> str | None:
        if self._function is None:  # a class decorator: every method of the class
            return self._classes[0] if len(self._classes) == 1 else None
        name = self._function.name.value
        return f"{self._classes[0]}.{name}" if len(self._classes) == 1 else name

    def _applied(self, call: int) -> bool:
        """A `mock.patch(...)` patcher (by its call's id) whose value is used:
        entered, started, a decorator, assigned or passed on. One that is a whole
        statement is never started, so it looks nothing up."""
        return call not in self.test_facts.expression_statements

    def _parameters(self) -> tuple[str, ...]:
        if self._function is None:
            return ()
        params = self._function.params
        return tuple(p.name.value for p in (*params.params, *params.kwonly_params))

    def _in_fixture(self) -> bool:
        if self._function is None:
            return False
        decorators = [d.decorator for d in self._function.decorators]
        return bool(mark_names(self.context, decorators) & FIXTURE_DECORATORS)

    def _add_import(self, module: str) -> None:
        """Module-level imports count for every test of the file; an import inside
        a function counts only for patches in that function."""
        if self.context.function_depth and self._function is not None:
            self.test_facts.local_imports.setdefault(id(self._function), set()).add(module)
            self.test_facts.recorded += 1
            key = (id(self._function), module)
            self.test_facts.first_local_import.setdefault(key, self.test_facts.recorded)
        else:
            self.test_facts.imported.add(module)

    # -- recording

    def visit_Import(self, node: cst.Import) -> None:
        if not self._records:
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if name:
                self._add_import(name)
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self._module_names[alias.asname.name.value] = name
                else:
                    head = name.split(".", 1)[0]
                    self._module_names[head] = head

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        if not self._records or node.relative or node.module is None:
            return
        module = dotted_name(node.module)
        if not module:
            return
        if isinstance(node.names, cst.ImportStar):
            self._add_import(module)
            return
        for alias in node.names:
            name = dotted_name(alias.name)
            if not name:
                continue
            submodule = f"{module}.{name}"
            if submodule in self.index.files or self.index.is_package(submodule):
                self._add_import(submodule)  # `from pkg import mod`
            else:
                self._add_import(module)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._records and len(node.targets) == 1:
            target = node.targets[0].target
            if isinstance(target, cst.Name):
                self.test_facts.bound[id(node.value)] = target.value

    def visit_WithItem(self, node: cst.WithItem) -> None:
        if not self._records:
            return
        if node.asname is None:
            self.test_facts.unused_calls.add(id(node.item))  # `with patch(...):` keeps no mock
        elif isinstance(node.asname.name, cst.Name):
            self.test_facts.bound[id(node.item)] = node.asname.name.value

    def visit_Arg(self, node: cst.Arg) -> None:
        if self._records and self._function is not None and isinstance(node.value, cst.Name):
            self.test_facts.passed.setdefault(id(self._function), set()).add(node.value.value)

    def visit_Expr(self, node: cst.Expr) -> None:
        if self._records and isinstance(node.value, cst.Call):
            self.test_facts.unused_calls.add(id(node.value))
            self.test_facts.expression_statements.add(id(node.value))  # `patch("x.y")` alone

    def visit_Call(self, node: cst.Call) -> None:
        if not self._records:
            return
        qualified = self.context.imports.resolve(node.func)
        if isinstance(node.func, cst.Attribute) and node.func.attr.value == "exec_module":
            self.test_facts.reload_unknown = True  # `spec.loader.exec_module(m)` runs a module anew
            return
        if qualified == RELOAD:
            args = positional_args(node)
            reloaded = self.context.imports.resolve(args[0].value) if args else None
            if reloaded is None:
                self.test_facts.reload_unknown = True
            else:
                self.test_facts.reloaded.add(reloaded)
            return
        dotted = dotted_name(node.func) or ""
        head, _, rest = dotted.partition(".")
        form: str | None = None
        kind = "mock"
        if qualified is not None:
            for base in PATCH_FUNCTIONS:
                if qualified == base:
                    form = "string"
                elif qualified in (f"{base}.object", f"{base}.multiple"):
                    form = qualified.rsplit(".", 1)[-1]
        elif head in MOCKER_NAMES and rest in ("patch", "patch.object", "patch.multiple"):
            form = {"patch": "string", "patch.object": "object"}.get(rest, "multiple")
            kind = "mocker"
        elif dotted == "monkeypatch.setattr":
            form, kind = "setattr", "monkeypatch"
        if form is not None:
            self._record(node, form, kind)

    def _record(self, call: cst.Call, form: str, kind: str) -> None:
        """`kind`: "mock" (a patcher, applied when used), "mocker" or "monkeypatch"
        (applied at once)."""
        args = positional_args(call)
        create = _true(find_keyword(call, "create")) or _false(find_keyword(call, "raising"))
        statement = self.context.enclosing_statement()
        targets: list[tuple[str, cst.BaseExpression, cst.SimpleString | None]] = []
        if form == "setattr":
            form = "string" if len(args) == 2 else "object"
        if form == "string":
            first = args[0].value if args else _keyword_value(call, "target")
            text = _literal(first)
            if text is not None and first is not None and "." in text:
                literal = first if isinstance(first, cst.SimpleString) else None
                targets.append((text, first, literal))
        elif form == "object" and len(args) >= 2:
            module = self._module_object(args[0].value)
            attr = _literal(args[1].value)
            if module is not None and attr is not None:
                targets.append((f"{module}.{attr}", args[1].value, None))
        elif form == "multiple" and args:
            first = args[0].value
            module = _literal(first) or self._module_object(first)
            if module is not None:
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value not in ("new", "create"):
                        targets.append((f"{module}.{arg.keyword.value}", arg.keyword, None))
        for text, node, literal in targets:
            scope = id(self._function) if self._function is not None else None
            self.test_facts.targets.append(
                PatchTarget(
                    text,
                    node,
                    literal,
                    create,
                    statement,
                    scope,
                    self._skipped(),
                    self._definition(),
                    self._in_fixture(),
                    self._parameters(),
                    kind != "monkeypatch",
                    call=id(call) if kind == "mock" else None,
                    call_id=id(call),
                    configured=_configures(call, form),
                    order=self._next(),
                )
            )

    def _next(self) -> int:
        self.test_facts.recorded += 1
        return self.test_facts.recorded

    def _skipped(self) -> bool:
        if self._function is None:
            return False
        marks = marks_in_scope(self.context, self._function)
        if marks & SKIPPING_MARKS:
            return True
        names = {mark.rsplit(".", 1)[-1] for mark in marks if mark.startswith("pytest.mark.")}
        return any(
            skips_marked(text, name)
            for text in self.context.project.conftest_texts(self.context.path.parent)
            for name in names
        )

    def _module_object(self, expression: cst.BaseExpression) -> str | None:
        """The module an expression names: a project module (`orders` after `from
        shop import orders`) or one bound by `import X` (`time`); else None, since
        other objects (classes, instances) are not analysed."""
        qualified = self.context.imports.resolve(expression)
        if qualified is not None and qualified in self.index.files:
            return qualified
        dotted = dotted_name(expression)
        if dotted is not None and dotted.split(".", 1)[0] in self._module_names:
            head, _, rest = dotted.partition(".")
            module = self._module_names[head]
            return f"{module}.{rest}" if rest else module  # `import time` -> `time`
        return None

    # -- judging

    @cached_property
    def index(self) -> ModuleIndex:
        return self.context.project.owner(self.context.path).module_index

    def leave_Module(self, original_node: cst.Module) -> None:
        if not self.test_facts.targets:
            return
        shared = self.test_facts.imported | conftest_imports(self.context)
        for target in self.test_facts.targets:
            if target.call is not None and not self._applied(target.call):
                continue  # a patcher never used patches nothing
            local = self.test_facts.local_imports.get(target.scope or 0, set())
            self._imported = shared | local
            self._own = self.test_facts.imported | local
            self._judged = target
            self.check(target)

    def check(self, target: PatchTarget) -> None:
        raise NotImplementedError

    def split(self, target: str) -> SplitTarget | None:
        """`shop.orders.charge` -> module `shop.orders`, attribute `charge`, by the
        longest prefix that is a project module; for third-party targets, all but
        the last name."""
        parts = target.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            module = ".".join(parts[:cut])
            if self.index.knows(module):
                return SplitTarget(module, parts[cut], True)
        if len(parts) < 2 or not all(p.isidentifier() for p in parts):
            return None
        return SplitTarget(".".join(parts[:-1]), parts[-1], False)

    def call_time_consumer(self, module: str, attr: str) -> bool:
        """A project module the test imports reads `module.attr` at call time
        (`import module` ... `module.attr()`): the patch takes effect there, so the
        test may well mean that one. (`module` itself using `attr` does not count:
        the fixtures' true positives patch names their own module uses too.)"""
        if self.without_tree:
            return False
        for name in self._imported:
            info = self.index.get(name) if name in self.index.files else None
            if info is None:
                continue
            for local, aliased in info.module_aliases.items():
                if aliased == module and f"{local}.{attr}" in info.used_in_functions:
                    return True
        return False

    def also_named_by(self, module: str, attr: str, besides: str) -> str | None:
        """Another project module the test imports that names `module.attr` through
        `import module` (in its text: `call_time_consumer` has ruled out a call-time
        read, so it keeps the original too, or only mentions it). The test may mean
        that module rather than `besides`."""
        if self.without_tree:
            return None
        for name in sorted(self._imported):
            if name == besides or name not in self.index.files:
                continue
            info = self.index.get(name)
            if info is None:
                continue
            for local, aliased in info.module_aliases.items():
                if aliased == module and f"{local}.{attr}".encode() in self.index.data(name):
                    return name
        return None

    def own_module_under_test(self, module: str, attr: str) -> bool:
        """The test module imports `module` itself (not only through a conftest),
        and `module`'s own functions read `attr` from its namespace: the patch
        takes effect there, and that module is the one the test names."""
        if self.without_tree:
            return False
        if module not in self._own or module not in self.index.files:
            return False
        info = self.index.get(module)
        return info is not None and attr in info.used_in_functions

    def imported_by_test(self, module: str) -> bool:
        """Whether the test module itself imports `module` (not only a conftest)."""
        return module in self._own

    def imported_project_modules(self) -> set[str]:
        """Project modules the test imports, and what they import, transitively."""
        return self._closure(self._imported)

    def imported_before_patch(self, module: str) -> bool:
        """Whether `module` is surely imported before the patch being judged is
        applied: by the test module or a conftest above it (at their top level,
        directly or through project modules), or by the patch's own function
        before the patch. A module the test imports only after its patch (inside
        the `with`, after `mocker.patch`, in the test body when a fixture or
        `setUp` patches) may be imported there for the first time, and then binds
        the mock: whether an earlier test imported it depends on test order."""
        if self.without_tree:
            scan = self._gate_scan
            return scan is None or self._imported_before_patch_in_gate(scan, module)
        if module in self.test_facts.imported:
            return True
        target = self._judged
        if target is not None and target.scope is not None:
            first = self.test_facts.first_local_import.get((target.scope, module))
            if first is not None and first < target.order:
                return True
        return self._imported_at_collection(module)

    def _imported_before_patch_in_gate(self, scan: Scan, module: str) -> bool:
        """`imported_before_patch` from the `ast`, for any place of the target the
        gate judges: imported outside functions (or by a conftest), inside the
        outermost function of one of its patches on a line no later than the patch,
        or maybe by another project module (one whose text names it)."""
        judged = self._judged
        if judged is None:
            return True
        imports = ast_imports(scan)
        if module in imports.top_level or module in conftest_imports(self.context):
            return True
        for function, line in imports.patches.get((judged.target, judged.create), ()):
            first = imports.local.get((function, module))
            if first is not None and first <= line:
                return True
        # Imported at collection through other project modules (`_closure`, which
        # the gate does not follow: it reads them all) only if another one names it.
        name = module.rpartition(".")[2]
        return any(other != module for other in self.index.mentioning(name))

    def _imported_at_collection(self, module: str) -> bool:
        found = self.context.memo.get(
            IMPORTED_BEFORE_TESTS,
            lambda: frozenset(
                self._closure(self.test_facts.imported | conftest_imports(self.context))
            ),
        )
        return module in found

    def _closure(self, modules: set[str]) -> set[str]:
        """The project modules among `modules`, and those they import at top
        level, transitively."""
        pending = [m for m in modules if m in self.index.files]
        seen: set[str] = set()
        while pending:
            name = pending.pop()
            if name in seen:
                continue
            seen.add(name)
            info = self.index.get(name)
            if info is not None:
                pending.extend(m for m in info.imports if m in self.index.files)
        return seen

    def imports(self, module: str) -> bool:
        """Whether the test (or a conftest above it) imports `module`."""
        return module in self._imported

    def reloads(self, module: str) -> bool:
        if self.without_tree:
            return False
        return self.test_facts.reload_unknown or module in self.test_facts.reloaded

    def patches(self, target: str) -> bool:
        """Whether the test being judged also patches `target`: in the same
        function, at module level, in its class's set-up, or in a fixture of the
        module (which the test may request). Never another test's patch."""
        if self.without_tree:
            return False
        judged = self._judged
        for other in self.test_facts.targets:
            if other.target != target:
                continue
            if other.definition is None or other.in_fixture:
                return True
            if judged is None or other.definition == judged.definition:
                return True
            klass, _, method = other.definition.rpartition(".")
            judged_class = (judged.definition or "").rpartition(".")[0]
            if klass and klass == judged_class and method in SET_UP_METHODS:
                return True
        return False

    def mock_passed_on(self, target: PatchTarget) -> bool:
        """The test hands the patch's mock to the code itself (`run(runner=mock)`):
        it may not rely on the patch being looked up at all."""
        if self.without_tree:
            return False
        name = self.test_facts.bound.get(target.call_id)
        return name is not None and name in self.test_facts.passed.get(target.scope or 0, set())

    def is_test_helper(self, info: ModuleInfo) -> bool:
        """A module of the test tree (a conftest.py sits in its directory or one
        above, below the project root): a helper, not code under test."""
        root = self.context.project.root
        directory = info.path.parent
        while directory != root and directory.parent != directory:
            if (directory / "conftest.py").is_file():
                return True
            directory = directory.parent
        return False

    def is_stub(self, target: PatchTarget) -> bool:
        """A bare stub: `mocker.patch("x.y")` whose mock the test neither shapes nor
        keeps. Whether it takes effect matters only if the real function runs
        and does something observable, which cannot be told statically."""
        if self.without_tree:
            return False
        return not target.configured and target.call_id in self.test_facts.unused_calls

    def runs(self, target: PatchTarget) -> bool:
        """Whether some test can run the patch: it is at module level, in a test,
        a fixture or a set-up method, or in a helper whose name appears elsewhere in
        the module (a helper nothing names patches nothing)."""
        if self.without_tree:
            return True
        definition = target.definition
        if definition is None or target.in_fixture:
            return True
        name = definition.rpartition(".")[2]
        if name.startswith(("test", "Test")) or name in SET_UP_METHODS:
            return True
        return self.context.source.count(name) > 1

    @cached_property
    def _test_module(self) -> ModuleInfo | None:
        """The test module's own facts, as the index reads project modules."""
        return read_module(TEST_MODULE, self.context.path, self.context.source.encode())

    def reached(self, module: str, attr: str) -> Reached | None:
        """What the code the judged test reaches does with `module.attr`: from the
        test, its class's set-up and the fixtures it requests; for a patch in a
        fixture, from the tests of this module that request it; for one in a
        set-up method, from every method of its class. Not known at module level.
        (None only in the gate, where a place of the patch is not known for sure:
        it then assumes the worst.)"""
        if self.without_tree:
            return self._reached_from_every_place(module, attr) if self._follows_reach else None
        return self._reached_from(self._judged, module, attr)

    def _reached_from_every_place(self, module: str, attr: str) -> Reached | None:
        """The gate's `reached`. The target, as the gate reads it, may be patched at
        several places; the visit judges each and may report where the reach is
        known and reads no live `module.attr`: the gate's answer keeps the copies
        of every such place, and reads as live (silent) when there is none. None
        when a place is not known for sure."""
        judged, scan = self._judged, self._gate_scan
        if judged is None or scan is None:
            return None
        places = patch_places(scan).get((judged.target, judged.create))
        if not places or None in places:
            return None
        copies: dict[str, set[str]] = {}
        reporting = False
        for place in places:
            assert place is not None
            definition, in_fixture, parameters = place
            at = PatchTarget(
                judged.target, _NOWHERE, None, judged.create, None,
                definition=definition, in_fixture=in_fixture, parameters=parameters,
            )  # fmt: skip
            found = self._reached_from(at, module, attr, limit=self._gate_budget)
            if found.cut:
                self._gate_budget = 0
                return None  # too costly for a gate: the visit follows it
            self._gate_budget -= found.walked
            if found.known and not found.live:
                reporting = True
                for name, names in found.copies.items():
                    copies.setdefault(name, set()).update(names)
        return Reached(known=True, live=not reporting, copies=copies)

    def _reached_from(
        self, judged: PatchTarget | None, module: str, attr: str, limit: int = MAX_DEFINITIONS
    ) -> Reached:
        test = self._test_module
        if judged is None or judged.definition is None or test is None:
            return Reached(known=False)
        definition = judged.definition
        starts = [(test, definition)]
        klass, _, method = definition.rpartition(".")
        if klass and method in SET_UP_METHODS:
            starts = [(test, klass)]  # set-up patches reach every test of the class
        elif klass:
            starts += [(test, f"{klass}.{name}") for name in SET_UP_METHODS]
        requested = list(judged.parameters)
        if judged.in_fixture:
            users = [d for d, names in test.body.parameters.items() if method in names]
            starts += [(test, user) for user in users]
            requested += [name for user in users for name in test.parameters_of(user)]
        conftests = self._conftest_modules
        for fixture in requested:
            for info in (test, *conftests):
                if fixture in info.top_level:  # the nearest definition wins
                    starts.append((info, fixture))
                    break
        # The gate's judge and the visit follow the same reach for a file that
        # reports: a complete answer is kept for the other (not one cut short).
        key = (
            self.context.path, self.context.source, definition,
            judged.in_fixture, judged.parameters, module, attr,
        )  # fmt: skip
        memo = self.context.project.memo
        if memo.known(REACHED, key):
            return memo.get(REACHED, Reached, key)
        local = {i.name: i for i in (test, *conftests)}
        found = reach(self.index, starts, module, attr, local, min(limit, MAX_DEFINITIONS))
        if not found.cut:
            memo.get(REACHED, lambda: found, key)
        return found

    @cached_property
    def _conftest_modules(self) -> list[ModuleInfo]:
        """The conftests from the test's directory up, nearest first."""
        found = []
        where = self.context.path.parent / "conftest.py"
        for number, text in enumerate(
            self.context.project.conftest_texts(self.context.path.parent)
        ):
            info = read_module(f"<conftest {number}>", where, text.encode())
            if info is not None:
                found.append(info)
        return found

    def where(self, path: Path) -> str:
        """A project file as messages name it."""
        return display_path(path, self.context.project.root)


def skips_marked(conftest: str, mark: str) -> bool:
    """Whether a conftest skips tests carrying `mark` at run time, unless some
    option is given (pip: `if item.get_closest_marker("search") and not
    config.getoption("--run-search"): item.add_marker(pytest.mark.skip(...))`):
    the mark looked up and `skip` on that line or the next."""
    if mark not in conftest:
        return False
    name = re.escape(mark)
    lookup = re.compile(
        rf"(?:(?:get_closest_marker|iter_markers)\W{{0,3}}[\"']{name}[\"']"
        rf"|[\"']{name}[\"']\s+in\s+[\w.]*keywords)[^\n]*(?:\n[^\n]*)?skip"
    )
    return lookup.search(conftest) is not None


def conftest_imports(context: RuleContext) -> set[str]:
    """Modules imported by the conftests in the test's directory and above (the
    fixtures a test uses come from them)."""
    memo = context.project.memo
    directory = context.path.parent

    def in_directory() -> frozenset[str]:
        found: set[str] = set()
        for text in context.project.conftest_texts(directory):
            found |= _conftest_imports(memo, text)
        return frozenset(found)

    answer: frozenset[str] = memo.get(CONFTEST_IMPORTS_IN, in_directory, directory)
    return set(answer)


def _conftest_imports(memo: Memo, text: str) -> frozenset[str]:
    """The modules one conftest imports, by its text (several directories share it)."""
    return memo.get(CONFTEST_IMPORTS, lambda: frozenset(_imported_modules(text)), text)


def _imported_modules(text: str) -> set[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set()
    return _modules_imported_by(_module_level(tree.body))


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements that run when the conftest is imported (not fixture bodies)."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _module_level(statement.body)
            yield from _module_level(statement.orelse)
        elif isinstance(statement, ast.Try):
            yield from _module_level(statement.body)
            for handler in statement.handlers:
                yield from _module_level(handler.body)


PATCH_CALL_NAMES = frozenset({"patch", "object", "multiple", "setattr"})
PATCH_FORMS = PATCH_CALL_NAMES - {"setattr"}
BROKER_GETTERS = frozenset({"dramatiq.get_broker", "dramatiq.set_broker"})


def _possible_targets(call: ast.Call, scan: Scan) -> Iterator[str | None]:
    """Every target the call may patch, with the module part resolved through the
    file's imports in every way it could be (None: it cannot be resolved)."""
    args = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    first = args[0] if args else next((k.value for k in call.keywords if k.arg == "target"), None)
    text = _ast_string(first)
    attrs: list[str] = []
    if "multiple" in scan.names(call.func):
        attrs = [
            k.arg for k in call.keywords if k.arg is not None and k.arg not in ("new", "create")
        ]
    if len(args) >= 2 and _ast_string(args[1]) is not None:
        attrs.append(str(_ast_string(args[1])))
    modules: list[str | None] = []
    if text is not None:
        yield text
        modules = [text]
    elif first is not None:
        modules = list(scan.qualified(first))
    for module in modules:
        for attr in attrs:
            yield None if module is None else f"{module}.{attr}"


def _may_have_target(call: ast.Call, scan: Scan) -> bool:
    """A superset of the calls `_record` takes a target from: any patch-like call
    with a dotted string target, or a module (an imported name) and a string."""
    callee = dotted(call.func) or ""
    if not (scan.names(call.func) & PATCH_FORMS or callee.endswith("monkeypatch.setattr")):
        return False
    args = [arg for arg in call.args if not isinstance(arg, ast.Starred)]
    first = args[0] if args else next((k.value for k in call.keywords if k.arg == "target"), None)
    if _ast_string(first) is not None and "." in str(_ast_string(first)):
        return True
    head = (dotted(first) or "").split(".", 1)[0] if first is not None else ""
    module = head in scan.import_bound or _ast_string(first) is not None
    if not module:
        return False
    named = any(k.arg is not None and k.arg not in ("new", "create") for k in call.keywords)
    return named or (len(args) >= 2 and _ast_string(args[1]) is not None)


def _targets_and_imports(scan: Scan) -> tuple[set[tuple[str, bool]], set[str]]:
    """The file's possible patch targets (with their `create`) and every module it
    imports, found once per file for all the patch rules."""
    return scan.memo.get(TARGETS_AND_IMPORTS, lambda: _find_targets_and_imports(scan))


def _find_targets_and_imports(scan: Scan) -> tuple[set[tuple[str, bool]], set[str]]:
    targets = {
        (target, _creates(call))
        for call in scan.calls_named(PATCH_CALL_NAMES)
        if _may_have_target(call, scan)
        for target in _possible_targets(call, scan)
        if target is not None  # a module bound by a relative import is never a target
    }
    return targets, _all_imports(scan) if targets else set()


Place = tuple[Optional[str], bool, tuple[str, ...]]
"""Where a patch is, as the visit records it: `PatchTarget.definition`,
`in_fixture` and `parameters`."""
PATCH_PLACES: Key[dict[tuple[str, bool], set[Place | None]]] = Key("patch places (ast)")


def patch_places(scan: Scan) -> dict[tuple[str, bool], set[Place | None]]:
    """For each of the gate's (target, create): the places of the calls that may
    patch it, as the visit would record them (None: not known for sure, when a
    decorator may or may not be `pytest.fixture` depending on how its import is
    read). A test checks them against the visit's on every fixture."""
    return scan.memo.get(PATCH_PLACES, lambda: _find_patch_places(scan))


def _find_patch_places(scan: Scan) -> dict[tuple[str, bool], set[Place | None]]:
    calls = [c for c in scan.calls_named(PATCH_CALL_NAMES) if _may_have_target(c, scan)]
    if not calls:
        return {}
    wanted = {id(call) for call in calls}
    where: dict[int, Place | None] = {}
    # The visit's `_function` is the outermost function (set before its decorators
    # are visited) and its `_classes` every class around the call.
    stack: list[tuple[ast.AST, ast.FunctionDef | ast.AsyncFunctionDef | None, tuple[str, ...]]]
    stack = [(scan.tree, None, ())]
    while stack:
        node, function, classes = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and function is None:
            function = node
        elif isinstance(node, ast.ClassDef):
            classes = (*classes, node.name)
        if id(node) in wanted:
            where[id(node)] = _place(scan, function, classes)
        stack.extend((child, function, classes) for child in ast.iter_child_nodes(node))
    found: dict[tuple[str, bool], set[Place | None]] = {}
    for call in calls:
        for target in _possible_targets(call, scan):
            if target is not None:
                found.setdefault((target, _creates(call)), set()).add(where.get(id(call)))
    return found


def _place(
    scan: Scan,
    function: ast.FunctionDef | ast.AsyncFunctionDef | None,
    classes: tuple[str, ...],
) -> Place | None:
    if function is None:
        return (classes[0] if len(classes) == 1 else None), False, ()
    name = function.name
    definition = f"{classes[0]}.{name}" if len(classes) == 1 else name
    possible = sure = False
    for decorator in function.decorator_list:
        names = decorator_names(scan, decorator) - {None}
        possible |= bool(names & FIXTURE_DECORATORS)
        sure |= bool(names) and names <= FIXTURE_DECORATORS
    if possible and not sure:
        return None
    arguments = function.args
    return definition, possible, tuple(a.arg for a in (*arguments.args, *arguments.kwonlyargs))


def _creates(call: ast.Call) -> bool:
    """`create=True` or `raising=False`, as `_record` reads them."""
    for keyword in call.keywords:
        if isinstance(keyword.value, ast.Constant):
            if keyword.arg == "create" and keyword.value.value is True:
                return True
            if keyword.arg == "raising" and keyword.value.value is False:
                return True
    return False


@dataclass(frozen=True)
class AstImports:
    """A test module's imports and patches as the visit orders them (its
    `TestFacts`), read from the `ast` for the gate."""

    top_level: frozenset[str]
    """Modules imported outside functions (`TestFacts.imported`, or more)."""
    local: dict[tuple[int, str], int]
    """(outermost function, module) -> the first line importing it there."""
    patches: dict[tuple[str, bool], list[tuple[int, int]]]
    """(target, create) -> (outermost function, line) of each call that may patch it
    inside a function."""


AST_IMPORTS: Key[AstImports] = Key("imports and patches (ast)")


def ast_imports(scan: Scan) -> AstImports:
    """The file's `AstImports`, found once per file."""
    return scan.memo.get(AST_IMPORTS, lambda: _find_ast_imports(scan))


def _find_ast_imports(scan: Scan) -> AstImports:
    # Which outermost function holds a node is read from line ranges: no walk of
    # the expressions (a test proves it equal to a walk of the whole tree).
    functions = _outermost_functions(scan.tree)
    starts = [start for start, _, _ in functions]

    def holder(line: int) -> int | None:
        at = bisect.bisect_right(starts, line) - 1
        if at >= 0 and line <= functions[at][1]:
            return id(functions[at][2])
        return None

    top_level: list[ast.AST] = []
    local: dict[tuple[int, str], int] = {}
    for node in scan.imports:
        function = holder(node.lineno)
        if function is None:
            top_level.append(node)
            continue
        for module in _modules_imported_by([node]):
            key = (function, module)
            local[key] = min(local.get(key, node.lineno), node.lineno)
    patches: dict[tuple[str, bool], list[tuple[int, int]]] = {}
    for call in scan.calls_named(PATCH_CALL_NAMES):
        function = holder(call.lineno)
        if function is None or not _may_have_target(call, scan):
            continue
        for target in _possible_targets(call, scan):
            if target is not None:
                where = (target, _creates(call))
                patches.setdefault(where, []).append((function, call.lineno))
    return AstImports(frozenset(_modules_imported_by(top_level)), local, patches)


def _outermost_functions(tree: ast.Module) -> list[tuple[int, int, ast.AST]]:
    """(first line, decorators included; last line; node) of every function not
    inside another, in order: the visit's `_function` for what lies within."""
    found: list[tuple[int, int, ast.AST]] = []
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in statements_in(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                found.append((first, child.end_lineno or child.lineno, child))
            else:
                stack.append(child)
    return sorted(found, key=lambda entry: entry[0])


def _all_imports(scan: Scan) -> set[str]:
    """Every module the file imports anywhere, and every `from X import name` as
    `X.name` too (it may be a submodule): more than any one test imports."""
    return _modules_imported_by(scan.imports)


def _modules_imported_by(nodes: Iterable[ast.AST]) -> set[str]:
    """`X` for `import X`; `X` and `X.name` for `from X import name` (absolute only)."""
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@dataclass
class _GateContext:
    """What `check` reads from a RuleContext, in the gate (no libcst module yet)."""

    path: Path
    source: str
    project: Project
    memo: Memo = field(default_factory=Memo)


_SHAPING = frozenset({"new", "return_value", "side_effect", "wraps", "new_callable"})


def _configures(call: cst.Call, form: str) -> bool:
    """Whether a patch call gives the replacement or shapes the mock: a `new`
    argument (positional), or a keyword such as `return_value`."""
    if form in ("setattr", "multiple"):
        return True  # monkeypatch always passes a value; patch.multiple names them
    positional = positional_args(call)
    if len(positional) > (2 if form == "object" else 1):
        return True
    return any(arg.keyword is not None and arg.keyword.value in _SHAPING for arg in call.args)


def _ast_string(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _literal(node: cst.BaseExpression | None) -> str | None:
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _keyword_value(call: cst.Call, name: str) -> cst.BaseExpression | None:
    arg = find_keyword(call, name)
    return arg.value if arg is not None else None


def _true(arg: cst.Arg | None) -> bool:
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "True"


def _false(arg: cst.Arg | None) -> bool:
    return arg is not None and isinstance(arg.value, cst.Name) and arg.value.value == "False"


def quote_like(literal: cst.SimpleString, text: str) -> cst.SimpleString:
    """`text` as a string literal with `literal`'s prefix and quotes."""
    quote = literal.quote
    prefix = literal.prefix
    return cst.SimpleString(f"{prefix}{quote}{text}{quote}")
