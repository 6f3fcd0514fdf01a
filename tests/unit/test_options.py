"""dropout_verify.options: precedence, each parser's rule, and error messages that name the option as spelled."""

from __future__ import annotations

import pytest

from dropout_verify.options import KIND_NAMES, LEVEL_NAMES, OPTIONS, UsageError, did_you_mean, option, parse_value


def message(name: str, given: object | None, environ: dict[str, str] | None = None, *, cli: bool = True) -> str:
    with pytest.raises(UsageError) as raised:
        parse_value(name, given, environ or {}, cli=cli)
    return str(raised.value)


# Precedence: command line > environment > default.

def test_command_line_wins_over_environment() -> None:
    assert parse_value("level", "thorough", {"DROPOUT_LEVEL": "quick"}) == "thorough"
    assert parse_value("seed", "5", {"DROPOUT_SEED": "9"}, cli=False) == 5


def test_environment_wins_over_default() -> None:
    assert parse_value("level", None, {"DROPOUT_LEVEL": "quick"}) == "quick"
    assert parse_value("alpha", None, {"DROPOUT_ALPHA": "0.01"}) == 0.01
    assert parse_value("call-timeout", None, {"DROPOUT_CALL_TIMEOUT": "2.5"}) == 2.5


def test_default_when_neither_is_given() -> None:
    assert parse_value("level", None, {}) == "standard"
    assert parse_value("seed", None, {}) == 0
    assert parse_value("alpha", None, {}) == 1e-6
    assert parse_value("convention", None, {}) == "drop"
    assert parse_value("device", None, {}) == "cpu"
    assert parse_value("call-timeout", None, {}) == 60.0
    assert parse_value("compile", None, {}) is False


@pytest.mark.parametrize("name", ["kind", "report", "time"])
def test_no_default_is_none(name: str) -> None:
    assert parse_value(name, None, {}) is None


def test_a_bad_environment_value_does_not_matter_when_the_command_line_gives_one() -> None:
    assert parse_value("level", "quick", {"DROPOUT_LEVEL": "fast"}) == "quick"


def test_repeatable_option_is_not_read_here() -> None:
    with pytest.raises(ValueError, match="specs_from"):
        parse_value("impl", "a:b", {})


# Error messages: the option as the user spelled it, the bad value, the rule.

@pytest.mark.parametrize(("cli", "environ", "given", "spelled"), [
    (True, {}, "fast", "expected --level "),
    (False, {}, "fast", "expected --dropout-level "),
    (True, {"DROPOUT_LEVEL": "fast"}, None, "expected the environment variable DROPOUT_LEVEL "),
    (False, {"DROPOUT_LEVEL": "fast"}, None, "expected the environment variable DROPOUT_LEVEL "),
])
def test_error_names_the_option_as_spelled(cli: bool, environ: dict[str, str], given: str | None,
                                           spelled: str) -> None:
    text = message("level", given, environ, cli=cli)
    assert text.startswith(spelled)
    assert text == f"{spelled}to be one of quick, standard, thorough, but got 'fast'"


@pytest.mark.parametrize(("name", "bad", "rule"), [
    ("level", "quik", "to be one of quick, standard, thorough, but got 'quik'; did you mean 'quick'?"),
    ("convention", "kep", "to be one of drop, keep, but got 'kep'; did you mean 'keep'?"),
    ("kind", "channel", "to be one of " + ", ".join(KIND_NAMES) + ", but got 'channel'; did you mean "),
    ("seed", "1.5", "to be an integer, but got '1.5'"),
    ("seed", "-1", "to be 0 or more, but got -1"),
    ("alpha", "small", "to be a number in (0, 1), but got 'small'"),
    ("alpha", "0", "(the false-alarm budget) to be in (0, 1), but got '0'"),
    ("alpha", "1", "(the false-alarm budget) to be in (0, 1), but got '1'"),
    ("alpha", "nan", "(the false-alarm budget) to be in (0, 1), but got 'nan'"),
    ("call-timeout", "soon", "to be a number of seconds, but got 'soon'"),
    ("call-timeout", "0", "to be a positive number of seconds, but got '0'"),
    ("call-timeout", "-3", "to be a positive number of seconds, but got '-3'"),
    ("call-timeout", "inf", "to be a positive number of seconds, but got 'inf'"),
    ("call-timeout", "nan", "to be a positive number of seconds, but got 'nan'"),
    ("time", "0", "to be a positive number of seconds, but got '0'"),
    ("device", "gpu", "to be cpu, cuda or cuda:N (the devices the suite supports), but got 'gpu'"),
    ("device", "cuda0", "to be cpu, cuda or cuda:N (the devices the suite supports), but got 'cuda0'; did you mean "
                        "'cuda:0' or 'cuda'?"),
    ("compile", "maybe", "to be 1 or 0, but got 'maybe'"),
])
def test_each_parser_names_option_value_and_rule(name: str, bad: str, rule: str) -> None:
    spec = option(name)
    assert message(name, bad).startswith(f"expected {spec.cli_flag} {rule}")
    assert message(name, bad, cli=False).startswith(f"expected {spec.pytest_flag} {rule}")
    assert message(name, None, {spec.env: bad}).startswith(f"expected the environment variable {spec.env} {rule}")


def test_suggestions_for_a_channel_kind_are_channel_kinds() -> None:
    text = message("kind", "channel")
    suggested = text.split("did you mean ", 1)[1]
    assert "'channel1d'" in suggested and "'alpha'" not in suggested


@pytest.mark.parametrize(("name", "text", "value"), [
    ("seed", "0", 0), ("seed", "123", 123),
    ("alpha", "1e-3", 1e-3), ("alpha", "0.999", 0.999),
    ("call-timeout", "0.5", 0.5), ("time", "30", 30.0),
    ("device", "cpu", "cpu"), ("device", "cuda", "cuda"), ("device", "cuda:3", "cuda:3"),
    ("kind", "path_batch", "path_batch"), ("convention", "keep", "keep"),
    ("report", "out/dir", "out/dir"),
])
def test_good_values_parse(name: str, text: str, value: object) -> None:
    assert parse_value(name, text, {}) == value


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("true", True), ("Yes", True), (" on ", True), (True, True),
    ("", False), ("0", False), ("false", False), ("NO", False), ("off", False),
])
def test_flag_values(text: object, value: bool) -> None:
    assert parse_value("compile", text, {}) is value
    if isinstance(text, str):
        assert parse_value("compile", None, {"DROPOUT_COMPILE": text}) is value


@pytest.mark.parametrize("name", LEVEL_NAMES)
def test_every_level_name_parses(name: str) -> None:
    assert parse_value("level", None, {"DROPOUT_LEVEL": name}) == name


def test_spellings_of_an_option() -> None:
    spec = option("call-timeout")
    assert (spec.env, spec.cli_flag, spec.pytest_flag, spec.dest) == (
        "DROPOUT_CALL_TIMEOUT", "--call-timeout", "--dropout-call-timeout", "dropout_call_timeout")


def test_option_table_is_consistent() -> None:
    names = [o.name for o in OPTIONS]
    assert len(names) == len(set(names))
    assert [o.name for o in OPTIONS if o.repeatable] == ["impl"]
    for spec in OPTIONS:
        assert spec.env.startswith("DROPOUT_") and "-" not in spec.env
        if spec.default is not None:  # every default passes its own parser
            spec.parse(spec.default)
        if spec.choices is not None:
            for choice in spec.choices:
                assert spec.parse(choice) == choice


def test_unknown_option_name_is_a_programming_error() -> None:
    with pytest.raises(KeyError):
        option("levels")


def test_did_you_mean_names_close_candidates() -> None:
    assert did_you_mean("standrad", LEVEL_NAMES) == "; did you mean 'standard'?"
    assert did_you_mean("xyz", LEVEL_NAMES) == ""
    assert did_you_mean("anything", []) == ""


def test_did_you_mean_offers_at_most_three_joined_by_or() -> None:
    text = did_you_mean("channel", ["channel1d", "channel2d", "channel3d", "channel4d", "element"])
    assert text.startswith("; did you mean ") and text.endswith("?")
    assert text.count(" or ") == 2
    assert "element" not in text


def test_did_you_mean_takes_any_objects() -> None:
    assert did_you_mean("12", [12, 99]) == "; did you mean '12'?"
