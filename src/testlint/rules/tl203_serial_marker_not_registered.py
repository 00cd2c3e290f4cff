from __future__ import annotations

import libcst as cst

from testlint.api import SUITE, Rule, RuleContext, Settings, SourceFile
from testlint.rules._xdist import (
    SERIAL_MARKERS,
    configured_markers,
    marker_attributes,
    marker_triggers,
    may_be_unregistered,
    strict_markers,
    unregistered,
)


class SerialMarkerNotRegistered(Rule):
    """
    ## What it does
    Checks for a serial marker (from `serial-markers`) used as
    `pytest.mark.<name>` that is not registered: neither in the pytest
    configuration's `markers` nor by a `config.addinivalue_line("markers", ...)`
    in a conftest of the file's directory or above. Reported once per marker
    per file, at its first use. Silent when a conftest in scope loads plugins
    with `pytest_plugins` (they may register it) or the project depends on a
    package named after the marker.

    ## Why is this bad?
    With `--strict-markers` (or pytest 9's `strict = true`) an unregistered
    mark is a collection error: the module never runs. Without it pytest emits
    `PytestUnknownMarkWarning`, and a misspelt marker silently serialises
    nothing.

    ## Example
    ```ini
    # pytest.ini
    [pytest]
    addopts = -n auto --strict-markers
    ```

    ```python
    import pytest


    @pytest.mark.serial
    def test_shared_port():
        assert bind(8080)
    ```

    ## Use instead
    ```ini
    # pytest.ini
    [pytest]
    addopts = -n auto --strict-markers
    markers =
        serial: runs on one xdist worker
    ```

    ```python
    import pytest


    @pytest.mark.serial
    def test_shared_port():
        assert bind(8080)
    ```

    ## Fix safety
    There is no fix: registering a marker is an edit to the pytest
    configuration, which testlint does not write.

    ## Options
    - `serial-markers`

    ## References
    - [pytest: registering marks](https://docs.pytest.org/en/stable/how-to/mark.html#registering-marks)
    """

    code = "TL203"
    name = "serial-marker-not-registered"
    summary = "Serial marker used but not registered with pytest"
    triggers = ("parallel_unsafe", "serial", "xdist_group")
    facts = (SUITE,)
    options = (SERIAL_MARKERS,)

    @classmethod
    def triggers_for(cls, settings: Settings) -> tuple[str, ...]:
        return marker_triggers(settings)

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """A configured marker used as an attribute, which may not be registered."""
        used = marker_attributes(file.scan, configured_markers(file))
        return any(may_be_unregistered(file, name) for name in sorted(used))

    def __init__(self, context: RuleContext) -> None:
        super().__init__(context)
        self._markers = configured_markers(context)
        self._seen: set[str] = set()

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        if name not in self._markers or name in self._seen:
            return
        if self.context.imports.resolve(node) != f"pytest.mark.{name}":
            return
        self._seen.add(name)
        if not unregistered(self.context, name):
            return
        if strict_markers(self.context):
            consequence = "with `--strict-markers` collecting this module fails"
        else:
            consequence = "pytest warns (`PytestUnknownMarkWarning`)"
        self.report(
            node,
            f"Marker `{name}` is not registered: {consequence}; add it to `markers` "
            "in the pytest configuration",
        )
