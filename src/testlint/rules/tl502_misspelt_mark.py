from __future__ import annotations

import ast
import functools
import re

import libcst as cst

from testlint.api import SUITE, Applicability, NodeFix, Rule, RuleContext, SourceFile
from testlint.rules._marks import MARK_PREFIX, misspelt_mark
from testlint.rules._xdist import strict_markers

_MARK_WORD = "mark"
_GAP = r"(?:[\s\\]|#[^\n]*)*"
"""What may stand between a name, its dot and the attribute: spaces, line breaks,
continuations and comments."""


class MisspeltMark(Rule):
    """
    ## What it does
    Checks for a mark (`pytest.mark.<name>`, through any import of `pytest` or
    `mark`) whose name is none of pytest's own marks, none of the marks of the
    plugins the project declares, and not registered (`markers` in the pytest
    configuration, `config.addinivalue_line("markers", ...)` in a conftest),
    yet one slip of the keyboard away from one of them: `usefixture`,
    `skip_if`, `xfails`, `filterwarning`, `asycio`.

    It stays silent on a name the suite's conftests, its pytest configuration
    or its CI name (a hook reading `get_closest_marker("name")`, a `-m name`
    selection), on names with a digit (`py2`, `py3`), names shorter than four
    letters, and slips of the project's own marks shorter than five (`slow`
    and `flow` are two words). Marks registered by plugins it
    does not know (a declared `pytest-*` plugin outside its table, a
    conftest's `pytest_plugins`, a project that is itself a plugin) make it
    compare names with pytest's own marks only.

    ## Why is this bad?
    An unknown mark does nothing: the fixture of a misspelt `usefixtures`
    never runs, the test of a misspelt `skipif` is not skipped, and pytest
    says no more than a warning among the others:

    ```
    PytestUnknownMarkWarning: Unknown pytest.mark.usefixture - is this a typo?  You can
    register custom marks to avoid this warning - for details, see
    https://docs.pytest.org/en/stable/how-to/mark.html
    ```

    With `--strict-markers` (or `strict_markers`/`strict` in the configuration)
    it stops the collection of the module instead:

    ```
    ERROR test_query.py - Failed: 'usefixture' not found in `markers` configuration option
    ```

    (pytest itself stops at `parametrise`, `parameterize` and `parameterise`
    whatever the configuration: "Unknown 'parametrise' mark, did you mean
    'parametrize'?".)

    ## Example
    ```python
    import pytest


    @pytest.fixture
    def database():
        return {}


    @pytest.mark.usefixture("database")
    def test_query():
        pass
    ```

    ## Use instead
    ```python
    import pytest


    @pytest.fixture
    def database():
        return {}


    @pytest.mark.usefixtures("database")
    def test_query():
        pass
    ```

    ## Fix safety
    Renaming the mark to the known one is **unsafe**: it changes what the
    test does (its fixture now runs, it is now skipped), which is the point,
    but the test may fail once it does.

    ## References
    - [pytest: marks](https://docs.pytest.org/en/stable/how-to/mark.html)
    - [pytest: registering marks](https://docs.pytest.org/en/stable/how-to/mark.html#registering-marks)
    """

    code = "TL502"
    name = "misspelt-mark"
    summary = "Mark that is not known to pytest but one letter away from one that is"
    triggers = ("mark",)
    facts = (SUITE,)
    fixable = "always"

    @classmethod
    def gate(cls, file: SourceFile) -> bool:
        """An attribute after a name that may be `mark`, named like a slip of a
        known mark (the file's own registrations left out: a superset)."""
        scan = file.scan
        words = scan.words_for({_MARK_WORD})
        if not any(misspelt_mark(file, name, own="") for name in _names_after(file.source, words)):
            return False  # no attribute of a `mark`-like name anywhere in the text is a slip
        names = {
            node.attr
            for node in scan.nodes_near(words)
            if isinstance(node, ast.Attribute)
            and node.attr.isidentifier()
            and _may_be_mark(node.value, words)
        }
        return any(misspelt_mark(file, name, own="") for name in sorted(names))

    def visit_Attribute(self, node: cst.Attribute) -> None:
        name = node.attr.value
        if self.context.imports.resolve(node) != f"{MARK_PREFIX}{name}":
            return
        own = self.context.source if _is_conftest(self.context) else ""
        meant = misspelt_mark(self.context, name, own=own)
        if meant is None:
            return
        self.report(
            node,
            f"Unknown mark `{name}` {_consequence(self.context, name)}: did you mean `{meant}`?",
            fix=NodeFix(
                title=f"Rename to `{meant}`",
                applicability=Applicability.UNSAFE,
                changes={node.attr: node.attr.with_changes(value=meant)},
            ),
        )


def _may_be_mark(value: ast.expr, words: set[str]) -> bool:
    """What an attribute is read from may be `pytest.mark`: `<...>.mark`, or a
    name that is `mark` or imported as it (`from pytest import mark as m`)."""
    if isinstance(value, ast.Attribute):
        return value.attr == _MARK_WORD
    return isinstance(value, ast.Name) and value.id in words


def _is_conftest(context: RuleContext) -> bool:
    return context.path.name == "conftest.py"


def _consequence(context: RuleContext, name: str) -> str:
    if strict_markers(context):
        return "stops the collection of this module under `--strict-markers`"
    return "does nothing (pytest only warns)"


def _names_after(text: str, words: set[str]) -> list[str]:
    """Every identifier after `<word>.` in the text, for the words that may be
    `mark`: a superset of the attributes the `ast` reads from them, found
    without walking the tree."""
    if not words:
        return []
    return sorted(set(_after(tuple(sorted(words))).findall(text)))


@functools.lru_cache(maxsize=64)
def _after(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(word) for word in words)
    return re.compile(rf"\b(?:{alternatives}){_GAP}\.{_GAP}([^\W\d]\w*)")
