"""What the evidence scripts share: keras on torch, torchvision's ops, and a verdict line.

Each script in this folder shows one finding about a library's dropout with that library and
plain torch alone (no part of the suite), prints what it saw, and exits 1 when the finding
reproduces, 0 when it does not (say, in a release that fixed it).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from types import ModuleType
from typing import NoReturn

os.environ.setdefault("KERAS_BACKEND", "torch")


def keras() -> ModuleType:
    module = importlib.import_module("keras")
    assert module.backend.backend() == "torch", "these scripts show keras on its torch backend: KERAS_BACKEND=torch"
    return module


def torchvision_ops() -> ModuleType:
    """torchvision.ops; a torchvision whose C++ operators do not load here (a CUDA build beside a CPU
    torch) fails `import torchvision`, so its pure-Python ops are imported without its __init__."""
    try:
        return importlib.import_module("torchvision.ops")
    except RuntimeError:
        spec = importlib.util.find_spec("torchvision")
        assert spec is not None
        sys.modules["torchvision"] = importlib.util.module_from_spec(spec)
        return importlib.import_module("torchvision.ops")


def verdict(findings: list[str]) -> NoReturn:
    for finding in findings:
        print("REPRODUCED:", finding)
    print("reproduced" if findings else "not reproduced here")
    sys.exit(1 if findings else 0)
