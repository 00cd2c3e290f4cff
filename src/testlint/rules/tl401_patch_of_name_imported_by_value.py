from __future__ import annotations

from testlint.api import Applicability, ModuleInfo, NodeFix
from testlint.rules._patching import PatchRule, PatchTarget, quote_like


class PatchOfNameImportedByValue(PatchRule):
    """
    ## What it does
    Checks for `mock.patch("X.name")` (and `patch.object`, `patch.multiple`,
    pytest-mock's `mocker.patch`, `monkeypatch.setattr`) where a project module
    `C` did `from X import name` at module level, and the code the test reaches
    reads that copy. `X` may be a project module or a third-party one
    (`requests.get`).

    What the test reaches is followed from the test function, its class's
    set-up and the fixtures it requests (for a patch in a fixture, the tests of
    the module that request it), through the project's functions and classes to
    the end: a name a reached function loads is reached, a class through its
    life-cycle methods and the methods whose names reached code loads.

    Not reported when reached code also reads `X.name` at call time (`X`'s own
    functions, `import X` then `X.name`, a `from X import name` inside a
    function), when the walk grows too large to be sure, when the test also
    patches `C.name` (in the same test, its class's set-up or a fixture of the
    module), when the patch is in a conftest fixture (its tests are elsewhere),
    when the test hands the mock to the code itself (`run(runner=mock)`), for a
    bare stub (`mocker.patch("X.name")` whose mock the test neither shapes nor
    keeps), when `C` is a test helper (a module below a conftest.py), when the
    test reloads `C` (`importlib.reload`, `exec_module`), when `C` is imported
    only inside the test after the patch is applied (inside the `with`, after
    `mocker.patch`, or in the test body when a fixture or `setUp` patches: a
    first import there binds the mock, and whether an earlier test imported `C`
    depends on the order tests run), or when the target is a FastAPI dependency
    (TL404 says more).

    ## Why is this bad?
    `from X import name` copies the reference into `C`'s namespace when `C` is
    imported. The patch replaces `X.name`, but `C` still calls the original: the
    test runs against the real function and passes or fails for the wrong
    reason. "Patch where it is looked up, not where it is defined."

    ## Example
    ```python
    # shop/payments.py
    def charge(total):
        return {"charged": total}
    ```

    ```python
    # shop/orders.py
    from shop.payments import charge


    def checkout(cart):
        return charge(cart.total)
    ```

    ```python
    from unittest import mock

    from shop import orders


    def test_checkout_charges_the_total():
        with mock.patch("shop.payments.charge") as charge:
            orders.checkout(cart)
        charge.assert_called_once()
    ```

    ## Use instead
    ```python
    from unittest import mock

    from shop import orders


    def test_checkout_charges_the_total():
        with mock.patch("shop.orders.charge") as charge:
            orders.checkout(cart)
        charge.assert_called_once()
    ```

    ## Fix safety
    When exactly one such module is imported by the test, and no other project
    module the test imports names `X.name` (say, in a dict built at import), the
    target string is rewritten to `"C.name"`. The fix is **unsafe**: the patch
    then takes effect, which changes what the test exercises (that is the point,
    but the test may now fail). With several candidates, or `patch.object`, there
    is no fix and the message lists them.

    ## References
    - [unittest.mock: where to patch](https://docs.python.org/3/library/unittest.mock.html#where-to-patch)
    """

    code = "TL401"
    name = "patch-of-name-imported-by-value"
    summary = "Patch of `X.name` that a module under test already imported by value"
    fixable = "sometimes"

    def check(self, target: PatchTarget) -> None:
        split = self.split(target.target)
        if split is None:
            return
        qualified = f"{split.module}.{split.attr}"
        if target.target != qualified:
            return  # `X.Klass.method`: the class object is shared, the patch is seen
        if split.project and self.index.knows(qualified):
            return  # a submodule: `from pkg import mod` binds the module object
        if self.index.is_depends_target(qualified):
            return  # TL404
        if self.call_time_consumer(split.module, split.attr):
            return  # the patch works for that one: maybe it is the one under test
        stale = [
            (info, local)
            for info, local in self.index.consumers(split.module, split.attr)
            if self._misses_patch(info, local)
        ]
        if self.own_module_under_test(split.module, split.attr):
            # The test imports the patched module itself and that module reads the
            # name at call time; a consumer reached only through a conftest is
            # less likely the code under test.
            stale = [(info, local) for info, local in stale if self.imported_by_test(info.name)]
        if stale and (self.mock_passed_on(target) or self.is_stub(target)):
            return  # the test passes the mock in itself, or keeps none: may not matter
        if stale:
            reached = self.reached(split.module, split.attr)
            if reached is not None:
                if not reached.known or reached.live:
                    return  # unsure, or the code under test sees the patch somewhere
                stale = [
                    (info, local)
                    for info, local in stale
                    if local in reached.copies.get(info.name, ())
                ]
        if not stale:
            return
        if len(stale) > 1:
            places = ", ".join(
                f"`{info.name}` ({self.where(info.path)}:{info.by_value[local].line})"
                for info, local in stale
            )
            message = (
                f"The test patches `{target.target}`, but these modules imported it by value "
                f"and keep the original: {places}; patch the name in the module under test"
            )
            self.report(target.node, message, statement=target.statement)
            return
        info, local = stale[0]
        found = (
            f"The test patches `{target.target}`, but `{info.name}` imported it by value at "
            f"{self.where(info.path)}:{info.by_value[local].line} "
            f"(`from {split.module} import {split.attr}"
            f"{'' if local == split.attr else f' as {local}'}`)"
        )
        other = self.also_named_by(split.module, split.attr, info.name)
        if other is not None:  # which module is under test is unclear: no fix
            message = (
                f"{found}, and `{other}`, which the test imports too, names "
                f"`{split.module}.{split.attr}` outside its functions: patch the name where "
                "the module under test looks it up"
            )
            self.report(target.node, message, statement=target.statement)
            return
        better = f"{info.name}.{local}"
        fix = None
        if target.string is not None:
            fix = NodeFix(
                title=f"Patch `{better}`",
                applicability=Applicability.UNSAFE,
                changes={target.string: quote_like(target.string, better)},
            )
        self.report(target.node, f"{found}: patch `{better}`", fix=fix, statement=target.statement)

    def _misses_patch(self, info: ModuleInfo, local: str) -> bool:
        """`info` imported the name by value, the test imports `info`, and `info`
        reads it at call time from its own namespace. A test helper's copy is not
        the code under test (it may keep the original on purpose)."""
        if not self.imports(info.name) or self.reloads(info.name) or self.is_test_helper(info):
            return False
        if not self.imported_before_patch(info.name):
            return False  # maybe imported first under the patch: then it binds the mock
        if self.patches(f"{info.name}.{local}"):
            return False
        return any(used == local or used.startswith(f"{local}.") for used in info.used_in_functions)
