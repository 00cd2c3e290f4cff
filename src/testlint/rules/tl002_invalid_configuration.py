from __future__ import annotations

from testlint.api import FileKind, Rule


class InvalidConfiguration(Rule):
    """
    ## What it does
    Reports that testlint's configuration (`[tool.testlint]` in pyproject.toml)
    cannot be used: invalid TOML, an unknown key, a value of the wrong type, an
    unknown rule selector. Only the flake8 plugin reports it, on line 1 of each
    file it checks; the `testlint` command exits with code 2 instead.

    ## Why is this bad?
    flake8 has no channel for a plugin's configuration errors. Without this
    report, a typo in the configuration would silently turn testlint off.

    ## Example
    ```toml
    # pyproject.toml
    [tool.testlint]
    selct = ["TL1"]
    ```

    ## Use instead
    ```toml
    # pyproject.toml
    [tool.testlint]
    select = ["TL1"]
    ```

    ## Fix safety
    There is no fix.
    """

    code = "TL002"
    name = "invalid-configuration"
    summary = "`[tool.testlint]` cannot be used (reported by the flake8 plugin)"
    triggers = ()
    file_kinds = frozenset(FileKind)
