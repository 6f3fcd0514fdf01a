"""Installing the package breaks nothing: no bare top-level package, an entry point that stays
dormant, and a suite that works from anywhere, beside a PyPI package called ``properties`` and
a user's own ``properties.py``.

The wheel is built once and installed (without dependencies) into a folder put first on
PYTHONPATH, so it is what Python imports, not this checkout.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, read_report, verdicts

pytestmark = pytest.mark.subprocess


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    source = folder / "source"  # a copy: building writes build/ and *.egg-info beside the sources
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__",
                                                                 ".hypothesis", "benchmarks", "tests"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder / "dist"),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheel = next((folder / "dist").glob("dropout_verify-*.whl"))
    target = folder / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                                str(wheel)], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    return target


def _environment(*path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DROPOUT_") and k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    env["OMP_NUM_THREADS"] = "1"
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")  # as if activated
    return env


def test_wheel_layout(site: Path) -> None:
    assert not (site / "properties").exists(), "no bare top-level 'properties' package"
    assert (site / "dropout_verify" / "properties" / "test_keep_rate.py").is_file()
    assert (site / "dropout_verify" / "py.typed").is_file()
    assert (site / "dropout_verify" / "isolated.ini").is_file()
    # The plans computed ahead are installed, and used there (the installed planners are the source's).
    count = "from dropout_verify import plan_table; print(len(plan_table.table()))"
    tabled = subprocess.run([sys.executable, "-c", count], env=_environment(site), capture_output=True, text=True,
                            timeout=120)
    assert tabled.returncode == 0 and int(tabled.stdout) > 0, tabled.stdout + tabled.stderr[-2000:]
    assert (site / "dropout_verify" / "docs" / "CONTRACT.md").is_file()  # what a failure's "C4" means
    assert (site / "dropout_verify" / "docs" / "REPORT.md").is_file()
    assert (site / "dropout_verify" / "docs" / "STATISTICS.md").is_file()
    assert (site / "dropout_verify" / "docs" / "VALIDATION.md").is_file()
    # The shipped documents link only to each other: every relative link resolves in the installed package.
    for doc in (site / "dropout_verify" / "docs").glob("*.md"):
        for target in re.findall(r"\]\(([^)#\s]+)", doc.read_text(encoding="utf-8")):
            if "://" not in target:
                assert (doc.parent / target).is_file(), f"{doc.name} links to {target}, not in the installed package"
    assert (site / "dropout_impl" / "family.py").is_file()
    # Every package of the source tree is in the wheel (a package missing from pyproject.toml's
    # list once broke every installed run, while editable installs hid it).
    for init in [*(ROOT / "dropout_verify").rglob("__init__.py"), *(ROOT / "dropout_impl").rglob("__init__.py")]:
        installed = site / init.relative_to(ROOT)
        assert installed.is_file(), f"{init.parent.relative_to(ROOT)} is not in the wheel"
    entry_points = next(site.glob("dropout_verify-*.dist-info")) / "entry_points.txt"
    text = entry_points.read_text()
    assert "[pytest11]" in text and "dropout_verify.plugin = dropout_verify.plugin" in text
    assert "dropout-check = dropout_verify.cli:main" in text


@pytest.fixture
def crowded(tmp_path: Path, site: Path) -> tuple[Path, dict[str, str]]:
    """A user's folder with its own properties.py, and a PyPI-style 'properties' package installed first."""
    other = tmp_path / "pypi"
    (other / "properties").mkdir(parents=True)
    (other / "properties" / "__init__.py").write_text("raise ImportError('this is the PyPI package properties')\n")
    user = tmp_path / "project"
    user.mkdir()
    (user / "properties.py").write_text("raise ImportError('this is the user\\'s own properties.py')\n")
    (user / "test_mine.py").write_text("def test_mine():\n    assert True\n")
    return user, _environment(other, site)


def test_imports_the_installed_copy(crowded: tuple[Path, dict[str, str]], site: Path) -> None:
    user, env = crowded
    # Every subpackage too: an editable install of this checkout would otherwise supply a module
    # that the wheel lacks.
    code = ("import dropout_verify, dropout_verify.stats, dropout_verify.kinds, dropout_verify.properties, "
            "dropout_verify.adapters, dropout_impl; print('\\n'.join(m.__file__ for m in (dropout_verify, "
            "dropout_verify.stats, dropout_verify.kinds, dropout_verify.properties, dropout_verify.adapters, "
            "dropout_impl)))")
    found = subprocess.run([sys.executable, "-c", code], cwd=user, env=env, capture_output=True, text=True)
    files = found.stdout.split()
    assert len(files) == 6 and all(f.startswith(str(site)) for f in files), found.stdout + found.stderr


def test_dropout_check_works_beside_a_properties_package(crowded: tuple[Path, dict[str, str]]) -> None:
    user, env = crowded
    finished = subprocess.run([sys.executable, "-m", "dropout_verify", "torch.nn.functional:dropout", "--level",
                               "quick", "-k", "test_support", "--report", "out"], cwd=user, env=env,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert verdicts(read_report(user / "out"), "torch.nn.functional:dropout")["test_support"] == "pass"


def test_installed_copy_prints_its_contract(crowded: tuple[Path, dict[str, str]], site: Path) -> None:
    user, env = crowded
    shown = subprocess.run([sys.executable, "-m", "dropout_verify", "--contract"], cwd=user, env=env,
                           capture_output=True, text=True, timeout=600)
    assert shown.returncode == 0, shown.stderr[-3000:]
    assert shown.stdout == (site / "dropout_verify" / "docs" / "CONTRACT.md").read_text(encoding="utf-8")
    assert "C11" in shown.stdout


def test_entry_point_runs_the_suite_from_anywhere(crowded: tuple[Path, dict[str, str]]) -> None:
    user, env = crowded
    finished = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs",
                               "dropout_verify.properties.test_support", "--dropout-impl",
                               "torch.nn.functional:dropout", "--dropout-level", "quick"], cwd=user, env=env,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert "dropout: reproduce: pytest" in finished.stdout


def test_entry_point_is_dormant_in_the_users_own_tests(crowded: tuple[Path, dict[str, str]]) -> None:
    user, env = crowded
    finished = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_mine.py"], cwd=user,
                              env=env, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert "dropout:" not in finished.stdout and "1 passed" in finished.stdout
    shown = subprocess.run([sys.executable, "-m", "pytest", "--help"], cwd=user, env=env, capture_output=True,
                           text=True, timeout=600)
    assert shown.returncode == 0 and "--dropout-impl" in shown.stdout
