"""Implementations that misbehave at the call level, for the plugin's own tests."""

import time

import torch


def raises(x, p=0.5, training=True):
    raise RuntimeError("kernel launch failed")


def returns_list(x, p=0.5, training=True):
    return x.tolist()


def hangs(x, p=0.5, training=True):
    while True:
        time.sleep(0.01)


def fine(x, p=0.5, training=True):
    return torch.nn.functional.dropout(x, p, training)
