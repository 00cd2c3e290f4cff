from __future__ import annotations

import builtins

from testlint.api import ModuleInfo
from testlint.rules._patching import PatchRule, PatchTarget

MOCK_CREATES = frozenset(name for name in dir(builtins) if not name.startswith("_"))
"""`mock.patch("pkg.mod.open")` creates a builtin name a module lacks (mock's
`_builtins`); `monkeypatch.setattr` does not."""
MODULE_DUNDERS = frozenset(
    {
        "__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__",
        "__path__", "__dict__", "__builtins__", "__cached__", "__all__", "__version__",
    }
)  # fmt: skip
"""Names every module (or package) has, or that are never worth a finding."""


class PatchTargetDoesNotExist(PatchRule):
    """
    ## What it does
    Checks for patch targets in a project module that the module neither
    defines nor imports (`patch("shop.orders.chrage")`), or that name a module
    path the project does not have. Suggests the closest existing name.

    Not reported: `create=True` (or `monkeypatch.setattr(..., raising=False)`),
    a builtin name patched with `unittest.mock` (`patch("pkg.mod.open")`: mock
    creates it), module dunders (`__file__`), a patcher that is never used (a
    `patch(...)` statement alone), a patch in a helper no test of the module
    names, tests marked `skip`, `skipif` or `xfail` (the failure may be what
    they expect), third-party targets, modules with a module-level `__getattr__`
    (defined, or assigned: `__getattr__, __dir__ = attach(...)`) or a star
    import, modules that write their own globals (`globals().update(...)`,
    `sys.modules[__name__]`), names some project code assigns as
    `module.name = ...`, and modules the build writes at install time
    (setuptools_scm's `version_file`/`write_to`, hatch-vcs's `version-file`) or
    that the package imports from itself although the checkout lacks them.

    ## Why is this bad?
    The test errors before it starts: `AttributeError: <module 'shop.orders'>
    does not have the attribute 'chrage'` or `ModuleNotFoundError`, typically
    after a rename that the tests did not follow.

    ## Example
    ```python
    # shop/orders.py
    def charge(total):
        return {"charged": total}
    ```

    ```python
    from unittest import mock


    @mock.patch("shop.orders.chrage")
    def test_checkout(charge):
        assert checkout(cart)
    ```

    ## Use instead
    ```python
    from unittest import mock


    @mock.patch("shop.orders.charge")
    def test_checkout(charge):
        assert checkout(cart)
    ```

    ## Fix safety
    There is no fix: the closest name is a suggestion, not a certainty.

    ## References
    - [unittest.mock.patch](https://docs.python.org/3/library/unittest.mock.html#patch)
    """

    code = "TL403"
    name = "patch-target-does-not-exist"
    summary = "Patch target that does not exist in the project module"

    def check(self, target: PatchTarget) -> None:
        if target.create or target.skipped or not self.runs(target):
            return
        split = self.split(target.target)
        if split is None or not split.project:
            return
        module, attr = split.module, split.attr
        if attr in MODULE_DUNDERS or (target.by_mock and attr in MOCK_CREATES):
            return  # every module has it, or unittest.mock creates it
        if self.index.knows(f"{module}.{attr}"):
            return  # a submodule
        info = self.index.get(module)
        if module in self.index.files and info is None:
            return  # a module Python here cannot parse (newer syntax): unknown
        if info is not None and (info.dynamic or info.binds(attr)):
            return
        if info is None and module not in self.index.files and not self.index.is_package(module):
            return
        if self.index.assigns_attribute(attr):
            return
        if self._written_at_install(module, attr, info):
            return
        names = set(info.defined) if info is not None else set()
        prefix = f"{module}."
        names |= {
            n[len(prefix) :].split(".", 1)[0] for n in self.index.files if n.startswith(prefix)
        }
        import difflib  # here: only a finding looks for a close name

        # A builtin's name is no typo of a module's name: no suggestion.
        close = (
            []
            if attr in MOCK_CREATES
            else difflib.get_close_matches(attr, sorted(names), n=1, cutoff=0.6)
        )
        hint = f"; did you mean `{module}.{close[0]}`?" if close else ""
        kind = "module" if info is not None else "package"
        self.report(
            target.node,
            f"Patch target `{target.target}` does not exist: {kind} `{module}` has no "
            f"`{attr}`, so the test fails with AttributeError{hint}",
            statement=target.statement,
        )

    def _written_at_install(self, module: str, attr: str, info: ModuleInfo | None) -> bool:
        """`module.attr` is a module the build writes (`pkg._version` from
        setuptools_scm's `version_file`), or one the package imports from itself
        although the checkout lacks it."""
        submodule = f"{module}.{attr}"
        if info is not None and submodule in info.imports:
            return True
        tail = f"{submodule.replace('.', '/')}.py"
        generated = self.context.project.owner(self.context.path).generated_files
        return any(path == tail or path.endswith(f"/{tail}") for path in generated)
