"""keras 3 (torch backend) at rate = 1: the output leaves the autograd graph; AlphaDropout raises.

    KERAS_BACKEND=torch python benchmarks/third_party/evidence_keras_rate_one.py

Every keras layer accepts ``rate=1`` (``0 <= rate <= 1``). At that rate keras' torch backend
returns ``torch.zeros_like(inputs)`` (``keras/src/backend/torch/random.py``, ``dropout``): a tensor
with no autograd history, so a loss that reaches the input only through it cannot be
differentiated (``backward`` raises), where ``torch.nn.functional.dropout(x, 1.0)`` returns zeros
whose gradient is zero. ``AlphaDropout(1.0)`` computes ``(0 * ...) ** -0.5`` in its call and raises
``ZeroDivisionError``. The suite's finding: C7 ``test_p_one``.
"""

from __future__ import annotations

import torch
from _common import keras, verdict

k = keras()
findings = []
x = torch.ones(6, 4, 5, requires_grad=True)
reference = torch.nn.functional.dropout(x, 1.0, training=True)
reference.sum().backward()
print(f"torch F.dropout(x, 1.0): requires_grad={reference.requires_grad}, x.grad all zero={bool((x.grad == 0).all())}")
for name, call in (("layers.Dropout(1.0)", lambda: k.layers.Dropout(1.0)(x, training=True)),
                   ("layers.SpatialDropout1D(1.0)", lambda: k.layers.SpatialDropout1D(1.0)(x, training=True)),
                   ("random.dropout(x, 1.0)", lambda: k.random.dropout(x, 1.0))):
    y = call()
    try:
        y.sum().backward()
        backward = "backward works"
    except RuntimeError as error:
        backward = f"backward raises RuntimeError: {str(error).splitlines()[0]}"
    print(f"keras {name}: zeros={bool((y == 0).all())}, requires_grad={y.requires_grad}; {backward}")
    if not y.requires_grad:
        findings.append(f"keras {name} cuts the autograd graph ({backward})")
try:
    k.layers.AlphaDropout(1.0)(x, training=True)
    print("keras layers.AlphaDropout(1.0): returned")
except ZeroDivisionError as error:
    message = " ".join(str(error).split())
    print(f"keras layers.AlphaDropout(1.0): constructed, then its call raised ZeroDivisionError: {message[:120]}")
    findings.append("keras layers.AlphaDropout(1.0) accepts rate 1 and raises ZeroDivisionError when called")
verdict(findings)
