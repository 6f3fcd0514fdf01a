"""Implementations that misbehave at the call or process level, for the gate's own tests.

Each one does what a broken kernel or a careless wrapper does to the process around it:
raise, hang (in Python, or blocked in C with signals masked), abort, segfault, end the
process, change torch's global state, return the wrong type, flood stdout.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time

import torch


def fine(x, p=0.5, training=True):
    return torch.nn.functional.dropout(x, p, training)


def raises(x, p=0.5, training=True):
    raise RuntimeError("kernel launch failed")


def returns_list(x, p=0.5, training=True):
    return x.tolist()


def returns_numpy(x, p=0.5, training=True):
    return torch.nn.functional.dropout(x, p, training).numpy()


def loops_forever(x, p=0.5, training=True):
    """A Python loop that never ends (an in-process alarm could interrupt it)."""
    while True:
        pass


def sleeps_in_c(x, p=0.5, training=True):
    """Blocks in C with SIGALRM and SIGINT masked: nothing inside the process can interrupt it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM, signal.SIGINT})
    ctypes.CDLL(None).sleep(1000)
    return x


def hangs(x, p=0.5, training=True):
    while True:
        time.sleep(0.01)


def never_drops(x, p=0.5, training=True):
    """Returns x in training mode too (a layer whose forward wants `training`, left at its default)."""
    return x.clone()


def raises_keyboard_interrupt(x, p=0.5, training=True):
    """A kernel wrapper that turns its own timeout into KeyboardInterrupt (seen in the wild)."""
    raise KeyboardInterrupt


def aborts(x, p=0.5, training=True):
    os.abort()


def segfaults(x, p=0.5, training=True):
    ctypes.string_at(0)  # reads address 0: SIGSEGV


def exits_0(x, p=0.5, training=True):
    """Ends the process with status 0 in the middle of a call (os._exit: no cleanup, no exception)."""
    os._exit(0)


def exits_3(x, p=0.5, training=True):
    os._exit(3)


def sys_exit_3(x, p=0.5, training=True):
    """Raises SystemExit(3): a call that tries to end the program."""
    sys.exit(3)


def disables_grad(x, p=0.5, training=True):
    torch.set_grad_enabled(False)
    return torch.nn.functional.dropout(x, p, training)


def sets_default_dtype(x, p=0.5, training=True):
    torch.set_default_dtype(torch.float64)
    return torch.nn.functional.dropout(x, p, training)


def sets_threads(x, p=0.5, training=True):
    torch.set_num_threads(1 if torch.get_num_threads() != 1 else 2)
    return torch.nn.functional.dropout(x, p, training)


_PRINTED = [False]


def prints_megabytes(x, p=0.5, training=True, inplace=False):
    """Prints 4 MB on its first call and a line on every other (debug output left in)."""
    if not _PRINTED[0]:
        _PRINTED[0] = True
        sys.stdout.write("x" * (4 << 20) + "\n")
    print("dropout called", tuple(x.shape))
    return torch.nn.functional.dropout(x, p, training, inplace)


def nan_where_scale_overflows(x, p=0.5, training=True, inplace=False):
    """Correct dropout, except NaN for dropped float16 elements where 1/(1-p) overflows float16
    (as aten.native_dropout on the CPU): the corner the suite reports and does not judge."""
    y = torch.nn.functional.dropout(x, p, training, inplace)
    if x.dtype == torch.float16 and 0 < 1 - p < 1 / 65504 and training:
        y = y.masked_fill(y == 0, float("nan"))
        if inplace:
            return x.copy_(y)
    return y




def nan_where_dropped(x, p=0.5, training=True):
    """NaN for every dropped element (inf * 0 in a multiply-by-mask kernel), at every p."""
    y = torch.nn.functional.dropout(x, p, training)
    return y.masked_fill(y == 0, float("nan")) if training and p > 0 else y
