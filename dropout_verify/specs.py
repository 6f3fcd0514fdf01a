"""Resolving ``MODULE:ATTR`` and ``path/to/file.py:ATTR`` specs to the object they name.

Specs are resolved the way users write them: the current directory is importable (as
under ``python -m``), so ``mykernels:fn`` finds ``./mykernels.py``; a file spec's folder is
importable while and after its file is loaded, so the file may import its siblings; an
attribute path works (``torch:ops.aten.native_dropout``, ``torch.ops.aten:native_dropout``).
Every mistake is a :class:`SpecError` (a usage error, exit status 4) that names the spec
and, where something close exists, a did-you-mean.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import pkgutil
import sys
import traceback
from pathlib import Path
from typing import Any

from .options import UsageError

__all__ = ["SpecError", "resolve_object", "split_spec"]


class SpecError(UsageError):
    """A spec that does not name a usable implementation."""


def split_spec(spec: str) -> tuple[str, str]:
    """'pkg.mod:attr.path' -> ('pkg.mod', 'attr.path'); the last colon splits (Windows paths)."""
    location, colon, attribute = spec.rpartition(":")
    if not colon or not location or not attribute:
        raise SpecError(f"expected MODULE:ATTR or path/to/file.py:ATTR (e.g. torch.nn.functional:dropout), "
                        f"but got {spec!r}")
    return location, attribute


def _is_file_spec(location: str) -> bool:
    return location.endswith(".py") or "/" in location or os.sep in location


def _last_frames(error: BaseException, limit: int = 2) -> str:
    frames = traceback.extract_tb(error.__traceback__)[-limit:]
    return "".join(f"\n    {Path(f.filename).name}:{f.lineno} in {f.name}: {f.line or ''}" for f in frames)


def _import_file(location: str, spec: str) -> Any:
    path = Path(location)
    if not path.is_file():
        folder = path.parent
        siblings = []
        for sibling in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            text = sibling.name if str(folder) == "." else str(folder / sibling.name)
            siblings.append("./" + text if location.startswith("./") and not text.startswith("./") else text)
        by_stem = {Path(sibling).stem: sibling for sibling in siblings}  # compare names, not "./" and ".py"
        close = [by_stem[stem] for stem in difflib.get_close_matches(path.stem, list(by_stem), n=3)]
        if close:
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?"
        elif siblings:
            hint = f"; the Python files there: {', '.join(siblings[:8])}{' ...' if len(siblings) > 8 else ''}"
        else:
            hint = "; a file spec is path/to/file.py:ATTR, relative to the current directory"
        raise SpecError(f"{spec!r}: no such file {location!r} (looked in {folder.resolve()}){hint}")
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # the file may import its siblings, now and when called
    name = "_dropout_target_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    module_spec = importlib.util.spec_from_file_location(name, path)
    if module_spec is None or module_spec.loader is None:
        raise SpecError(f"{spec!r}: {location!r} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except SyntaxError as error:
        del sys.modules[name]
        raise SpecError(f"{spec!r}: {location!r} has a syntax error at line {error.lineno}: {error.msg}") from None
    except BaseException as error:
        del sys.modules[name]
        if isinstance(error, KeyboardInterrupt):
            raise
        raise SpecError(f"{spec!r}: importing {location!r} raised {type(error).__name__}: {error}"
                        f"{_last_frames(error)}") from None
    return module


def _module_hint(missing: str) -> str:
    """A did-you-mean for a missing module: siblings in its parent package, or top-level names."""
    parent_name, _, _ = missing.rpartition(".")
    names: list[str]
    if parent_name:
        try:
            parent = importlib.import_module(parent_name)
        except Exception:  # noqa: BLE001 - no hint is better than a second error
            return ""
        names = [f"{parent_name}.{m.name}" for m in pkgutil.iter_modules(getattr(parent, "__path__", []))]
    else:
        names = [m.name for m in pkgutil.iter_modules()] + [n for n in sys.modules if "." not in n]
    close = difflib.get_close_matches(missing, names, n=3)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _import_module(location: str, spec: str) -> Any:
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)  # as python -m does: the current directory's modules are importable
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as error:
        missing = error.name or ""
        if not (location == missing or location.startswith(missing + ".")):
            # The module exists, but something it imports does not.
            raise SpecError(f"{spec!r}: importing {location!r} failed: {error}") from None
        raise SpecError(f"{spec!r}: no module named {missing!r} (searched the current directory "
                        f"{cwd} and the installed packages){_module_hint(missing)}") from None
    except BaseException as error:
        if isinstance(error, KeyboardInterrupt):
            raise
        raise SpecError(f"{spec!r}: importing {location!r} raised {type(error).__name__}: {error}"
                        f"{_last_frames(error)}") from None


def _resolve_attribute(owner: Any, path: str, owner_name: str, spec: str) -> Any:
    current, walked = owner, owner_name
    for part in path.split("."):
        try:
            current = getattr(current, part)
        except AttributeError:
            names = [n for n in dir(current) if not n.startswith("__")]
            close = difflib.get_close_matches(part, names, n=3)
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise SpecError(f"{spec!r}: {walked!r} has no attribute {part!r}{hint}") from None
        walked = f"{walked}.{part}"
    return current


def _import_prefix(location: str, attribute: str, spec: str) -> tuple[Any, str, str]:
    """Import the longest importable prefix of ``location``; the rest joins the attribute.

    "torch.ops.aten:native_dropout": torch.ops.aten is an attribute of torch, not a module.
    """
    parts = location.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            module = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            _resolve_attribute(module, ".".join(parts[cut:]), ".".join(parts[:cut]), spec)
        except SpecError:
            break
        return module, ".".join(parts[:cut]), ".".join(parts[cut:] + [attribute])
    return _import_module(location, spec), location, attribute  # raises the original error


def resolve_object(spec: str) -> Any:
    """The object a spec names, or a SpecError with a hint."""
    location, attribute = split_spec(spec)
    if _is_file_spec(location):
        module, owner_name = _import_file(location, spec), location
    else:
        try:
            module, owner_name = _import_module(location, spec), location
        except SpecError:
            module, owner_name, attribute = _import_prefix(location, attribute, spec)
    return _resolve_attribute(module, attribute, owner_name, spec)
