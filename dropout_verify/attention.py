"""Attention kernels as dropout targets: read the kernel's own dropout mask.

With queries and keys all zero, every attention score is equal and every attention weight is
1/S (S key columns); with values V = I (S x S), the output is the weight matrix itself, after
the kernel's dropout:

    out[b, h, l, s] = (1/S) / (1-p)  where the kernel kept weight (l, s),  0 where it dropped it.

``attention_target`` turns that into a dropout of the suite's input x of shape (B, H, L, S):

    y = x * (S * out),

so y = x/(1-p) or 0 with the kernel's own mask and its own scale. S is a power of two, so
S * out is the kernel's scale exactly and y is rounded twice at most, as C2 allows. Batch,
heads, query rows and key columns stay the four axes of the unit tensor (kind ``attention``),
so a correlation between query rows two apart is found and named as such. ``training=False``
passes dropout_p = 0 (what nn.MultiheadAttention does in eval mode).

Built-in targets, one per PyTorch SDPA backend::

    dropout-check dropout_verify.attention:sdpa_math        (CPU and GPU)
    dropout-check dropout_verify.attention:sdpa_flash       --device cuda
    dropout-check dropout_verify.attention:sdpa_efficient   --device cuda
    dropout-check dropout_verify.attention:sdpa_cudnn       --device cuda

A backend that has no kernel for an input ("No available kernel") makes the example "not
supported", not a failure (``errors.NotSupported``).

The adapter protocol, for any other attention kernel (examples/flash_attn_adapter.py)::

    from dropout_verify.attention import attention_target
    my_attention = attention_target(attend, layout="blhd", dtypes=("float16", "bfloat16"))

where ``attend(q, k, v, p)`` returns the attention output for queries, keys and values in
``layout`` ("bhld": (B, H, L, D), PyTorch's; "blhd": (B, L, H, D), FlashAttention's), with
dropout probability p, passed under whatever keyword the kernel calls it (dropout_p, p_drop,
...). Point the suite at ``my_attention``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from .errors import NotSupported
from .protocol import declare

__all__ = ["attention_target", "call_attend", "sdpa_cudnn", "sdpa_efficient", "sdpa_flash", "sdpa_math"]

HEAD_DIM = 8  # of the (all-zero) queries and keys: every kernel takes multiples of 8
Attend = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]
_NO_KERNEL = ("No available kernel", "No viable backend", "not supported", "Not supported", "not implemented",
              "do not support")


def call_attend(attend: Attend, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float, name: str) -> torch.Tensor:
    """attend(q, k, v, p), with a backend's "no kernel for this input" turned into NotSupported."""
    try:
        return attend(q, k, v, p)
    except RuntimeError as error:
        if any(marker in str(error) for marker in _NO_KERNEL):
            raise NotSupported(f"{name}: {str(error).splitlines()[0]}") from None
        raise


def attention_target(attend: Attend, *, layout: str = "bhld", dtypes: Sequence[str] | None = None,
                     name: str = "attention") -> Callable[..., torch.Tensor]:
    """A dropout ``f(x, p, training=True)`` of a (B, H, L, S) input whose mask is ``attend``'s."""
    if layout not in ("bhld", "blhd"):
        raise ValueError(f"Expected layout 'bhld' or 'blhd', but got layout={layout!r}")
    accepted = tuple(dtypes) if dtypes is not None else None

    def dropout(x: torch.Tensor, p: float = 0.5, training: bool = True) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Expected x to be a torch.Tensor, but got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"Expected a 4-D (B, H, L, S) input, but got shape={tuple(x.shape)}")
        if not x.dtype.is_floating_point:
            raise TypeError(f"Expected a floating-point input, but got dtype={x.dtype}")
        if accepted is not None and str(x.dtype).removeprefix("torch.") not in accepted:
            raise NotSupported(f"{name} takes {', '.join(accepted)}, not {x.dtype}")
        batch, heads, queries, keys = x.shape
        q = torch.zeros(batch, heads, queries, HEAD_DIM, dtype=x.dtype, device=x.device)
        k = torch.zeros(batch, heads, keys, HEAD_DIM, dtype=x.dtype, device=x.device)
        v = torch.eye(keys, dtype=x.dtype, device=x.device).expand(batch, heads, keys, keys).contiguous()
        if layout == "blhd":
            q, k, v = (t.transpose(1, 2).contiguous() for t in (q, k, v))
        out = call_attend(attend, q, k, v, p if training else 0.0, name)
        if layout == "blhd":
            out = out.transpose(1, 2)
        return x * (out * keys).to(x.dtype)

    dropout.__name__ = name
    # attend and its layout: for the backward check (properties/test_attention.py)
    return declare(dropout, kind="attention", attend=attend, layout=layout, dtypes=accepted)


def _sdpa(backend_name: str) -> Callable[..., torch.Tensor]:
    def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
        from torch.nn.attention import SDPBackend, sdpa_kernel

        backend = getattr(SDPBackend, backend_name)
        with sdpa_kernel(backend):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v, dropout_p=p)

    target = attention_target(attend, name=f"sdpa_{backend_name.lower()}")
    return declare(target, usable=lambda: _backend_present(backend_name))


def _backend_present(backend_name: str) -> str | None:
    """None when this torch has the SDPA backend; else why not (a usage error)."""
    try:
        from torch.nn.attention import SDPBackend
    except ImportError:
        return f"this torch ({torch.__version__}) has no torch.nn.attention.SDPBackend"
    if not hasattr(SDPBackend, backend_name):
        return f"this torch ({torch.__version__}) has no SDPA backend SDPBackend.{backend_name}"
    return None


sdpa_math = _sdpa("MATH")
sdpa_flash = _sdpa("FLASH_ATTENTION")
sdpa_efficient = _sdpa("EFFICIENT_ATTENTION")
sdpa_cudnn = _sdpa("CUDNN_ATTENTION")
