"""`[tool.testlint]`: globs, rule selectors and strict reading of the table."""

from __future__ import annotations

from pathlib import Path

import pytest

from testlint.locate import ConfigError, find_config_file
from testlint.registry import ALL_RULES
from testlint.settings import (
    Settings,
    compile_glob,
    glob_matches,
    load_settings,
    resolve_selectors,
)

ALL_CODES = {rule.code for rule in ALL_RULES}
FAMILIES = {code[:3] for code in ALL_CODES}


def write_config(root: Path, body: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text("[tool.testlint]\n" + body, encoding="utf-8")
    return path


# ------------------------------------------------------------------ globs


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        # `*` and `?` stay within one directory.
        ("tests/*.py", "tests/test_a.py", True),
        ("tests/*.py", "tests/unit/test_a.py", False),
        ("tests/test_?.py", "tests/test_a.py", True),
        ("tests/test_?.py", "tests/test_ab.py", False),
        ("a*b", "a/b", False),
        # `**/` spans any number of directories, including none.
        ("tests/**/test_*.py", "tests/test_a.py", True),
        ("tests/**/test_*.py", "tests/a/b/test_a.py", True),
        ("**/generated", "generated/test_a.py", True),
        ("**/generated", "x/y/generated/test_a.py", True),
        ("tests/**", "tests/a/b.py", True),
        # Without a `/`, the pattern matches the basename at any depth.
        ("*.py", "test_a.py", True),
        ("*.py", "deep/er/test_a.py", True),
        ("test_*_generated.py", "tests/unit/test_x_generated.py", True),
        ("generated", "tests/generated/test_a.py", True),
        ("generated", "tests/generated_not/test_a.py", False),
        ("generated", "tests/not_generated/test_a.py", False),
        # With a `/` (even a leading one), the pattern is anchored at the base.
        ("tests/generated", "tests/generated/test_a.py", True),
        ("tests/generated", "other/tests/generated/test_a.py", False),
        ("/generated", "generated/test_a.py", True),
        ("/generated", "tests/generated/test_a.py", False),
        # A pattern matching a directory covers everything below it.
        ("tests/fixtures", "tests/fixtures", True),
        ("tests/fixtures", "tests/fixtures/TL101/test_a.py", True),
        ("tests/fixtures/", "tests/fixtures/TL101/test_a.py", True),
        ("tests/fix", "tests/fixtures/test_a.py", False),
        # Character classes, negated with `!`; regex characters are literal.
        ("test_[ab].py", "test_a.py", True),
        ("test_[ab].py", "test_c.py", False),
        ("test_[!ab].py", "test_c.py", True),
        ("test_[!ab].py", "test_a.py", False),
        ("a+b.py", "a+b.py", True),
        ("a.py", "abpy", False),
        ("a[b", "a[b", True),
    ],
)
def test_glob_matches(pattern: str, path: str, matches: bool) -> None:
    assert glob_matches(pattern, path) is matches


def test_compile_glob_is_cached() -> None:
    assert compile_glob("tests/*.py") is compile_glob("tests/*.py")


def test_glob_with_an_empty_class_is_literal_like_fnmatch() -> None:
    assert glob_matches("gen[]", "gen[]")


# ------------------------------------------------------------------ selectors


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["TL101"], {"TL101"}),
        (["tl101"], {"TL101"}),
        ([" TL102 "], {"TL102"}),
        (["TL1"], {code for code in ALL_CODES if code.startswith("TL1")}),
        (["TL10"], {code for code in ALL_CODES if code.startswith("TL10")}),
        (["TL0"], {"TL001", "TL002", "TL003"}),
        (["TL"], ALL_CODES),
        (["ALL"], ALL_CODES),
        (["all"], ALL_CODES),
        (["module-level-exit"], {"TL101"}),
        (["skip-without-allow-module-level", "TL001"], {"TL102", "TL001"}),
        ([], set()),
    ],
)
def test_resolve_selectors(selectors: list[str], expected: set[str]) -> None:
    assert resolve_selectors(selectors, ALL_RULES, "select") == expected


@pytest.mark.parametrize(
    "selector",
    [
        "TL999",
        "TL100",
        "TL1011",
        "XYZ",
        "module_level_exit",
        "Module-Level-Exit",
        "",
        # Prefixes of families with no rule select nothing: an error too, never a
        # run that silently checks nothing.
        "TL9",
        "TL99",
        *(f"TL{family}" for family in "1234567" if f"TL{family}" not in FAMILIES),
    ],
)
def test_a_selector_matching_no_rule_raises(selector: str) -> None:
    with pytest.raises(ConfigError) as error:
        resolve_selectors(["TL101", selector], ALL_RULES, "--ignore")
    assert str(error.value).startswith(f"--ignore: {selector!r} matches no rule")


@pytest.mark.parametrize(
    ("selector", "suggested"),
    [
        ("TL1011", "'TL101'"),
        ("module_level_exit", "'module-level-exit'"),
        ("TL8", "did you mean"),
    ],
)
def test_an_unknown_selector_suggests_the_closest(selector: str, suggested: str) -> None:
    with pytest.raises(ConfigError, match=suggested):
        resolve_selectors([selector], ALL_RULES, "select")


def test_enabled_codes() -> None:
    settings = Settings(
        base=Path("."), select=("TL1",), extend_select=("TL001",), ignore=("TL102",)
    )
    assert settings.enabled_codes(ALL_RULES) == {"TL101", "TL103", "TL001"}
    assert Settings(base=Path(".")).enabled_codes(ALL_RULES) == ALL_CODES


# ------------------------------------------------------------------ load_settings


def test_no_config_gives_defaults(tmp_path: Path) -> None:
    settings = load_settings(None, ALL_RULES, tmp_path)
    assert settings.base == tmp_path
    assert settings.config_path is None
    assert settings.select == ("TL",)
    assert settings.ignore == settings.extend_select == settings.exclude == ()
    assert settings.per_file_ignores == ()
    assert settings.unsafe_fixes is False


def test_every_key_is_read(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        'select = ["TL1"]\n'
        'extend-select = ["TL001"]\n'
        'ignore = ["skip-without-allow-module-level"]\n'
        'exclude = ["tests/fixtures", "*_generated.py"]\n'
        "unsafe-fixes = true\n"
        "[tool.testlint.per-file-ignores]\n"
        '"tests/legacy/*" = ["TL101", "TL102"]\n',
    )
    settings = load_settings(path, ALL_RULES, tmp_path / "elsewhere")
    assert settings.base == tmp_path
    assert settings.config_path == path
    assert settings.select == ("TL1",)
    assert settings.extend_select == ("TL001",)
    assert settings.ignore == ("skip-without-allow-module-level",)
    assert settings.exclude == ("tests/fixtures", "*_generated.py")
    assert settings.unsafe_fixes is True
    assert settings.per_file_ignores == (("tests/legacy/*", ("TL101", "TL102")),)
    assert settings.enabled_codes(ALL_RULES) == {"TL001", "TL101", "TL103"}


def test_globs_are_relative_to_the_config_directory(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        'exclude = ["tests/generated"]\n'
        '[tool.testlint.per-file-ignores]\n"tests/legacy/*" = ["TL1"]\n',
    )
    settings = load_settings(path, ALL_RULES, tmp_path)
    assert settings.is_excluded(tmp_path / "tests/generated/test_a.py")
    assert settings.is_excluded(tmp_path / "tests/generated")
    assert not settings.is_excluded(tmp_path / "tests/test_a.py")
    assert not settings.is_excluded(tmp_path.parent / "tests/generated/test_a.py")
    assert settings.ignored_codes(tmp_path / "tests/legacy/test_a.py", ALL_RULES) == {
        "TL101",
        "TL102",
        "TL103",
    }
    assert settings.ignored_codes(tmp_path / "tests/test_a.py", ALL_RULES) == frozenset()


@pytest.mark.parametrize(
    ("body", "key", "expected"),
    [
        ('selct = ["TL101"]\n', "'selct'", "unknown key"),
        ("select = 5\n", "'select'", "expected a list of strings"),
        ("select = [1, 2]\n", "'select'", "expected a list of strings"),
        ("extend-select = {a = 1}\n", "'extend-select'", "expected a list of strings"),
        ("ignore = [true]\n", "'ignore'", "expected a list of strings"),
        ("exclude = false\n", "'exclude'", "expected a list of strings"),
        ('unsafe-fixes = "yes"\n', "'unsafe-fixes'", "expected true or false"),
        ("unsafe-fixes = 1\n", "'unsafe-fixes'", "expected true or false"),
        ('per-file-ignores = ["TL101"]\n', "'per-file-ignores'", "expected a table"),
        (
            '[tool.testlint.per-file-ignores]\n"tests/*" = 5\n',
            "'per-file-ignores.tests/*'",
            "expected a list of strings",
        ),
        (
            '[tool.testlint.per-file-ignores]\n"tests/*" = ["TL999"]\n',
            "per-file-ignores 'tests/*'",
            "'TL999' matches no rule",
        ),
    ],
)
def test_config_errors_name_the_key_and_the_file(
    tmp_path: Path, body: str, key: str, expected: str
) -> None:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_settings(path, ALL_RULES, tmp_path)
    message = str(error.value)
    assert str(path) in message
    assert key in message
    assert expected in message


@pytest.mark.parametrize("key", ["select", "extend-select", "ignore"])
def test_unknown_selector_in_config_names_the_key_and_the_file(tmp_path: Path, key: str) -> None:
    path = write_config(tmp_path, f'{key} = ["TL999"]\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path, ALL_RULES, tmp_path)
    message = str(error.value)
    assert "TL999" in message
    assert key in message
    assert str(path) in message


def test_unknown_selector_in_config_is_an_error(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'ignore = ["TL101", "bogus"]\n')
    with pytest.raises(ConfigError, match="'bogus' matches no rule"):
        load_settings(path, ALL_RULES, tmp_path)


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('select = "TL102"\n', "'select'"),
        ('extend-select = "TL1"\n', "'extend-select'"),
        ('ignore = "TL102"\n', "'ignore'"),
        ('exclude = "tests/generated"\n', "'exclude'"),
        ('serial-markers = "serial"\n', "'serial-markers'"),
        ('[tool.testlint.per-file-ignores]\n"tests/*" = "TL102"\n', "'per-file-ignores.tests/*'"),
    ],
)
def test_a_string_where_the_readme_documents_a_list_is_an_error(
    tmp_path: Path, body: str, key: str
) -> None:
    """As in ruff (`select = "E"`: "expected a sequence"): a string is refused, with
    the list to write instead."""
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as error:
        load_settings(path, ALL_RULES, tmp_path)
    message = str(error.value)
    assert f"{path}: [tool.testlint] key {key}: expected a list of strings, got str " in message
    value = body.rsplit("= ", 1)[1].strip()
    assert message.endswith(f"(write [{value}])"), message


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.testlint\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path, ALL_RULES, tmp_path)
    assert str(path) in str(error.value)
    assert "invalid TOML" in str(error.value)


def test_tool_testlint_must_be_a_table(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool]\ntestlint = 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path, ALL_RULES, tmp_path)
    assert str(path) in str(error.value)
    assert "must be a table" in str(error.value)


def test_find_config_file_skips_pyprojects_without_the_table(tmp_path: Path) -> None:
    root = write_config(tmp_path, "")
    package = tmp_path / "packages/a"
    package.mkdir(parents=True)
    (package / "pyproject.toml").write_text('[project]\nname = "a"\n', encoding="utf-8")
    (package / "tests").mkdir()
    assert find_config_file(package / "tests") == root.resolve()
    assert find_config_file(package / "tests/test_a.py") == root.resolve()
    nested = write_config(package, "")
    assert find_config_file(package / "tests") == nested.resolve()


def test_find_config_file_with_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("x = [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid TOML"):
        find_config_file(tmp_path)


def test_an_explicit_config_without_a_testlint_table_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"has no \[tool\.testlint\] table"):
        load_settings(path, ALL_RULES, tmp_path)


def test_an_unknown_key_lists_the_valid_keys_and_the_closest(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'exlude = ["build"]\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path, ALL_RULES, tmp_path)
    message = str(error.value)
    assert "did you mean 'exclude'?" in message
    assert "valid keys: " in message
    assert "serial-markers" in message  # a rule's option is a key too
