from __future__ import annotations

from testlint.rules._patching import PatchRule, PatchTarget

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
      decorator binds the broker when it runs, at import).

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

    def check(self, target: PatchTarget) -> None:
        if target.target in BROKER_GETTERS:
            self._check_broker(target)
            return
        split = self.split(target.target)
        if split is None or target.target != f"{split.module}.{split.attr}":
            return
        if target.target in self.index.depends_targets():
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

    def _check_broker(self, target: PatchTarget) -> None:
        actors = sorted(
            name
            for name in self.imported_project_modules()
            if (info := self.index.get(name)) is not None and info.defines_actors
        )
        if not actors:
            return
        self.report(
            target.node,
            f"The test patches `{target.target}`, but the dramatiq actors in `{actors[0]}` "
            "bound their broker when they were imported; set a StubBroker with "
            "`dramatiq.set_broker(StubBroker())` in a conftest before the actor modules "
            "are imported",
            statement=target.statement,
        )
