"""`[tool.testlint]` in pyproject.toml: read strictly, so a typo is an error, not a no-op.

Keys: `select`, `extend-select`, `ignore`, `per-file-ignores`, `exclude`,
`unsafe-fixes`, `cache-dir`, `output-format`, `max-file-size`, plus the keys each
rule declares in `Rule.options`. Selectors are
codes (`TL101`), code prefixes (`TL1`, `TL`), readable names (`module-level-exit`)
or `ALL`. Globs are relative to the directory holding the configuration file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar, Union, cast

from testlint.locate import ConfigError, ProjectError, load_toml
from testlint.terminal import ALIASES, OUTPUT_FORMATS, canonical_format

OptionValue = Union[str, bool, int, tuple[str, ...]]
T = TypeVar("T", str, bool, int, tuple[str, ...])


@dataclass(frozen=True)
class Option(Generic[T]):
    """A per-rule key in `[tool.testlint]`, typed by its default: the configured
    value is checked to have the default's type when the file is read, so
    `settings.option(OPTION)` returns that type."""

    key: str
    default: T
    doc: str
    choices: tuple[str, ...] = ()


class Rule(Protocol):
    """What settings read of a rule (`testlint.rule.Rule` has it all)."""

    code: ClassVar[str]
    name: ClassVar[str]
    options: ClassVar[tuple[Option[Any], ...]]


MAX_FILE_SIZE = 2_000_000
"""`max-file-size`, in bytes: twice the largest test module of the ~190 real suites
of the ecosystem check (1.04 MB). libcst needs about 650 MB per MB of dense code:
a 52 MB module took 580 s and 17.6 GB."""

CODE_PATTERN = re.compile(r"^TL\d{3}$")
PREFIX_PATTERN = re.compile(r"^TL\d{0,2}$")


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    """Gitignore-like globs on `/`-separated relative paths: `*` stays within one
    directory, `**/` spans any number of them, a pattern without `/` matches the
    basename at any depth, and a pattern matching a directory covers its contents."""
    anchored = "/" in pattern.rstrip("/")
    pattern = pattern.strip("/")
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            # As fnmatch: a `]` right after `[` or `[!` is part of the set.
            start = i + 1
            if start < len(pattern) and pattern[start] == "!":
                start += 1
            if start < len(pattern) and pattern[start] == "]":
                start += 1
            end = pattern.find("]", start)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    prefix = "" if anchored else "(?:.*/)?"
    return re.compile(f"^{prefix}{''.join(out)}(?:/.*)?$")


def glob_matches(pattern: str, relative_path: str) -> bool:
    return compile_glob(pattern).match(relative_path) is not None


@dataclass(frozen=True)
class Settings:
    base: Path
    """Directory that globs are relative to (the config file's directory)."""
    config_path: Path | None = None
    select: tuple[str, ...] = ("TL",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = ()
    unsafe_fixes: bool = False
    cache_dir: Path | None = None
    """`cache-dir`, made absolute (None: `.testlint_cache` under the project root)."""
    max_file_size: int = MAX_FILE_SIZE
    """Files larger than this many bytes are not parsed, but reported (TL001); 0: no limit."""
    output_format: str | None = field(default=None, repr=False, compare=False)
    """`output-format` (None: not configured). Not part of what a cached result is
    keyed on (`repr`): how findings are printed does not change them."""
    rule_options: Mapping[str, OptionValue] = field(default_factory=dict)
    explicit_options: frozenset[str] = frozenset()
    """Rule option keys set in the config file (not defaulted)."""
    configured: frozenset[str] = frozenset()
    """Every key set in the config file's `[tool.testlint]` table."""

    def option(self, option: Option[T]) -> T:
        value = self.rule_options.get(option.key, option.default)
        return cast(T, value)  # load_settings checked it against the default's type

    def is_explicit(self, option: Option[T]) -> bool:
        return option.key in self.explicit_options

    def relative(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.base.resolve()).as_posix()
        except ValueError:
            return None

    def is_excluded(self, path: Path) -> bool:
        return bool(self.exclude) and self.excluded_by(path) is not None

    def excluded_by(self, path: Path) -> str | None:
        """The first `exclude` pattern that matches `path`, or None."""
        relative = self.relative(path) if self.exclude else None
        if relative is None:
            return None
        return next((p for p in self.exclude if glob_matches(p, relative)), None)

    def per_file_ignores_for(self, path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The `per-file-ignores` entries (glob, selectors) whose glob matches `path`."""
        relative = self.relative(path) if self.per_file_ignores else None
        if relative is None:
            return ()
        return tuple(entry for entry in self.per_file_ignores if glob_matches(entry[0], relative))

    def ignored_codes(self, path: Path, rules: Sequence[type[Rule]]) -> frozenset[str]:
        if not self.per_file_ignores:
            return frozenset()
        codes: set[str] = set()
        for _, selectors in self.per_file_ignores_for(path):
            codes |= resolve_selectors(selectors, rules, "per-file-ignores")
        return frozenset(codes)

    def enabled_codes(self, rules: Sequence[type[Rule]]) -> frozenset[str]:
        chosen = resolve_selectors(self.select + self.extend_select, rules, "select")
        return frozenset(chosen - resolve_selectors(self.ignore, rules, "ignore"))


def resolve_selectors(
    selectors: Iterable[str], rules: Sequence[type[Rule]], where: str
) -> set[str]:
    """Codes selected by codes, prefixes, names or `ALL`; unknown ones are an error."""
    codes: set[str] = set()
    for selector in selectors:
        selector = selector.strip()
        if selector.upper() == "ALL":
            codes.update(rule.code for rule in rules)
            continue
        by_name = [rule.code for rule in rules if rule.name == selector]
        if by_name:
            codes.update(by_name)
            continue
        upper = selector.upper()
        if CODE_PATTERN.match(upper) or PREFIX_PATTERN.match(upper):
            matched = [rule.code for rule in rules if rule.code.startswith(upper)]
            if matched:
                codes.update(matched)
                continue
        # A selector that selects nothing would switch checks off without a word.
        raise ConfigError(
            f"{where}: {selector!r} matches no rule{_closest(selector, _selectors(rules))}"
        )
    return codes


def _selectors(rules: Sequence[type[Rule]]) -> list[str]:
    """Every selector that selects something: codes, names, family prefixes."""
    prefixes = {rule.code[:n] for rule in rules for n in (3, 4)}
    return sorted({rule.code for rule in rules} | {rule.name for rule in rules} | prefixes)


def _closest(word: str, candidates: Sequence[str], most: int = 3) -> str:
    """ "; did you mean ...?" with the closest candidates, or nothing."""
    import difflib  # here: only an error looks for a close word

    close = difflib.get_close_matches(word, candidates, n=most, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(word.upper(), candidates, n=most, cutoff=0.5)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


# ------------------------------------------------------------------- reading


def _type_error(where: str, key: str, expected: str, value: object) -> ConfigError:
    return ConfigError(
        f"{where}: [tool.testlint] key {key!r}: expected {expected}, "
        f"got {type(value).__name__} {value!r}"
    )


def _string_list(where: str, key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    error = _type_error(where, key, "a list of strings", value)
    if isinstance(value, str):  # refused, as ruff does: the README documents a list
        raise ConfigError(f"{error} (write [{_toml_string(value)}])")
    raise error


def _toml_string(value: str) -> str:
    """`value` as a TOML basic string (JSON's escapes are TOML's)."""
    import json  # here: only an error quotes a value

    return json.dumps(value, ensure_ascii=False)


def _check_option_value(where: str, key: str, default: OptionValue, value: object) -> OptionValue:
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise _type_error(where, key, "true or false", value)
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _type_error(where, key, "an integer", value)
        return value
    if isinstance(default, str):
        if not isinstance(value, str):
            raise _type_error(where, key, "a string", value)
        return value
    return _string_list(where, key, value)


TOP_LEVEL_KEYS = (
    "select",
    "extend-select",
    "ignore",
    "exclude",
    "unsafe-fixes",
    "cache-dir",
    "output-format",
    "max-file-size",
    "per-file-ignores",
)
"""The keys `load_settings` reads itself; rules add their options."""


def load_settings(
    config_path: Path | None, rules: Sequence[type[Rule]], default_base: Path
) -> Settings:
    """Settings from `config_path` (None: defaults), validated against `rules`."""
    options = {option.key: option for rule in rules for option in rule.options}
    defaults = {key: option.default for key, option in options.items()}
    if config_path is None:
        return Settings(base=default_base, rule_options=defaults)
    try:
        data = load_toml(config_path)
    except ProjectError as exc:
        raise ConfigError(str(exc)) from exc
    tool = data.get("tool", {})
    where = str(config_path)
    if not isinstance(tool, dict) or "testlint" not in tool:
        raise ConfigError(f"{where} has no [tool.testlint] table")
    table: Any = tool["testlint"]
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [tool.testlint] must be a table")
    values: dict[str, Any] = {"base": config_path.parent, "config_path": config_path}
    rule_options = dict(defaults)
    for key, value in table.items():
        if key in ("select", "extend-select", "ignore", "exclude"):
            values[key.replace("-", "_")] = _string_list(where, key, value)
        elif key == "unsafe-fixes":
            if not isinstance(value, bool):
                raise _type_error(where, key, "true or false", value)
            values["unsafe_fixes"] = value
        elif key == "cache-dir":
            if not isinstance(value, str) or not value:
                raise _type_error(where, key, "a path", value)
            values["cache_dir"] = (config_path.parent / value).resolve()
        elif key == "output-format":
            if not isinstance(value, str) or canonical_format(value) not in OUTPUT_FORMATS:
                names = ", ".join((*OUTPUT_FORMATS, *ALIASES))
                raise ConfigError(
                    f"{where}: [tool.testlint] key {key!r}: expected one of {names}, got {value!r}"
                )
            values["output_format"] = canonical_format(value)
        elif key == "max-file-size":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _type_error(where, key, "a number of bytes (0: no limit)", value)
            values["max_file_size"] = value
        elif key == "per-file-ignores":
            if not isinstance(value, dict):
                raise _type_error(where, key, "a table of glob = [codes]", value)
            values["per_file_ignores"] = tuple(
                (glob, _string_list(where, f"{key}.{glob}", codes)) for glob, codes in value.items()
            )
        elif key in options:
            option = options[key]
            checked = _check_option_value(where, key, option.default, value)
            if option.choices and checked not in option.choices:
                raise ConfigError(
                    f"{where}: [tool.testlint] key {key!r}: expected one of "
                    f"{', '.join(option.choices)}, got {checked!r}"
                )
            rule_options[key] = checked
        else:
            valid = sorted({*TOP_LEVEL_KEYS, *options})
            raise ConfigError(
                f"{where}: unknown key {key!r} in [tool.testlint]{_closest(key, valid, 1)} "
                f"(valid keys: {', '.join(valid)})"
            )
    explicit = frozenset(key for key in table if key in options)
    settings = Settings(
        rule_options=rule_options, explicit_options=explicit, configured=frozenset(table), **values
    )
    # Validate selectors now, so a typo fails before any file is read.
    for key in ("select", "extend-select", "ignore"):
        selectors = values.get(key.replace("-", "_"), ())
        resolve_selectors(selectors, rules, f"{where}: [tool.testlint] key {key!r}")
    for glob, codes in settings.per_file_ignores:
        resolve_selectors(codes, rules, f"{where}: per-file-ignores {glob!r}")
    return settings
