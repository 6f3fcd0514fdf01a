"""How to point the suite at an attention kernel of your own: the adapter protocol.

``dropout_verify.attention.attention_target(attend, layout=..., dtypes=...)`` turns any attention
function into a dropout the suite verifies (kind ``attention``): it calls ``attend(q, k, v, p)``
with all-zero queries and keys and identity values, so the output is the kernel's own dropped,
rescaled attention-weight matrix. Your ``attend`` only has to map that call onto the kernel:
its tensor layout, and the name it gives the dropout probability.

Runnable here on the CPU (a plain-PyTorch attention in FlashAttention's (B, L, H, D) layout)::

    dropout-check examples/flash_attn_adapter.py:blhd_attention --level quick

On a GPU with the flash-attn package installed, the same three lines verify FlashAttention::

    dropout-check examples/flash_attn_adapter.py:flash_attention --device cuda
"""

from __future__ import annotations

import math

import torch

from dropout_verify.attention import attention_target


def _blhd_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    """Softmax attention with dropout on the weights, tensors in (batch, length, heads, dim) layout."""
    q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # to (B, H, L, D)
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    weights = torch.nn.functional.dropout(weights, p=p, training=True)
    return (weights @ v).transpose(1, 2)  # back to (B, L, H, D)


# The adapter: FlashAttention's layout ("blhd"); every float dtype is accepted.
blhd_attention = attention_target(_blhd_attend, layout="blhd", name="blhd_attention")


def _flash_attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, p: float) -> torch.Tensor:
    from flash_attn import flash_attn_func  # the flash-attn package: a GPU, and float16 or bfloat16

    return flash_attn_func(q, k, v, dropout_p=p)


# FlashAttention takes (B, L, H, D) tensors in float16 or bfloat16; other dtypes are "not supported".
flash_attention = attention_target(_flash_attend, layout="blhd", dtypes=("float16", "bfloat16"),
                                   name="flash_attention")
