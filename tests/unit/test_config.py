"""dropout_verify.config: building a run from options, the specs, and the commands and header it prints."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pytest

from dropout_verify import config
from dropout_verify.config import DEFAULT_SPECS, RunConfig, from_values, specs_from
from dropout_verify.levels import LEVELS, decision_count
from dropout_verify.options import UsageError
from tests.helpers import ROOT


@pytest.fixture
def plain_programs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reproduce commands call dropout-check and pytest by name, wherever this test runs."""
    monkeypatch.setattr(config, "program", lambda invocation_dir, name="dropout-check": name)


# specs_from

def test_no_spec_means_the_built_in_references() -> None:
    assert specs_from(None, {}) == (DEFAULT_SPECS, False)
    assert specs_from([], {"DROPOUT_IMPL": " ,  , "}) == (DEFAULT_SPECS, False)


def test_command_line_specs_win_over_the_environment() -> None:
    assert specs_from(["a:f"], {"DROPOUT_IMPL": "b:g"}) == (("a:f",), True)


def test_environment_specs_split_on_commas_and_spaces() -> None:
    assert specs_from(None, {"DROPOUT_IMPL": "a:f,b:g  c:h ,d:i"}) == (("a:f", "b:g", "c:h", "d:i"), True)


def test_duplicates_are_dropped_in_order() -> None:
    assert specs_from(["b:g", "a:f", " b:g ", "a:f"], {}) == (("b:g", "a:f"), True)
    assert specs_from(None, {"DROPOUT_IMPL": "b:g a:f b:g"}) == (("b:g", "a:f"), True)


@pytest.mark.parametrize("given", [[""], ["  "], ["", " "]])
def test_an_empty_spec_is_a_usage_error(given: list[str]) -> None:
    with pytest.raises(UsageError, match="an empty implementation spec was given; expected MODULE:ATTR"):
        specs_from(given, {})


# from_values

def test_defaults(tmp_path: Path) -> None:
    run = from_values({}, {}, via_cli=True, invocation_dir=str(tmp_path))
    assert run == RunConfig(via_cli=True, invocation_dir=str(tmp_path))
    assert (run.specs, run.explicit_specs, run.level, run.seed, run.alpha) == (DEFAULT_SPECS, False, "standard", 0,
                                                                                 1e-6)
    assert (run.kind, run.convention, run.device, run.call_timeout, run.report, run.time, run.compile) == (
        None, "drop", "cpu", 60.0, None, None, False)


def test_invocation_dir_defaults_to_the_current_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert from_values({}, {}, via_cli=False).invocation_dir == str(tmp_path)


def test_values_are_parsed_and_typed() -> None:
    run = from_values({"impl": ["m:f", "m:f", "n:g"], "kind": "channel2d", "convention": "keep", "seed": "3",
                       "level": "quick", "alpha": "0.01", "device": "cuda:1", "call-timeout": "5", "report": "out",
                       "time": "2.5", "compile": True}, {}, via_cli=True)
    assert run.specs == ("m:f", "n:g") and run.explicit_specs
    assert (run.kind, run.convention, run.seed, run.level, run.alpha) == ("channel2d", "keep", 3, "quick", 0.01)
    assert (run.device, run.call_timeout, run.report, run.time, run.compile) == ("cuda:1", 5.0, "out", 2.5, True)


def test_environment_fills_what_the_command_line_leaves_out() -> None:
    environ = {"DROPOUT_IMPL": "e:f", "DROPOUT_LEVEL": "thorough", "DROPOUT_SEED": "11", "DROPOUT_COMPILE": "1"}
    run = from_values({"seed": "4"}, environ, via_cli=False)
    assert (run.specs, run.explicit_specs, run.level, run.seed, run.compile) == (("e:f",), True, "thorough", 4, True)


def test_a_non_list_impl_value_is_ignored_for_the_environments() -> None:
    run = from_values({"impl": None}, {"DROPOUT_IMPL": "e:f"}, via_cli=True)
    assert run.specs == ("e:f",)


@pytest.mark.parametrize(("via_cli", "spelled"), [(True, "--seed"), (False, "--dropout-seed")])
def test_a_bad_value_names_the_route_s_spelling(via_cli: bool, spelled: str) -> None:
    with pytest.raises(UsageError, match=f"^expected {spelled} to be 0 or more, but got -2$"):
        from_values({"seed": "-2"}, {}, via_cli=via_cli)


# The budget

@pytest.mark.parametrize("level", sorted(LEVELS))
@pytest.mark.parametrize("alpha", [1e-6, 0.05])
def test_alpha_per_decision_is_the_budget_over_the_decisions(level: str, alpha: float) -> None:
    run = RunConfig(level=level, alpha=alpha)
    assert run.decisions == decision_count(level) > 0
    assert run.alpha_decision == alpha / run.decisions
    assert run.alpha_decision * run.decisions == pytest.approx(alpha)
    assert run.effects is LEVELS[level]


# options() and command()

def test_options_of_a_cli_run() -> None:
    run = RunConfig(specs=("a:f", "b:g"), explicit_specs=True, via_cli=True)
    assert run.options() == ["a:f", "b:g", "--seed", "0", "--level", "standard", "--alpha", "1e-06"]
    assert run.options("b:g") == ["b:g", "--seed", "0", "--level", "standard", "--alpha", "1e-06"]


def test_options_of_a_pytest_run() -> None:
    run = RunConfig(specs=("a:f", "b:g"), explicit_specs=True)
    assert run.options() == ["--dropout-impl", "a:f", "--dropout-impl", "b:g", "--dropout-seed", "0",
                             "--dropout-level", "standard", "--dropout-alpha", "1e-06"]
    assert run.options(cli=True)[:2] == ["a:f", "b:g"]


def test_built_in_specs_are_not_named_in_the_options() -> None:
    assert RunConfig(via_cli=True).options() == ["--seed", "0", "--level", "standard", "--alpha", "1e-06"]


def test_options_name_every_setting_that_differs_from_its_default() -> None:
    run = RunConfig(specs=("a:f",), explicit_specs=True, kind="alpha", convention="keep", seed=9, level="quick",
                    alpha=0.001, device="cuda:0", time=12.5, compile=True, via_cli=True)
    assert run.options() == ["a:f", "--kind", "alpha", "--convention", "keep", "--seed", "9", "--level", "quick",
                             "--alpha", "0.001", "--device", "cuda:0", "--time", "12.5", "--compile"]
    words = run.options(cli=False)
    for flag in ("--dropout-kind", "--dropout-convention", "--dropout-device", "--dropout-time", "--dropout-compile"):
        assert flag in words


def test_options_parse_back_to_the_same_run() -> None:
    """The reproduce words, read by the option parsers, give the run they came from."""
    run = RunConfig(specs=("a:f",), explicit_specs=True, kind="channel1d", convention="keep", seed=9,
                    level="thorough", alpha=0.003, device="cuda", time=4.0, compile=True, via_cli=True)
    words = run.options()
    values: dict[str, object] = {"impl": [words.pop(0)]}
    while words:
        flag = words.pop(0).removeprefix("--")
        values[flag] = True if flag == "compile" else words.pop(0)
    again = from_values(values, {}, via_cli=True, invocation_dir=run.invocation_dir)
    assert again == run


def test_command_of_a_cli_run(plain_programs: None) -> None:
    run = RunConfig(specs=("my kernels.py:f",), explicit_specs=True, via_cli=True)
    assert run.command() == "dropout-check 'my kernels.py:f' --seed 0 --level standard --alpha 1e-06"
    assert run.command(selector="test_keep_rate or test_pairs").endswith(" -k 'test_keep_rate or test_pairs'")
    assert shlex.split(run.command(selector="test_x"))[1:] == [*run.options(), "-k", "test_x"]


def suite_words(words: list[str]) -> bool:
    """How a reproduce line names the property suite: its folder, or the installed package."""
    installed = ["--pyargs", "dropout_verify.properties"]
    return words == installed or (len(words) == 1 and Path(words[0]).name == "properties")


def test_command_of_a_pytest_run(plain_programs: None) -> None:
    run = RunConfig(specs=("a:f",), explicit_specs=True, invocation_dir=str(ROOT))
    options = ["--dropout-impl", "a:f", "--dropout-seed", "0", "--dropout-level", "standard", "--dropout-alpha",
               "1e-06"]
    words = shlex.split(run.command())
    assert words[0] == "pytest" and words[-len(options):] == options
    assert suite_words(words[1:-len(options)]), words
    located = run.command(location=["properties/test_keep_rate.py::test_keep_rate"], spec="a:f")
    assert shlex.split(located) == ["pytest", "properties/test_keep_rate.py::test_keep_rate", *options]


def test_the_suite_is_named_as_from_where_the_user_stands(tmp_path: Path) -> None:
    """From inside the checkout, its properties/ folder; from anywhere else, the package: a path
    into the checkout would make it pytest's rootdir, with the checkout's conftest and settings."""
    if config.properties_dir().parent != ROOT:
        pytest.skip("the suite is installed, not this checkout's")
    assert config.suite_location(str(ROOT)) == ["properties"]
    assert config.suite_location(str(ROOT / "properties")) == ["."]
    assert config.suite_location(str(tmp_path)) == ["--pyargs", "dropout_verify.properties"]


def test_program_by_name_when_the_path_finds_this_environment(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "dropout-check"
    if not script.exists():
        pytest.skip("dropout-check is not installed beside this interpreter")
    monkeypatch.setenv("PATH", str(script.parent))
    assert config.program(str(tmp_path)) == "dropout-check"


def test_program_by_path_when_the_environment_is_not_activated(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "dropout-check"
    if not script.exists():
        pytest.skip("dropout-check is not installed beside this interpreter")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shown = config.program(str(outside))
    assert Path(outside, shown).resolve() == script.resolve()
    beside = config.program(str(script.parent))
    assert beside == os.path.join(".", "dropout-check")


# settings() and header_lines()

def test_settings_are_the_report_s_run_data(plain_programs: None) -> None:
    run = RunConfig(specs=("a:f",), explicit_specs=True, level="quick", alpha=1e-4, time=3.0, via_cli=True,
                    invocation_dir="/x")
    settings = run.settings()
    documented = {  # dropout_verify/docs/REPORT.md, the "run" object (less what the run adds when it ends)
        "specs": ["a:f"], "named": True, "kind": None, "convention": "drop", "seed": 0, "level": "quick",
        "alpha": 1e-4, "decisions": decision_count("quick"), "alpha_per_decision": 1e-4 / decision_count("quick"),
        "device": "cpu", "call_timeout": 60.0, "time": 3.0, "compile": False, "invocation_dir": "/x",
        "command": run.command(), "effects": dict(vars(LEVELS["quick"])),
    }
    assert {key: settings.get(key) for key in documented} == documented


def test_header_of_a_named_run(plain_programs: None) -> None:
    run = RunConfig(specs=("a:f", "b:g"), explicit_specs=True, level="quick", seed=5, via_cli=True)
    lines = run.header_lines({"a:f": "channel2d"})
    assert lines[0] == "dropout: implementations a:f (channel2d), b:g (convention drop, device cpu)"
    assert lines[1] == (f"dropout: level quick, seed 5; false-alarm budget 1e-06 per implementation, split "
                        f"(Bonferroni) over {run.decisions} statistical decisions: alpha {run.alpha_decision:.3g} each")
    assert all(line.startswith("dropout: ") for line in lines)
    assert lines[-1] == f"dropout: reproduce: {run.command()}"
    assert "keep-rate bias 0.01 " in "\n".join(lines)  # the quick level's effect


def test_header_of_the_built_in_references_with_a_selection(plain_programs: None) -> None:
    run = RunConfig(compile=True, invocation_dir=str(ROOT))
    lines = run.header_lines(select="test_keep_rate")
    assert lines[0].startswith("dropout: implementations " + ", ".join(DEFAULT_SPECS))
    assert "[each wrapped in torch.compile(dynamic=True)]" in lines[0]
    assert "[no implementation named: the built-in references]" in lines[0]
    assert lines[1].endswith("; -k runs some of them, at these same thresholds")
    reproduce = lines[-1].removeprefix("dropout: reproduce: ")
    assert reproduce == run.command(selector="test_keep_rate")
    words = shlex.split(reproduce)
    assert words[0] == "pytest" and suite_words(words[1:-9]) and words[-9:-7] == ["-k", "test_keep_rate"]
    assert words[-7:] == ["--dropout-seed", "0", "--dropout-level", "standard", "--dropout-alpha", "1e-06",
                          "--dropout-compile"]


def test_with_specs_names_them() -> None:
    run = RunConfig().with_specs(["z:f"])
    assert run.specs == ("z:f",) and run.explicit_specs


def test_property_names_are_the_suites_and_a_k_that_matches_none_lists_them() -> None:
    """What -k can match, read from the sources: every property module and its test functions."""
    from dropout_verify.supervisor import no_property_selected

    names = config.property_names()
    assert set(names) == {path.stem for path in config.properties_dir().glob("test_*.py")}
    assert "test_eval_mode_is_identity" in names["test_modes"] and "test_keep_rate" in names["test_keep_rate"]
    message = no_property_selected("C8")
    assert message.startswith("-k 'C8' selects no property")
    assert all(name in message for listed in names.values() for name in listed)
