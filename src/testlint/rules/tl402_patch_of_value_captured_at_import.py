from __future__ import annotations

import libcst as cst

from testlint.api import RuleContext, SourceFile
from testlint.rules._patching import PatchRule, PatchTarget, conftest_imports

# Import-time binders verified against the library's source. dramatiq 1.17,
# dramatiq/actor.py: `actor()` does `broker = broker or get_broker()` when the
# decorator runs and `Actor.__init__` keeps it (`self.broker = broker`,
# `broker.declare_actor(self)`); `Actor.send` uses `self.broker`.
BROKER_GETTERS = frozenset(
    {
        "dramatiq.get_broker",
        "dramatiq.set_broker",
        "dramatiq.broker.get_broker",
        "dramatiq.broker.set_broker",
    }
)
BROKER_SETTERS = frozenset({"dramatiq.set_broker", "dramatiq.broker.set_broker"})


class PatchOfValueCapturedAtImport(PatchRule):
    """
    ## What it does
    Checks for patches of a function whose result a module under test captured
    when it was imported:

    - the patched `X.f` is called by a project module `C` that the test
      imports only at module level (`STORE = get_store()`), never inside a
      function, so nothing calls it again after the patch;
    - a known import-time binder: `dramatiq.get_broker`/`set_broker` patched in
      a test whose project modules define dramatiq actors (the `@dramatiq.actor`
      decorator binds the broker when it runs, at import);
    - the same binder in setter form: a fixture or test that calls
      `dramatiq.set_broker(StubBroker())` after its file (or a conftest above it)
      imported modules declaring actors at the top, without declaring them on the
      new broker (`broker.declare_actor(actor)`);
    - a patch of the module attribute holding the broker that a project module
      passed to `dramatiq.set_broker` at import (`mock.patch("app.broker.rabbit")`):
      the actors hold the broker object, not the attribute.

    ## Why is this bad?
    The value was computed before the test started; patching the function that
    produced it changes nothing the code under test will read. The test
    silently runs against the real store, client or broker (in the seed
    post-mortem: a real RabbitMQ connection instead of the stub).

    ## Example
    ```python
    # app/factory.py
    def get_store():
        return set()
    ```

    ```python
    # app/store.py
    from app.factory import get_store

    STORE = get_store()


    def save(item):
        STORE.add(item)
    ```

    ```python
    from unittest import mock

    from app import store


    def test_save():
        with mock.patch("app.factory.get_store"):
            store.save(1)
    ```

    ## Use instead
    ```python
    from unittest import mock

    from app import store


    def test_save():
        with mock.patch("app.store.STORE") as fake:
            store.save(1)
        fake.add.assert_called_once_with(1)
    ```

    ## Fix safety
    There is no fix: the right target (`C.STORE`, a stub broker set in a
    conftest) depends on what the test means to replace.

    ## References
    - [dramatiq: unit testing with StubBroker](https://dramatiq.io/cookbook.html#unit-testing)
    """

    code = "TL402"
    name = "patch-of-value-captured-at-import"
    summary = "Patch of a function whose result was captured when the module was imported"
    triggers = (*PatchRule.triggers, "set_broker")

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        if file.scan.calls_named({"set_broker"}):
            return True  # rare: judged on the libcst tree
        return super().gate(file)

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._setters: list[tuple[cst.Call, cst.FunctionDef]] = []
        """`dramatiq.set_broker(...)` calls inside functions, with their function."""
        self._redeclaring: set[int] = set()
        """Functions that declare actors on a broker themselves (by id)."""

    def visit_Call(self, node: cst.Call) -> None:
        super().visit_Call(node)
        function = self._function
        if function is None:
            return
        if self.context.imports.resolve(node.func) in BROKER_SETTERS:
            self._setters.append((node, function))
        elif isinstance(node.func, cst.Attribute) and node.func.attr.value == "declare_actor":
            self._redeclaring.add(id(function))

    def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
        target = node.target
        if (
            self._function is not None
            and isinstance(target, cst.Attribute)
            and target.attr.value == "broker"
        ):  # `actor.broker = stub`
            self._redeclaring.add(id(self._function))

    def leave_Module(self, original_node: cst.Module) -> None:
        super().leave_Module(original_node)
        for call, function in self._setters:
            if id(function) not in self._redeclaring and not self._setter_patched(function):
                self._check_setter(call, function)

    def _setter_patched(self, function: cst.FunctionDef) -> bool:
        """The function, or a fixture it requests, patches the setter itself: the
        call does nothing, and the patch is reported instead."""
        params = {p.name.value for p in (*function.params.params, *function.params.kwonly_params)}
        return any(
            target.target in BROKER_SETTERS
            and (target.scope == id(function) or target.definition in params)
            for target in self.test_facts.targets
        )

    def check(self, target: PatchTarget) -> None:
        if target.target in BROKER_GETTERS:
            self._check_broker(target)
            return
        split = self.split(target.target)
        if split is None or target.target != f"{split.module}.{split.attr}":
            return
        if self._holds_the_broker(split.module, split.attr):
            self._check_broker(target, holder=True)
            return
        if self.index.is_depends_target(target.target):
            return  # TL404
        reached = self.reached(split.module, split.attr)
        if reached is not None and (not reached.known or reached.live):
            return  # unsure, or code the test reaches calls it: the patch is seen there
        needle = split.attr.encode()
        for name in sorted(self._imported):
            # Calling it at import means naming it (or importing it under another name).
            if name not in self.index.files or needle not in self.index.data(name):
                continue
            info = self.index.get(name)
            if info is None or info.name == split.module or self.reloads(info.name):
                continue
            calls = [d for d in info.called_at_import if info.qualify(d) == target.target]
            if not calls:
                continue
            if any(info.qualify(used) == target.target for used in info.used_in_functions):
                continue  # also called at call time: the patch is seen there
            captured = [g for d in calls for g in info.called_at_import[d]]
            if any(self.patches(f"{info.name}.{g}") for g in captured):
                continue
            instead = f"patch `{info.name}.{captured[0]}`" if captured else "patch what it produced"
            self.report(
                target.node,
                f"The test patches `{target.target}`, but `{info.name}` called it only once, "
                f"at import ({self.where(info.path)}); the patch is never observed: "
                f"{instead}",
                statement=target.statement,
            )
            return

    def _holds_the_broker(self, module: str, attr: str) -> bool:
        """`module.attr` is what `module` passed to `dramatiq.set_broker` at import."""
        info = self.index.get(module)
        if info is None or module not in self.index.files:
            return False
        return any(
            info.qualify(callee) in BROKER_SETTERS and attr in names
            for callee, names in info.passed_at_import.items()
        )

    def _actor_modules(self) -> list[str]:
        """Project modules declaring actors that the test imports at the top
        (directly, through a conftest or transitively), not re-run by the test."""
        return sorted(
            name
            for name in self.imported_project_modules()
            if (info := self.index.get(name)) is not None
            and info.defines_actors
            and not self.reloads(name)
        )

    def _check_broker(self, target: PatchTarget, holder: bool = False) -> None:
        actors = self._actor_modules()
        if not actors:
            return
        what = "that broker" if holder else "their broker"
        self.report(
            target.node,
            f"The test patches `{target.target}`, but the dramatiq actors in `{actors[0]}` "
            f"bound {what} when they were imported; set a StubBroker with "
            "`dramatiq.set_broker(StubBroker())` in a conftest before the actor modules "
            "are imported",
            statement=target.statement,
        )

    def _check_setter(self, call: cst.Call, function: cst.FunctionDef) -> None:
        self._imported = self.test_facts.imported | conftest_imports(self.context)
        actors = self._actor_modules()
        if not actors:
            return
        self.report(
            call,
            f"`{function.name.value}` sets the dramatiq broker after `{actors[0]}` declared "
            "its actors (imported at the top of this file or a conftest), and actors keep "
            "the broker they bound at import; set the broker before the actor modules are "
            "imported, or declare the actors on it with `broker.declare_actor(actor)`",
        )
