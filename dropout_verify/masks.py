"""Every mask an implementation produced in a run, cut in windows, to find reuse anywhere (C6).

A kernel that reuses random numbers (an RNG offset not advanced, advanced too little, wrapped,
shared by two dropout sites, a seed baked into a graph) repeats a stretch of an earlier mask:
in another call, at another offset, in a mask of another shape, or later in the same mask. The
run keeps one :class:`MaskRegistry` per implementation (``run.Run.masks_for``); the sampler adds
every mask of every statistical call (``harness.sample_units``), in the order a kernel draws
(memory order for elementwise kinds), and ``test_no_repeated_mask`` reads the repeats at the end.

Windows
-------
Masks are compared by windows of w units at a keep rate q, w the least multiple of 64 with

    max(q, 1-q)^w <= 2^-100  (about 1e-30),   w = 128 at q = 0.5, 1408 at q = 0.05 or 0.95.

That bounds the chance that two windows at any two different places coincide, independent
windows (whose chance is (q^2 + (1-q)^2)^w, smaller) and overlapping windows of one mask alike:
two windows of one sequence shifted by d < w coincide only if the sequence is constant along
each of its d residue chains, each chain of l units having probability q^l + (1-q)^l <=
max(q, 1-q)^(l-1), and the chains' l - 1 add up to w. Over M window positions of a keep rate,
a chance repeat has probability at most M^2 / 2 x 2^-100: below 1e-11 for M = 2^31, so a repeat
found is reuse, not chance.

Anchors
-------
Hashing the window at every position of every mask would cost a pass per position. Windows are
hashed at content-defined *anchors*: a unit of the rarer outcome followed by t units of the
other (t chosen so that an anchor falls once in about 256 units). A copied stretch carries its
anchors with it, wherever it lands, so a stretch reused at any offset shows the same windows at
the same anchors: a reuse of L >= w + 8 x 256 units holds an anchor whose window fits in it with
probability about 1 - e^-8 = 0.9997 (anchors are one in about 256 positions of a random mask;
the power benchmark measures it), and an exact repeat of a whole mask is always found (a mask of
4096 units or more with no anchor is hashed whole). Windows are
compared by two 64-bit hashes (a collision between different windows: about 2^-128 per pair).

What is not a repeat
--------------------
The same example replayed (the same call of the same example at the same unit) and examples
seeded alike: torch's CPU generator takes the seed modulo 2^32, so two examples whose seeds agree
there draw the same stream, and one input that starts where another's earlier call started
legitimately shows the same units. Every other repeat, within an example or across examples,
is a finding.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field

import numpy as np
import torch

__all__ = ["ANCHOR_SPACING", "HASHED_UNITS", "MaskRegistry", "Window", "memory_order", "memory_sequence",
           "window_for"]

HASHED_UNITS = 4096  # masks with no anchor are hashed whole from this size
ANCHOR_SPACING = 256  # an anchor falls once in about this many units of a random mask
CHANCE_BITS = 100  # a window coincides by chance with probability <= 2^-100
RATE_RANGE = (0.05, 0.95)  # masks of a keep rate outside are not cut in windows (w grows past 1400)
REPORTED = 20
_SEED_BITS = 32  # torch's CPU generator reads the low 32 bits of a seed


def memory_order(x: torch.Tensor) -> list[int]:
    """x's dimensions, outermost in memory first (broadcast, zero-stride dimensions last)."""

    def rank(d: int) -> tuple[bool, int]:
        return x.stride(d) != 0, x.stride(d)

    return sorted(range(x.dim()), key=rank, reverse=True)


def memory_sequence(keeps: torch.Tensor, x: torch.Tensor, units_are_elements: bool) -> torch.Tensor:
    """Unit decisions of a batch (calls, *unit shape) flattened per call, in the order a kernel
    draws them: memory order when every element is a unit, the unit tensor's logical order else."""
    calls = keeps.shape[0]
    if keeps.dim() == 1:
        return keeps.reshape(calls, 1)
    if units_are_elements:
        keeps = keeps.permute(0, *(d + 1 for d in memory_order(x)))
    return keeps.reshape(calls, -1)


@dataclass(frozen=True)
class Window:
    """How masks of one keep rate are cut: w units per window, anchors after a run of t."""

    keep: float
    units: int  # w, a multiple of 64
    run: int  # t: an anchor is a unit of the rarer outcome followed by t units of the other
    rarer: bool  # the rarer outcome (True: kept)

    @property
    def log_chance(self) -> float:
        """log of the chance that two windows at different places coincide (<= 2^-100)."""
        return self.units * math.log(max(self.keep, 1 - self.keep))


def window_for(keep: float) -> Window | None:
    """The window of keep rate ``keep``; None outside [0.05, 0.95] (see the module docstring)."""
    if not RATE_RANGE[0] <= keep <= RATE_RANGE[1]:
        return None
    units = 64 * math.ceil(CHANCE_BITS / -math.log2(max(keep, 1 - keep)) / 64)
    rarer_rate = min(keep, 1 - keep)
    # t: the rarer outcome followed by t of the other has probability r (1-r)^t <= 1/256.
    run = max(0, math.ceil(math.log(1 / (ANCHOR_SPACING * rarer_rate)) / math.log(1 - rarer_rate)))
    return Window(keep, units, run, keep < 0.5)


def _pack(flat: np.ndarray) -> np.ndarray:
    """A bool array as 64-bit words, bit j of word i holding unit 64 i + j; two zero words more."""
    size = 8 * ((flat.size + 63) // 64 + 2)
    packed = np.zeros(size, dtype=np.uint8)
    packed[: (flat.size + 7) // 8] = np.packbits(flat, bitorder="little")
    return packed.view("<u8")


def _shifted(words: np.ndarray, k: int) -> np.ndarray:
    """Words whose unit i is unit i + k of ``words`` (zeros past the end)."""
    whole, part = divmod(k, 64)
    out = np.zeros_like(words)
    if whole >= words.size:
        return out
    high = words[whole:]
    if part == 0:
        out[: high.size] = high
        return out
    out[: high.size] = high >> np.uint64(part)
    out[: high.size - 1] |= high[1:] << np.uint64(64 - part)
    return out


def _all_within(words: np.ndarray, length: int) -> np.ndarray:
    """Unit i set when units i .. i + length - 1 all are (64 units a word operation): the run of
    ``length`` built by doubling spans."""
    if length <= 0:
        return np.full_like(words, np.uint64(0xFFFFFFFFFFFFFFFF))
    result: np.ndarray | None = None
    offset, span, power = 0, 1, words
    while True:
        if length & 1:
            part = _shifted(power, offset)
            result = part if result is None else result & part
            offset += span
        length >>= 1
        if not length:
            break
        power = power & _shifted(power, span)
        span *= 2
    assert result is not None
    return result


_C1, _C2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (uint64 arithmetic wraps)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _C1
    x = x ^ (x >> np.uint64(27))
    x = x * _C2
    return np.asarray(x ^ (x >> np.uint64(31)))


def _keys(words: int, salt: int) -> np.ndarray:
    return _mix((np.arange(words, dtype=np.uint64) + np.uint64(salt)) * np.uint64(0x9E3779B97F4A7C15))


def _hashes(words: np.ndarray, positions: np.ndarray, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Two 64-bit hashes of the w units starting at each position (``words``: the mask packed by
    ``_pack``): the window's units gathered in 64-bit words, each word mixed with its own key,
    summed, mixed again."""
    count = window.units // 64
    base = (positions >> 6)[:, None] + np.arange(count)[None, :]
    shift = (positions & 63).astype(np.uint64)[:, None]
    low, high = words[base], words[base + 1]
    rest = np.where(shift == 0, np.uint64(0), high << ((np.uint64(64) - shift) & np.uint64(63)))
    window_words = (low >> shift) | rest
    first = _mix(np.asarray(np.sum(_mix(window_words ^ _keys(count, 1)), axis=1, dtype=np.uint64)))
    second = _mix(np.asarray(np.sum(_mix(window_words ^ _keys(count, 2)), axis=1, dtype=np.uint64)))
    return first, second


def _anchors(words: np.ndarray, units: int, window: Window) -> np.ndarray:
    """Positions (below ``units``) of the anchors of a packed mask, before any check that their
    window fits: a unit of the rarer outcome followed by ``window.run`` of the other."""
    rarer = words if window.rarer else ~words
    found = rarer & _shifted(_all_within(~rarer, window.run), 1)
    full, rest = divmod(units, 64)
    found[full + (1 if rest else 0):] = 0
    if rest:
        found[full] &= np.uint64((1 << rest) - 1)
    hits = np.flatnonzero(found)
    if hits.size == 0:
        return hits
    bits = np.unpackbits(found[hits].view(np.uint8), bitorder="little").reshape(-1, 64)
    row, column = np.nonzero(bits)
    return np.asarray(hits[row] * 64 + column, dtype=np.int64)


@dataclass(frozen=True)
class Origin:
    """Which example a mask came from: its seed, its test and its case."""

    seed: int
    test: str
    example: str


@dataclass
class _Rate:
    """The windows hashed at one keep rate."""

    window: Window
    first: list[np.ndarray] = field(default_factory=list)
    second: list[np.ndarray] = field(default_factory=list)
    origin: list[np.ndarray] = field(default_factory=list)
    call: list[np.ndarray] = field(default_factory=list)
    position: list[np.ndarray] = field(default_factory=list)
    positions_possible: int = 0  # window positions of every mask added (the chance bound counts them all)


class MaskRegistry:
    """The windows of an implementation's masks in one run, and the repeats among them."""

    def __init__(self) -> None:
        self.rates: dict[float, _Rate] = {}
        self.origins: list[Origin] = []
        self._origin_index: dict[Origin, int] = {}
        self.whole: dict[tuple[int, float], dict[bytes, tuple[int, int]]] = {}  # masks with no anchor
        self.whole_repeats: list[str] = []
        self.masks = 0
        self.units = 0

    def window(self, keep: float, units: int) -> Window | None:
        """The window masks of ``units`` units at ``keep`` are cut in; None if none fits."""
        window = window_for(keep)
        return window if window is not None and units >= window.units + window.run + 1 else None

    def _rate(self, window: Window) -> _Rate:
        return self.rates.setdefault(window.keep, _Rate(window))

    def _origin(self, origin: Origin) -> int:
        index = self._origin_index.get(origin)
        if index is None:
            index = self._origin_index[origin] = len(self.origins)
            self.origins.append(origin)
        return index

    def add(self, keep: float, origin: Origin, first_call: int, rows: np.ndarray,
            call_numbers: np.ndarray | None = None) -> None:
        """Add the masks of calls first_call, first_call + 1, ... (or of ``call_numbers``, one a
        row): ``rows`` is a bool array (calls, units), each row one call's units in draw order."""
        calls, units = rows.shape
        window = self.window(keep, units)
        if window is None:
            return
        numbers = np.arange(first_call, first_call + calls) if call_numbers is None else call_numbers
        words = _pack(np.ascontiguousarray(rows).reshape(-1))
        found = _anchors(words, calls * units, window)
        found = found[(found % units) + max(window.units, window.run + 1) <= units]
        self._record(window, origin, words, found, numbers[found // units], found % units)
        rate = self._rate(window)
        rate.positions_possible += calls * (units - window.units + 1)
        self.masks += calls
        self.units += calls * units
        if units >= HASHED_UNITS:
            bare = np.setdiff1d(np.arange(calls), found // units)
            for row in bare.tolist():  # no anchor (rare in a mask this large): the whole mask, exactly
                self._whole(keep, origin, int(numbers[row]), rows[row])

    def add_stretch(self, keep: float, origin: Origin, call: int, bits: np.ndarray, offset: int, stop: int,
                    length: int) -> None:
        """Add part of one long mask (a call too large to hold unpacked): ``bits`` holds its units
        offset .. offset + bits.size (the part plus a look-ahead of at least w + t units, or to the
        mask's end); anchors are taken at units offset .. stop. ``length``: the whole mask's units."""
        window = self.window(keep, length)
        if window is None:
            return
        words = _pack(bits)
        found = _anchors(words, bits.size, window)
        found = found[(found < stop - offset) & (offset + found + max(window.units, window.run + 1) <= length)]
        self._record(window, origin, words, found, np.full(found.size, call), found + offset)
        rate = self._rate(window)
        rate.positions_possible += max(0, min(stop, length - window.units + 1) - offset)
        if offset == 0:
            self.masks += 1
            self.units += length

    def _record(self, window: Window, origin: Origin, words: np.ndarray, found: np.ndarray, calls: np.ndarray,
                positions: np.ndarray) -> None:
        if found.size == 0:
            return
        first, second = _hashes(words, found, window)
        rate = self._rate(window)
        rate.first.append(first)
        rate.second.append(second)
        rate.origin.append(np.full(found.size, self._origin(origin), dtype=np.int32))
        rate.call.append(calls.astype(np.int64))
        rate.position.append(positions.astype(np.int64))

    def _whole(self, keep: float, origin: Origin, call: int, row: np.ndarray) -> None:
        digest = hashlib.blake2b(np.packbits(row).tobytes(), digest_size=16).digest()
        known = self.whole.setdefault((row.size, keep), {})
        mine = (self._origin(origin), call)
        earlier = known.setdefault(digest, mine)
        if earlier != mine and self._counts(earlier[0], earlier[1], 0, mine[0], mine[1], 0):
            self.whole_repeats.append(f"call {call} of {self._name(mine[0])} repeats the whole mask of call "
                                      f"{earlier[1]} of {self._name(earlier[0])}: {row.size} units at keep rate "
                                      f"{keep:.6g}")

    def _counts(self, origin_a: int, call_a: int, position_a: int, origin_b: int, call_b: int,
                position_b: int) -> bool:
        """Whether two equal windows are a finding (see the module docstring)."""
        if origin_a == origin_b:
            return (call_a, position_a) != (call_b, position_b)  # else: the same example replayed
        mask = (1 << _SEED_BITS) - 1
        return (self.origins[origin_a].seed & mask) != (self.origins[origin_b].seed & mask)

    def _name(self, origin: int) -> str:
        found = self.origins[origin]
        shape = found.example.split(" dtype=")[0]
        return f"seed {found.seed} ({found.test}, {shape})"

    @property
    def log_chance(self) -> float:
        """log of a bound on the chance of any repeat among the windows of a correct dropout:
        M^2 / 2 x max(q, 1-q)^w over each keep rate's M window positions, plus hash collisions."""
        terms = [2 * math.log(max(rate.positions_possible, 1)) - math.log(2) + rate.window.log_chance
                 for rate in self.rates.values()]
        anchors = sum(sum(a.size for a in rate.first) for rate in self.rates.values())
        terms.append(2 * math.log(max(anchors, 1)) - 128 * math.log(2))
        return float(np.logaddexp.reduce(terms))

    @property
    def repeats(self) -> list[str]:
        """Every repeat found (up to 20 described), windows and whole masks."""
        found = list(self.whole_repeats[:REPORTED])
        for rate in self.rates.values():
            if len(found) >= REPORTED or not rate.first:
                continue
            first, second = np.concatenate(rate.first), np.concatenate(rate.second)
            origin, call, position = (np.concatenate(a) for a in (rate.origin, rate.call, rate.position))
            order = np.argsort(first, kind="stable")  # equal windows are adjacent; the second hash confirms
            key_first = first[order]
            same = key_first[1:] == key_first[:-1]
            starts = np.flatnonzero(same & ~np.concatenate([[False], same[:-1]]))
            for start in starts.tolist():
                stop = start + 1
                while stop < same.size and same[stop]:
                    stop += 1
                group = order[start : stop + 1]
                text = self._describe(rate.window, group, origin, call, position, second)
                if text:
                    found.append(text)
                if len(found) >= REPORTED:
                    break
        return found

    def _describe(self, window: Window, group: np.ndarray, origin: np.ndarray, call: np.ndarray,
                  position: np.ndarray, second: np.ndarray) -> str:
        """The first pair of a group of equal windows that is a finding, in words ("" if none)."""
        entries = [(int(origin[i]), int(call[i]), int(position[i]), int(second[i])) for i in group.tolist()]
        for later_index, later in enumerate(entries):
            for earlier in entries[:later_index]:
                if earlier[3] == later[3] and self._counts(*earlier[:3], *later[:3]):
                    a, b = sorted([earlier[:3], later[:3]])
                    where = (f"unit {b[2]} of call {b[1]} of {self._name(b[0])} starts the {window.units}-unit "
                             f"window at unit {a[2]} of call {a[1]} of ")
                    where += "the same example" if a[0] == b[0] else self._name(a[0])
                    return where + f" (keep rate {window.keep:.6g})"
        return ""
