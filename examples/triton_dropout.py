"""A Triton dropout kernel, verified on a CPU under Triton's interpreter and unchanged on a GPU.

The kernel takes its randomness the way Triton kernels do: a seed and an offset per call.
Element ``i`` of a call (in x's logical row-major order) is kept when ``u_i >= p``, with

    u_i = tl.rand(seed, offset + i)     (Philox-4x32-10, one counter per element, float32 in [0, 1))

so P(keep) = P(u >= p) = 1 - p to float32's resolution of p (the contract accepts p held as a
float32: CONTRACT.md section 3), and a kept element is ``x / (1 - p)``, computed in float64 for
float64 inputs and in float32 otherwise. The caller (the suite, as PyTorch's Philox generator
does) advances the offset past the ``numel`` counters each call used, so no two calls share a
random number. Backward re-runs the same kernel on the incoming gradient with the same seed and
offset: ``dx = dy * keep / (1 - p)``, the forward's very mask, and nothing is stored.

On this CPU (Triton's interpreter runs the kernel with NumPy; set the variable before Triton
is imported)::

    TRITON_INTERPRET=1 dropout-check examples/triton_dropout.py:triton_dropout --level quick

On a GPU, the same file::

    dropout-check examples/triton_dropout.py:triton_dropout --device cuda

The mask depends on the seed, the offset and the element's index only, never on the block
size, so the interpreter's large blocks and a GPU's small ones give the same masks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch

from dropout_verify.protocol import declare

try:
    import triton
    import triton.language as tl
except ImportError:  # the module still imports, so the suite can say what is missing (exit 4)
    triton = tl = None

__all__ = ["Launch", "SeededDropout", "block_size", "dropout_kernel", "jit", "kept_value", "launch_elementwise",
           "seeded_triton_dropout", "triton_dropout", "triton_missing"]

# Elements per program. A GPU wants a block its registers hold; Triton's interpreter runs each
# program as NumPy calls on whole blocks, so it wants few, large blocks (2^20 elements: about
# 0.2 s in 16 blocks of 65,536, about 8 s in 1,024 blocks of 1,024). Only the launch differs:
# the mask does not depend on the block size.
GPU_BLOCK = 1024
INTERPRETER_BLOCK = 65536

Launch = Callable[[torch.Tensor, float, int, int], torch.Tensor]


def jit(fn: Any) -> Any:
    """``triton.jit`` where Triton is installed; otherwise the plain function, which is never
    launched (``triton_missing`` stops the suite with a usage error first)."""
    return triton.jit(fn) if triton is not None else fn


def triton_missing() -> str | None:
    """Why a Triton kernel cannot run here, or None when it can (the protocol's ``usable`` hook)."""
    if triton is None:
        return ("needs Triton, which is not installed: pip install 'dropout-verify[triton]' (or pip install "
                "triton); on a machine without a GPU also set TRITON_INTERPRET=1")
    if not _interpreted() and not torch.cuda.is_available():
        return ("Triton kernels run on a GPU, and this machine has none: set TRITON_INTERPRET=1 (before Triton "
                "is imported) to run them on CPU tensors under Triton's interpreter")
    return None


def _interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


@jit
def kept_value(x, p, WIDE: tl.constexpr):
    """x / (1 - p): in float64 for float64 inputs (WIDE), else in float32 (one rounding each of
    1 - p and the quotient, inside the contract's two roundings); stored in x's dtype by the caller."""
    if WIDE:
        value = x.to(tl.float64) / (1.0 - p.to(tl.float64))
    else:
        value = x.to(tl.float32) / (1.0 - p)
    return value


@jit
def dropout_kernel(x_ptr, y_ptr, n, p, seed, offset, BLOCK: tl.constexpr, WIDE: tl.constexpr):
    """y_i = x_i / (1 - p) where tl.rand(seed, offset + i) >= p, else 0."""
    pid = tl.program_id(0)
    index = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)  # int64: no overflow past 2^31 elements
    inside = index < n
    x = tl.load(x_ptr + index, mask=inside)
    p = tl.cast(p, tl.float32)  # a float argument is float32 on a GPU; the interpreter passes a Python float
    keep = tl.rand(seed, offset + index) >= p
    y = tl.where(keep, kept_value(x, p, WIDE), 0.0)
    tl.store(y_ptr + index, y.to(y_ptr.dtype.element_ty), mask=inside)


def launch_elementwise(kernel: Any, *, block: int | None = None, programs: int | None = None) -> Launch:
    """Run an elementwise kernel ``kernel[grid](x, y, n, p, seed, offset, BLOCK=, WIDE=)`` on x's
    elements in logical row-major order (non-contiguous inputs are copied contiguous first).

    ``block``: elements per program (default ``block_size``); ``programs``: at most this many
    programs, for a kernel whose programs loop over the blocks (a grid-stride loop)."""

    def launch(x: torch.Tensor, p: float, seed: int, offset: int) -> torch.Tensor:
        flat = x.contiguous().view(-1)
        y = torch.empty_like(flat)
        n = flat.numel()
        if n:
            size = block or block_size(x)
            grid = triton.cdiv(n, size) if programs is None else min(programs, triton.cdiv(n, size))
            kernel[(grid,)](flat, y, n, p, seed, offset, BLOCK=size, WIDE=x.dtype == torch.float64)
        return y.view(x.shape)

    return launch


def block_size(x: torch.Tensor) -> int:
    """Elements per program: small on a GPU, large under the interpreter (CPU tensors)."""
    if x.device.type == "cpu":
        return min(INTERPRETER_BLOCK, max(16, 1 << (x.numel() - 1).bit_length()))
    return GPU_BLOCK


class SeededDropout(torch.autograd.Function):
    """The kernel's forward, and a backward that re-runs it on dy with the forward's seed and offset."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, p: float, seed: int, offset: int, launch: Launch) -> torch.Tensor:
        ctx.saved = (p, seed, offset, launch)
        return launch(x, p, seed, offset)

    @staticmethod
    def backward(ctx: Any, dy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        p, seed, offset, launch = ctx.saved
        return launch(dy, p, seed, offset), None, None, None, None


def _check(x: Any, p: Any, seed: Any, offset: Any) -> float:
    """The validation every variant shares: clear errors naming the bad value."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"Expected x to be a torch.Tensor, but got {type(x).__name__}")
    if not x.dtype.is_floating_point:
        raise TypeError(f"Expected a floating-point x (float32, float64, float16, bfloat16), but got dtype={x.dtype}")
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"Expected p to be a real number, but got p={p!r} of type {type(p).__name__}")
    if not 0.0 <= p <= 1.0:  # also false for NaN
        raise ValueError(f"Expected p in [0, 1], but got p={p!r}")
    for name, value in (("seed", seed), ("offset", offset)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise TypeError(f"Expected {name} to be a non-negative int, but got {name}={value!r}")
    if x.device.type == "cpu" and not _interpreted():
        raise RuntimeError("x is a CPU tensor: Triton runs kernels on CPU tensors only under its interpreter "
                           "(set TRITON_INTERPRET=1 before Triton is imported), else on a GPU")
    return float(p)


def seeded_triton_dropout(launch: Launch, *, edges: bool = True,
                          function: type[SeededDropout] = SeededDropout) -> Callable[..., torch.Tensor]:
    """Dropout ``f(x, p, training=True, *, seed, offset)`` around a kernel launch, declared
    through the target protocol (``randomness="seed"``: the suite is the caller that supplies the
    seed and advances the offset).

    ``edges``: p = 0 returns a copy of x and p = 1 zeros, without a launch (both differentiable:
    gradient 1 and 0); the catalog's edge mutants turn this off to expose their kernels' own edges.
    ``function``: the autograd function (forward and backward) that runs the launch.
    """

    def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True, *, seed: int, offset: int) -> torch.Tensor:
        p = _check(x, p, seed, offset)
        if not training:
            return x
        if edges and p == 0.0:
            return x.clone()
        y: torch.Tensor = function.apply(x, p, seed, offset, _drop_all if edges and p == 1.0 else launch)
        return y

    return declare(dropout, randomness="seed", usable=triton_missing)


def _drop_all(x: torch.Tensor, p: float, seed: int, offset: int) -> torch.Tensor:
    """p = 1: every element dropped, no random number needed (zeros, and zero gradients)."""
    return torch.zeros_like(x, memory_format=torch.contiguous_format)


triton_dropout = seeded_triton_dropout(launch_elementwise(dropout_kernel))
