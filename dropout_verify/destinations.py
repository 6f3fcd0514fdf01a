"""Where a run writes its reports, checked before any work is done.

A run at the standard level takes minutes; a report folder that cannot be written, or a
``$GITHUB_STEP_SUMMARY`` in a folder that does not exist, must not be found only at the end,
as a traceback in place of the verdict. Both are usage errors (exit status 4) before anything
runs. The check leaves nothing behind: a probe file is written and removed where the report
folder will be (or in its nearest existing parent folder, which must be a folder), and the
step summary is opened for appending only when it exists (GitHub creates it empty). No torch
here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path

from .options import UsageError

__all__ = ["STEP_SUMMARY", "check_destinations", "report_folder"]

STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


def report_folder(invocation_dir: str, given: str) -> Path:
    """The report folder the user named, relative to where they ran the command."""
    return Path(invocation_dir) / given


def _check_folder(folder: Path, given: str, flag: str) -> None:
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"expected {flag} to name a folder, but {given!r} is a file")
    existing = folder
    while not existing.exists():  # the folders to be created are created by the run, at its end
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"expected {flag} to name a folder, but {str(existing)!r} in {given!r} is a file")
    try:
        # Root may write where the permission bits say no, and some file systems refuse
        # files but not folders (/proc): a file written and removed is the only sure test.
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".dropout-check-probe-"):
            pass
    except OSError as error:
        raise UsageError(f"expected {flag} to name a folder the run can write, but {given!r} cannot be "
                         f"written ({error.strerror or error})") from None


def _check_summary(value: str) -> None:
    path = Path(value)
    if path.is_dir():
        raise UsageError(f"expected ${STEP_SUMMARY} to name a file, but {value!r} is a folder")
    if not path.parent.is_dir():
        raise UsageError(f"expected ${STEP_SUMMARY} to name a file in an existing folder, but the folder "
                         f"{str(path.parent)!r} does not exist")
    try:
        if path.exists():
            with open(path, "a", encoding="utf-8"):
                pass
        else:
            with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".dropout-check-probe-"):
                pass
    except OSError as error:
        raise UsageError(f"expected ${STEP_SUMMARY} to name a file the run can append to, but {value!r} "
                         f"cannot be opened ({error.strerror or error})") from None


def check_destinations(report: str | None, invocation_dir: str, environ: Mapping[str, str], *,
                       flag: str = "--report") -> None:
    """Raise UsageError, naming the path and the reason, when the run could not write its
    reports: the report folder and, with it, ``$GITHUB_STEP_SUMMARY``. Creates nothing."""
    if not report:
        return
    summary = environ.get(STEP_SUMMARY, "")
    if summary:
        _check_summary(summary)
    _check_folder(report_folder(invocation_dir, report), report, flag)

