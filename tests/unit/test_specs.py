"""dropout_verify.specs: splitting specs, and resolving them in-process with a hint for each mistake."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dropout_verify import options
from dropout_verify.options import UsageError
from dropout_verify.specs import SpecError, resolve_object, split_spec


@pytest.fixture(autouse=True)
def restored_imports(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Resolving a spec may put folders on sys.path and load files as modules: undo both."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith("_dropout_target_") or name.startswith("sibling_"):
            del sys.modules[name]


@pytest.mark.parametrize(("spec", "parts"), [
    ("torch.nn.functional:dropout", ("torch.nn.functional", "dropout")),
    ("torch:ops.aten.native_dropout", ("torch", "ops.aten.native_dropout")),
    ("./my-kernels.py:fine", ("./my-kernels.py", "fine")),
    (r"C:\work\kernels.py:fine", (r"C:\work\kernels.py", "fine")),  # the last colon splits
])
def test_split_spec(spec: str, parts: tuple[str, str]) -> None:
    assert split_spec(spec) == parts


@pytest.mark.parametrize("spec", ["torch.nn.functional.dropout", ":dropout", "torch.nn.functional:", ""])
def test_a_spec_without_module_and_attribute_is_a_usage_error(spec: str) -> None:
    with pytest.raises(SpecError) as raised:
        split_spec(spec)
    assert isinstance(raised.value, UsageError)
    assert str(raised.value) == ("expected MODULE:ATTR or path/to/file.py:ATTR (e.g. torch.nn.functional:dropout), "
                                 f"but got {spec!r}")


def test_module_spec_resolves() -> None:
    assert resolve_object("dropout_verify.options:did_you_mean") is options.did_you_mean
    assert resolve_object("dropout_verify:options.option") is options.option  # an attribute path


def test_an_attribute_of_a_module_as_the_location() -> None:
    """dropout_verify.options.Option is a class, not a module: the longest importable prefix is."""
    assert resolve_object("dropout_verify.options.Option:env") is options.Option.env


def test_misspelt_attribute_gets_a_did_you_mean() -> None:
    with pytest.raises(SpecError) as raised:
        resolve_object("dropout_verify.options:did_you_maen")
    assert str(raised.value) == ("'dropout_verify.options:did_you_maen': 'dropout_verify.options' has no attribute "
                                 "'did_you_maen'; did you mean 'did_you_mean'?")


def test_misspelt_attribute_deep_in_a_path_names_where_it_stopped() -> None:
    with pytest.raises(SpecError, match=r"'dropout_verify.options.Option' has no attribute 'evn'; did you mean 'env'"):
        resolve_object("dropout_verify.options:Option.evn")


def test_misspelt_submodule_gets_its_siblings_as_hint() -> None:
    with pytest.raises(SpecError) as raised:
        resolve_object("dropout_verify.optoins:option")
    text = str(raised.value)
    assert text.startswith("'dropout_verify.optoins:option': no module named 'dropout_verify.optoins'")
    assert "; did you mean 'dropout_verify.options'" in text  # the closest first


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    kernels = "from sibling_scale import SCALE\n\n\ndef fine(x, p):\n    return x * SCALE\n"
    (tmp_path / "mykernels.py").write_text(kernels)
    (tmp_path / "sibling_scale.py").write_text("SCALE = 2\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "raises.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_file_spec_resolves_and_may_import_its_siblings(project: Path) -> None:
    function = resolve_object("./mykernels.py:fine")
    assert function(3, 0.5) == 6
    assert str(project.resolve()) in sys.path


def test_module_in_the_current_directory_resolves(project: Path) -> None:
    assert resolve_object("sibling_scale:SCALE") == 2


def test_missing_file_suggests_the_closest(project: Path) -> None:
    with pytest.raises(SpecError) as raised:
        resolve_object("./mykernel.py:fine")
    text = str(raised.value)
    assert text.startswith("'./mykernel.py:fine': no such file './mykernel.py'")
    assert text.endswith("; did you mean './mykernels.py'?")


def test_missing_file_with_nothing_close_lists_the_python_files_there(project: Path) -> None:
    with pytest.raises(SpecError, match=r"; the Python files there: .*mykernels\.py"):
        resolve_object("./zzzzzz.py:fine")


def test_file_with_a_syntax_error(project: Path) -> None:
    with pytest.raises(SpecError, match=r"^'broken.py:f': 'broken.py' has a syntax error at line 1: "):
        resolve_object("broken.py:f")


def test_file_that_raises_on_import_names_the_error(project: Path) -> None:
    with pytest.raises(SpecError, match=r"^'raises.py:f': importing 'raises.py' raised RuntimeError: boom at import"):
        resolve_object("raises.py:f")
    assert not any(name.startswith("_dropout_target_raises") for name in sys.modules)


def test_missing_attribute_of_a_file(project: Path) -> None:
    with pytest.raises(SpecError, match=r"'mykernels.py' has no attribute 'fin'; did you mean 'fine'\?"):
        resolve_object("mykernels.py:fin")
