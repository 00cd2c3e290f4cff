"""Every rule, by code: the one list the CLI, the engine, the docs and flake8 read.

`ENGINE_RULES` are reported by the engine itself (no visitor); `RULES` are the
visitors run over each file; `CONFIG_RULES` check configuration files
(`config_lint.py`). A meta-test checks that every module in
`testlint/rules/` is registered here and that codes and names are unique.
"""

from __future__ import annotations

from testlint.rule import Rule
from testlint.rules._config import ConfigRule
from testlint.rules.tl001_unparsable_file import UnparsableFile
from testlint.rules.tl002_invalid_configuration import InvalidConfiguration
from testlint.rules.tl003_unused_noqa import UnusedNoqa
from testlint.rules.tl101_module_level_exit import ModuleLevelExit
from testlint.rules.tl102_skip_without_allow_module_level import SkipWithoutAllowModuleLevel
from testlint.rules.tl103_test_imports_exiting_module import TestImportsExitingModule
from testlint.rules.tl201_parallel_work_without_serial_marker import (
    ParallelWorkWithoutSerialMarker,
)
from testlint.rules.tl202_fork_started_process_under_xdist import ForkStartedProcessUnderXdist
from testlint.rules.tl203_serial_marker_not_registered import SerialMarkerNotRegistered
from testlint.rules.tl204_serial_marker_has_no_effect import SerialMarkerHasNoEffect
from testlint.rules.tl301_async_fixture_with_plain_decorator import AsyncFixtureWithPlainDecorator
from testlint.rules.tl302_async_test_without_asyncio_mark import AsyncTestWithoutAsyncioMark
from testlint.rules.tl303_event_loop_fixture_requested import EventLoopFixtureRequested
from testlint.rules.tl304_event_loop_fixture_defined import EventLoopFixtureDefined
from testlint.rules.tl305_async_fixture_loop_scope_narrower import AsyncFixtureLoopScopeNarrower
from testlint.rules.tl306_asyncio_mark_scope_argument import AsyncioMarkScopeArgument
from testlint.rules.tl401_patch_of_name_imported_by_value import PatchOfNameImportedByValue
from testlint.rules.tl402_patch_of_value_captured_at_import import PatchOfValueCapturedAtImport
from testlint.rules.tl403_patch_target_does_not_exist import PatchTargetDoesNotExist
from testlint.rules.tl404_patch_of_fastapi_dependency import PatchOfFastapiDependency
from testlint.rules.tl501_mark_on_fixture import MarkOnFixture
from testlint.rules.tl502_misspelt_mark import MisspeltMark
from testlint.rules.tl601_nose_style_setup_teardown import NoseStyleSetupTeardown
from testlint.rules.tl602_uncollectable_test_class import UncollectableTestClass
from testlint.rules.tl603_async_test_in_plain_test_case import AsyncTestInPlainTestCase
from testlint.rules.tl701_unusable_pytest_configuration import UnusablePytestConfiguration
from testlint.rules.tl702_loop_scope_warning_as_error import LoopScopeWarningAsError

__all__ = [
    "ALL_RULES",
    "CONFIG_RULES",
    "ENGINE_RULES",
    "RULES",
    "AsyncFixtureLoopScopeNarrower",
    "AsyncFixtureWithPlainDecorator",
    "AsyncTestInPlainTestCase",
    "AsyncTestWithoutAsyncioMark",
    "AsyncioMarkScopeArgument",
    "EventLoopFixtureDefined",
    "EventLoopFixtureRequested",
    "ForkStartedProcessUnderXdist",
    "InvalidConfiguration",
    "LoopScopeWarningAsError",
    "MarkOnFixture",
    "MisspeltMark",
    "ModuleLevelExit",
    "NoseStyleSetupTeardown",
    "ParallelWorkWithoutSerialMarker",
    "PatchOfFastapiDependency",
    "PatchOfNameImportedByValue",
    "PatchOfValueCapturedAtImport",
    "PatchTargetDoesNotExist",
    "SerialMarkerHasNoEffect",
    "SerialMarkerNotRegistered",
    "SkipWithoutAllowModuleLevel",
    "TestImportsExitingModule",
    "UncollectableTestClass",
    "UnparsableFile",
    "UnusablePytestConfiguration",
    "UnusedNoqa",
    "rule_by_selector",
]

ENGINE_RULES: dict[str, type[Rule]] = {
    rule.code: rule for rule in (UnparsableFile, InvalidConfiguration, UnusedNoqa)
}
RULES: tuple[type[Rule], ...] = (
    ModuleLevelExit,
    SkipWithoutAllowModuleLevel,
    TestImportsExitingModule,
    ParallelWorkWithoutSerialMarker,
    ForkStartedProcessUnderXdist,
    SerialMarkerNotRegistered,
    SerialMarkerHasNoEffect,
    AsyncFixtureWithPlainDecorator,
    AsyncTestWithoutAsyncioMark,
    EventLoopFixtureRequested,
    EventLoopFixtureDefined,
    AsyncFixtureLoopScopeNarrower,
    AsyncioMarkScopeArgument,
    PatchOfNameImportedByValue,
    PatchOfValueCapturedAtImport,
    PatchTargetDoesNotExist,
    PatchOfFastapiDependency,
    MarkOnFixture,
    MisspeltMark,
    NoseStyleSetupTeardown,
    UncollectableTestClass,
    AsyncTestInPlainTestCase,
)
CONFIG_RULES: tuple[type[ConfigRule], ...] = (UnusablePytestConfiguration, LoopScopeWarningAsError)
"""Rules on configuration files (`config_lint.py`), not on Python: no visitor."""
ALL_RULES: tuple[type[Rule], ...] = (*ENGINE_RULES.values(), *RULES, *CONFIG_RULES)


def rule_by_selector(selector: str) -> type[Rule] | None:
    """A rule by its code (`TL101`, any case) or its name (`module-level-exit`)."""
    for rule in ALL_RULES:
        if selector.upper() == rule.code or selector == rule.name:
            return rule
    return None
