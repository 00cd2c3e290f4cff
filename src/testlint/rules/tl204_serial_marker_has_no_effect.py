from __future__ import annotations

import libcst as cst

from testlint.api import SUITE, FileKind, Rule, RuleContext, Settings, SourceFile
from testlint.rules._xdist import (
    SERIAL_MARKERS,
    XDIST_GROUP,
    configured_markers,
    marker_attribute_in,
    marker_problem,
    marker_triggers,
    runs_xdist,
    suite_markers,
    suite_scope,
)


class SerialMarkerHasNoEffect(Rule):
    """
    ## What it does
    Checks, once per project, whether the serial markers the suite uses (from
    `serial-markers`, or `pytest.mark.xdist_group` itself) can do anything
    under pytest-xdist. Reported at the first use, in the first test module in
    path order, when either

    - a serial marker is used but nothing acts on it: no conftest names it (as
      in `item.get_closest_marker("serial")`) outside a function that only
      reorders the collected items (sorting serial tests last serialises
      nothing under xdist), no `-m` expression selects it in
      `addopts` or in the files that run the suite (CI workflows, tox, nox,
      make), and no dependency is named after it; or
    - the marker is mapped to `xdist_group` by a conftest (or tests use
      `xdist_group` directly), but the suite is not run with `--dist loadgroup`:
      `addopts` or the run files pass another `--dist`, or pass `-n` with no
      `--dist`, which means `load`; or
    - the mapping is done in `pytest_collection_modifyitems` of a conftest pytest
      loads at startup (the rootdir's, or a `testpaths` directory's) without
      `@pytest.hookimpl(tryfirst=True)`: pytest-xdist's own hook runs first and
      has already read the groups.

    Silent when `--dist loadgroup` appears anywhere, or when testlint finds no
    `-n`/`--dist` at all (it cannot tell how xdist is run).

    ## Why is this bad?
    pytest-xdist honours `xdist_group` only under `--dist loadgroup` (its
    worker adds the group to the test ids only then); under `load`,
    `worksteal` or `loadscope` grouped tests are spread over workers like any
    other. A team that marks its thread-starting tests believes they are
    serialised while they still run in parallel.

    ## Example
    ```ini
    # pytest.ini
    [pytest]
    markers =
        serial: run on one xdist worker
    ```

    ```python
    # conftest.py
    import pytest


    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(items):
        for item in items:
            if item.get_closest_marker("serial"):
                item.add_marker(pytest.mark.xdist_group("serial"))
    ```

    ```yaml
    # .github/workflows/tests.yml
    steps:
      - run: pytest -n auto --dist worksteal
    ```

    ```python
    import pytest


    @pytest.mark.serial
    def test_uses_the_shared_port():
        assert bind(8080)
    ```

    ## Use instead
    ```yaml
    # .github/workflows/tests.yml
    steps:
      - run: pytest -n auto --dist loadgroup
    ```

    ```python
    import pytest


    @pytest.mark.serial
    def test_uses_the_shared_port():
        assert bind(8080)
    ```

    ## Fix safety
    There is no fix: the change belongs in how the suite is run (CI, tox,
    `addopts`) or in a conftest hook.

    ## Options
    - `serial-markers`

    ## References
    - [pytest-xdist: `--dist loadgroup`](https://pytest-xdist.readthedocs.io/en/stable/distribution.html)
    - [pytest-xdist #1386](https://github.com/pytest-dev/pytest-xdist/issues/1386): with
      pytest 9.2 and pytest-xdist 3.8, `loadgroup` groups nothing at all (open when
      this rule was written; testlint does not check versions)
    """

    code = "TL204"
    name = "serial-marker-has-no-effect"
    summary = "Serial marker that serialises nothing under the project's xdist setup"
    triggers = ("parallel_unsafe", "serial", "xdist_group")
    facts = (SUITE,)
    file_kinds = frozenset({FileKind.TEST})
    options = (SERIAL_MARKERS,)

    @classmethod
    def triggers_for(cls, settings: Settings) -> tuple[str, ...]:
        return marker_triggers(settings)

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A marker attribute in the file that uses the suite's serial markers first,
        in a suite that runs xdist (asked in the visit's order)."""
        if not marker_attribute_in(file.scan, file.settings):
            return False
        suite = suite_markers(suite_scope(file), configured_markers(file))
        if suite.first_use is None or suite.first_use.resolve() != file.path.resolve():
            return False
        return runs_xdist(file)

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._markers = configured_markers(context)
        self._done = False

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        if self._done or (name not in self._markers and name != XDIST_GROUP):
            return
        if self.context.imports.resolve(node) != f"pytest.mark.{name}":
            return
        self._done = True
        suite = suite_markers(suite_scope(self.context), self._markers)
        if suite.first_use is None or suite.first_use.resolve() != self.context.path.resolve():
            return
        if not runs_xdist(self.context):
            return
        problem = marker_problem(self.context, suite, self._markers)
        if problem is not None:
            self.report(node, problem)
