"""keras 3 (torch backend): int and bool tensors come back as floats; bad rates pass or get unclear errors.

    KERAS_BACKEND=torch python benchmarks/third_party/evidence_keras_bad_input.py

``layers.Dropout`` without a seed calls ``torch.nn.functional.dropout``, which refuses an integer
tensor and names a bad rate. keras' own masking code (a seed or a noise shape: the spatial
layers, ``AlphaDropout``, ``random.dropout(..., seed=s)``) divides by the keep probability, so an
int64 or bool input silently comes back as a float32 tensor, and it passes an out-of-range rate
straight to ``torch.bernoulli``, whose error does not say which value was wrong.
``layers.Attention`` checks its ``dropout`` not at all: -0.1, NaN or -inf fail ``dropout > 0`` and
silently drop nothing. The keras docs
(``layers.Dropout``: "rate: Float between 0 and 1") say nothing of integer inputs. The suite's
findings: C11 ``test_non_float_tensor_is_rejected`` and ``test_invalid_probability_is_rejected``.
"""

from __future__ import annotations

import torch
from _common import keras, verdict

k = keras()
findings = []
for dtype in (torch.int64, torch.bool):
    x = torch.ones(2, 3, 4, dtype=dtype)
    for name, call in (("layers.Dropout(0.5)", lambda x=x: k.layers.Dropout(0.5)(x, training=True)),
                       ("layers.SpatialDropout1D(0.5)", lambda x=x: k.layers.SpatialDropout1D(0.5)(x, training=True)),
                       ("layers.AlphaDropout(0.5)", lambda x=x: k.layers.AlphaDropout(0.5)(x, training=True)),
                       ("random.dropout(x, 0.5, seed=1)", lambda x=x: k.random.dropout(x, 0.5, seed=1))):
        try:
            y = call()
            print(f"keras {name} on a {dtype} tensor: returned a {y.dtype} tensor, no error")
            findings.append(f"keras {name} takes a {dtype} tensor silently and returns {y.dtype}")
        except (TypeError, ValueError, RuntimeError) as error:
            print(f"keras {name} on a {dtype} tensor: {type(error).__name__}: {str(error).splitlines()[0][:100]}")
for rate in (-0.1, 1.5, float("nan")):
    messages = []
    for name, call in (("random.dropout(x, rate)", lambda rate=rate: k.random.dropout(torch.ones(4), rate)),
                       ("random.dropout(x, rate, seed=1)",
                        lambda rate=rate: k.random.dropout(torch.ones(4), rate, seed=1))):
        try:
            call()
            messages.append(f"{name}: no error")
        except (ValueError, RuntimeError) as error:
            text = str(error).splitlines()[0]
            messages.append(f"{name}: {type(error).__name__}: {text[:90]}")
            if "seed" in name and repr(rate) not in text and str(rate) not in text:
                findings.append(f"keras {name} with rate={rate}: the error does not name the rate ({text[:60]})")
    print(f"rate={rate}: " + "; ".join(messages))
q, key, v = torch.zeros(1, 2, 8), torch.zeros(1, 8, 8), torch.eye(8)[None]
for rate in (-0.1, float("nan"), float("-inf")):
    try:
        out = k.layers.Attention(dropout=rate)([q, v, key], training=True)
        print(f"layers.Attention(dropout={rate}): no error; weights undropped = {bool((out * 8 == 1).all())}")
        findings.append(f"keras layers.Attention(dropout={rate}) is accepted, and drops nothing")
    except (ValueError, RuntimeError) as error:
        print(f"layers.Attention(dropout={rate}): {type(error).__name__}: {str(error).splitlines()[0][:90]}")
verdict(findings)
