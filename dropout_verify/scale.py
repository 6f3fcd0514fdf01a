"""The scale tier: one call of 2^24 units at every level, and one above 2^31 elements at thorough
(and at standard on a GPU).

Kernel bugs live where the suite's other calls never go: past one wave of a GPU (about 2^20
elements), in a grid-stride loop's later passes, past 2^31 elements (int32 indices). These calls
are made once per implementation and shared by the properties that judge them
(``properties/test_scale.py``: keep rate of every block, lags at every power of two) and by the
run's mask windows (``masks``).

A call is made on an input built chunk by chunk (no float64 copy of it), checked against C2
chunk by chunk, and its unit decisions kept packed in bits (2^31 units: 256 MiB). The input of
the call above 2^31 is bfloat16 (2 bytes an element): the call needs about 4 copies of it in
memory (the input, the output and two temporaries of the implementation: F.dropout on the CPU
uses one) plus 1 GiB, 17 GiB for 2^31 + 2^20 elements. The memory available is read before
the call; when it is short, the call is not made and the run says so (a note in the verdict
table and report.json), never a silent pass.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from .harness import SUPPORT, Statement, seeded, violation
from .kinds import Kind
from .masks import Origin
from .run import Run
from .stats.blocks import popcount
from .strategies import Case
from .targets import ImplementationFailure, Target
from .values import FLOAT32_P_NOTE, SupportCheck, unjudged

__all__ = ["HUGE_ELEMENTS", "SCALE_UNITS", "ScaleSample", "available_memory", "memory_needed", "scale_cases",
           "scale_lag_counts", "scale_sample"]

SCALE_UNITS = 1 << 24  # the designed call of every level
HUGE_ELEMENTS = (1 << 31) + (1 << 20)  # the call at thorough: past int32 indices
CHUNK = 1 << 22  # elements built, checked and packed at a time
SCALE_P = 0.1  # a training dropout's rate
CALL_ALLOWANCE_UNITS = 1 << 27  # a call of n elements may take n / 2^27 times the call time limit


@dataclass
class ScaleSample:
    """One large call's unit decisions, in the order a kernel draws them, packed in bits."""

    case: Case
    packed: np.ndarray  # np.packbits of the unit decisions (big bit order)
    units: int
    kept: int
    seconds: float  # the call itself

    def bits(self, start: int, stop: int) -> np.ndarray:
        """The decisions of units start .. stop (start a multiple of 8) as a bool array."""
        return np.unpackbits(self.packed[start // 8 : (stop + 7) // 8], count=stop - start).astype(bool)


def scale_cases(kind: Kind) -> list[Case]:
    """The 2^24-unit call (every level) and the call above 2^31 elements (thorough; standard on a GPU), both
    contiguous bfloat16 (the C2 check looks its values up by x's 16 bits) at p = 0.1, one
    element per unit. Whole-call kinds make one decision a
    call: no large unit tensor (n/a)."""
    if kind.one_decision_per_call:
        return []
    found = [Case(kind.shape_for(SCALE_UNITS, rows=4096), "bfloat16", "contiguous", SCALE_P, 7001, 1.0, kind.name)]
    if kind.name != "attention":  # 2^31 attention weights: the math backend's q k^T alone is 8 GiB in float32
        found.append(Case(kind.shape_for(HUGE_ELEMENTS, rows=(1 << 16) + 32), "bfloat16", "contiguous", SCALE_P,
                          7002, 1.0, kind.name))
    return found


def memory_needed(case: Case) -> int:
    """Bytes the call needs: four copies of the input (input, output, two temporaries), 1 GiB more."""
    return 4 * case.numel * case.torch_dtype.itemsize + (1 << 30)


def available_memory(device: str) -> int | None:
    """Bytes available on ``device`` now (None: not known on this system)."""
    if torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _value_table(case: Case) -> torch.Tensor:
    """The 2^16 values a large input is drawn from: +-magnitude 10^u for 2^15 values of u evenly
    in [-1, 1), prepared for the kind (as Case.make_input's values), in the case's dtype."""
    decades = torch.arange(1 << 15, dtype=torch.float64) / (1 << 14) - 1
    magnitudes = case.magnitude * 10.0**decades
    signed = torch.stack([magnitudes, -magnitudes], dim=1).reshape(-1)  # index: 2 x decade + sign
    return case.the_kind.values.prepare(signed).to(case.torch_dtype)


def _make_input(case: Case, device: str) -> torch.Tensor:
    """The case's input, contiguous, drawn CHUNK elements at a time from ``_value_table``
    (deterministic in the seed; no float64 copy of a 2^31-element input): the table's 16-bit
    patterns gathered by numpy (a PCG64 stream seeded from the case)."""
    x = torch.empty(case.shape, dtype=case.torch_dtype, device=device)
    flat = x.view(-1)
    rng = np.random.Generator(np.random.PCG64(case.seed ^ 0x5EED))
    table = _value_table(case).view(torch.int16).numpy()
    for start in range(0, flat.numel(), CHUNK):
        size = min(CHUNK, flat.numel() - start)
        codes = rng.integers(0, table.size, size, dtype=np.uint16)
        flat[start : start + size] = torch.from_numpy(table[codes]).view(case.torch_dtype).to(device)
    return x


class _SupportTable:
    """C2 for a large input of a 2-byte dtype: ``values.SupportCheck``'s rule, computed once for
    each of the 2^16 values an element of x can hold and looked up by x's 16 bits. A value is
    accepted in [kept - tolerance, kept + tolerance] with both ends rounded outward to float32
    (the rule's interval, wider by less than a float32 rounding: no value of a 2-byte dtype lies
    in that margin but at a tie), or as the dropped value; elements outside go through the
    rule's rarer cases (overflow, p held as a float32) one by one."""

    def __init__(self, kind: Kind, dtype: torch.dtype, keep: float) -> None:
        patterns = torch.arange(1 << 16, dtype=torch.int32).to(torch.int16).view(dtype)  # index = the bits
        every = torch.where(torch.isfinite(patterns), patterns, torch.ones((), dtype=dtype))  # x is finite
        self.every = every
        self.check = SupportCheck(kind, every, keep)
        kept, tolerance = self.check.kept[0], self.check.tolerance[0].expand_as(every)
        self.low = _rounded((kept - tolerance).numpy(), down=True)
        self.high = _rounded((kept + tolerance).numpy(), down=False)
        dropped = self.check.dropped.expand_as(every)
        self.dropped_constant = float(dropped[0]) if bool((dropped == dropped[0]).all()) else None
        self.dropped_low = _rounded((dropped - self.check.dropped_tolerance).numpy(), down=True)
        self.dropped_high = _rounded((dropped + self.check.dropped_tolerance).numpy(), down=False)
        self.float32_p_only = False

    def bad(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        code = x.detach().contiguous().cpu().view(torch.int16).numpy().view(np.uint16).astype(np.intp)
        if y.dtype == torch.bfloat16:  # a bfloat16 is the top half of its float32: exact, and fast
            y32 = (y.detach().contiguous().cpu().view(torch.int16).numpy().astype(np.int32) << 16).view(np.float32)
        else:
            y32 = y.detach().to(torch.float32).cpu().numpy()
        ok = (y32 >= np.take(self.low, code)) & (y32 <= np.take(self.high, code))
        if self.check.exact_drop and self.dropped_constant is not None:
            ok |= y32 == self.dropped_constant
        else:
            ok |= (y32 >= np.take(self.dropped_low, code)) & (y32 <= np.take(self.dropped_high, code))
        outside = np.flatnonzero(~ok)
        if outside.size:  # the rule's rarer cases, on those elements alone
            values = self.every[torch.from_numpy(code[outside])]
            rule = SupportCheck(self.check.kind, values, self.check.keep)
            still = rule.bad(y.detach().cpu().reshape(-1)[torch.from_numpy(outside)]).numpy()
            self.float32_p_only |= rule.float32_p_only
            ok[outside] = ~still
        return torch.from_numpy(~ok)


def _rounded(bounds: np.ndarray, *, down: bool) -> np.ndarray:
    """float64 bounds as float32, rounded outward (down for a lower end, up for an upper one;
    past float32's range: an infinity, outward too)."""
    with np.errstate(over="ignore"):
        narrow = bounds.astype(np.float32)
    if down:
        return np.where(narrow.astype(np.float64) > bounds, np.nextafter(narrow, np.float32(-np.inf)), narrow)
    return np.where(narrow.astype(np.float64) < bounds, np.nextafter(narrow, np.float32(np.inf)), narrow)


def scale_sample(run: Run, target: Target, case: Case, statement: Statement) -> ScaleSample | None:
    """The large call of ``case`` for ``target``: made once a run and kept (``Run.scale``); None
    when the memory it needs is not available (noted). Its outputs are checked against C2 and
    its mask is added to the run's windows, like every statistical call's."""
    key = (target.spec, case)
    cached = run.scale.get(key)
    if cached is not None:
        return cached
    needed, available = memory_needed(case), available_memory(run.device)
    if available is None or available < needed:
        run.note(f"{target.spec}: the call of {case.numel:,} elements ({case.describe()}) was not made: it needs "
                 f"about {needed / 2**30:.1f} GiB, " + ("and the memory available is not known"
                                                         if available is None else
                                                         f"{available / 2**30:.1f} GiB are available")
                 + f"; {run.test.name} not checked at this size")
        return None
    for other in [k for k in run.scale if k[0] != target.spec]:  # another implementation's: done with
        del run.scale[other]
    kind = target.kind
    keep = target.keep_probability(case.p)
    x = _make_input(case, run.device)
    limit = target.call_timeout * max(1.0, case.numel / CALL_ALLOWANCE_UNITS)
    with seeded(run, case.seed), torch.no_grad():
        started = time.perf_counter()
        y = target.call(x, case.p, limit_s=limit)
        seconds = time.perf_counter() - started
    if y.shape != x.shape or y.device != x.device:
        raise ImplementationFailure(f"{target.spec} returned shape {tuple(y.shape)} on {y.device} for an input of "
                                    f"shape {tuple(x.shape)} on {x.device}")
    flat_x, flat_y = x.reshape(-1), y.reshape(-1)
    units = kind.unit_count(tuple(x.shape))
    if units != flat_x.numel():  # scale cases have one element per unit
        raise AssertionError(f"a scale case must have one element per unit: {case.describe()}")
    table = _SupportTable(kind, x.dtype, keep) if unjudged(kind, x.dtype, keep) is None else None
    packed = np.empty((units + 7) // 8, dtype=np.uint8)
    kept = 0
    for start in range(0, units, CHUNK):
        stop = min(units, start + CHUNK)
        part_x, part_y = flat_x[start:stop], flat_y[start:stop]
        if table is not None:
            bad = table.bad(part_x, part_y)
            if bool(bad.any()):
                first = start + int(torch.nonzero(bad)[0])
                raise violation(run, SUPPORT, target, case=case,
                                expected=f"every element the kept or the dropped value ({kind.values.describe()})",
                                seen=f"element {first:,} of the call of {units:,} elements is "
                                     f"{float(flat_y[first]):.6g} for x = {float(flat_x[first]):.6g} "
                                     f"({int(bad.sum()):,} such elements in units {start:,} to {stop:,})",
                                extra=f"(found while {statement} ran: every call a statistical property "
                                      "makes is checked against C2 first)")
        decisions = kind.values.keep_indicator(part_y, keep).cpu().numpy()
        kept += int(np.count_nonzero(decisions))
        packed[start // 8 : (stop + 7) // 8] = np.packbits(decisions)
    del x, y, flat_x, flat_y
    if table is not None and table.float32_p_only:
        run.note(f"{target.spec}: {FLOAT32_P_NOTE}")
    sample = ScaleSample(case, packed, units, kept, seconds)
    _add_windows(run, target, sample, keep)
    run.scale[key] = sample
    return sample


def _add_windows(run: Run, target: Target, sample: ScaleSample, keep: float) -> None:
    """The call's mask in the run's windows, a chunk (plus a window's look-ahead) at a time."""
    registry = run.masks_for(target.spec)
    window = registry.window(keep, sample.units)
    if window is None:
        return
    origin = Origin(sample.case.seed, run.test.name, sample.case.describe())
    ahead = window.units + window.run + 8
    for start in range(0, sample.units, CHUNK):
        stop = min(sample.units, start + CHUNK)
        bits = sample.bits(start, min(sample.units, stop + ahead))
        registry.add_stretch(keep, origin, 0, bits, start, stop, sample.units)


def scale_lag_counts(sample: ScaleSample, lag: int) -> tuple[int, int, int, int]:
    """(pairs, firsts kept, seconds kept, both kept) of the pairs (i, i + lag) of the call's
    units in draw order, from the packed bits a chunk at a time."""
    units, packed = sample.units, sample.packed
    pairs = units - lag
    both = 0
    byte_lag, bit_lag = divmod(lag, 8)
    chunk_bytes = CHUNK // 8
    total_bytes = packed.size
    for start in range(0, total_bytes - byte_lag, chunk_bytes):
        stop = min(total_bytes - byte_lag, start + chunk_bytes)
        here = packed[start:stop]
        ahead = packed[start + byte_lag : stop + byte_lag + 1]
        if bit_lag:
            high = ahead[: stop - start].astype(np.uint16) << bit_lag
            low = np.zeros(stop - start, dtype=np.uint16)
            low[: ahead.size - 1] = ahead[1:] >> (8 - bit_lag)
            shifted = ((high | low) & 0xFF).astype(np.uint8)
        else:
            shifted = ahead[: stop - start]
        both += int(popcount_sum(here & shifted))
    head = _count(sample, 0, lag)
    tail = _count(sample, units - lag, units)
    return pairs, sample.kept - tail, sample.kept - head, both


def popcount_sum(packed: np.ndarray) -> int:
    """Set bits of a packed array."""
    return int(popcount(packed).sum(dtype=np.int64))


def _count(sample: ScaleSample, start: int, stop: int) -> int:
    """Kept units among units start .. stop: whole bytes by popcount, the ends bit by bit."""
    if stop <= start:
        return 0
    first_full, last_full = -(-start // 8), stop // 8
    if first_full >= last_full:
        aligned = start - start % 8
        return int(np.count_nonzero(sample.bits(aligned, stop)[start - aligned:]))
    count = popcount_sum(sample.packed[first_full:last_full])
    if start % 8:
        count += int(np.count_nonzero(sample.bits(start - start % 8, first_full * 8)[start % 8:]))
    if stop % 8:
        count += int(np.count_nonzero(sample.bits(last_full * 8, stop)))
    return count


