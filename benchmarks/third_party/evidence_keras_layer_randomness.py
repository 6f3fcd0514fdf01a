"""keras 3 layers draw their masks from their own seed generators, seeded from Python's `random`.

    KERAS_BACKEND=torch python benchmarks/third_party/evidence_keras_layer_randomness.py [--calls N]

A keras layer that masks with its own code (the spatial layers, AlphaDropout) holds a
``SeedGenerator``: its initial seed is ``random.randint(1, 10**9)`` from Python's ``random`` when the
layer is built, unless ``seed=`` is given (``keras/src/random/seed_generator.py``,
``make_default_seed``), and each call takes the next counter. By design, then (keras documents
``keras.utils.set_random_seed`` as the way to make runs reproducible, and ``seed=`` per layer):

1. ``torch.manual_seed`` does not reach the masks (the suite's C10 ``test_same_seed_same_result``);
2. two layers built after the same state of Python's ``random`` give the same masks;
3. one layer over many calls never repeats a mask.

The suite's C6 ``test_no_repeated_mask`` finding comes from 2: Hypothesis, which draws the suite's
examples, sets Python's ``random`` to the same state at the start of every example, so every layer
built in an example gets the same initial seed (shown last here, with Hypothesis alone). That is a
limit of the suite, not a defect of keras: 3 shows no repeat in a plain program.
"""

from __future__ import annotations

import argparse
import random

import torch
from _common import keras, verdict

parser = argparse.ArgumentParser()
parser.add_argument("--calls", type=int, default=5000)
calls = parser.parse_args().calls
k = keras()
findings = []
x = torch.ones(4, 64, 16)  # (N, L, C): a mask of 4 x 16 channel decisions
layer = k.layers.SpatialDropout1D(0.5)
torch.manual_seed(0)
first = layer(x, training=True)
torch.manual_seed(0)
second = layer(x, training=True)
print(f"1. one layer, torch.manual_seed(0) before each of two calls: same mask = {torch.equal(first, second)} "
      "(by design: keras' own seed generator)")
k.utils.set_random_seed(7)
a = k.layers.SpatialDropout1D(0.5)(x, training=True)
k.utils.set_random_seed(7)
b = k.layers.SpatialDropout1D(0.5)(x, training=True)
print(f"   keras.utils.set_random_seed(7) before building each layer: same mask = {torch.equal(a, b)} (keras' way)")
random.seed(1)
one = k.layers.SpatialDropout1D(0.5)
random.seed(1)
other = k.layers.SpatialDropout1D(0.5)
same = all(torch.equal(one(x, training=True), other(x, training=True)) for _ in range(10))
print(f"2. two layers built after random.seed(1): the same 10 masks = {same}")
masks = {bytes((layer(x, training=True)[:, 0, :] != 0).flatten().numpy()) for _ in range(calls)}
print(f"3. one layer, {calls} calls, 64 channel decisions each: {calls - len(masks)} repeated masks "
      f"(a repeat among independent masks has probability about {calls**2 / 2 / 2**64:.1e})")
if len(masks) < calls:
    findings.append(f"one keras SpatialDropout1D layer repeated a mask within {calls} calls")
try:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    seeds: list[int] = []

    @settings(max_examples=5, database=None)
    @given(st.integers(0, 100))
    def build(n: int) -> None:
        seeds.append(int(k.layers.SpatialDropout1D(0.5).seed_generator.state.value[0]))

    build()
    print(f"4. with Hypothesis: the initial seeds of layers built in 5 examples: {seeds} (one value: Hypothesis sets "
          "Python's random to one state per example)")
except ImportError:
    print("4. hypothesis is not installed: skipped")
verdict(findings)
