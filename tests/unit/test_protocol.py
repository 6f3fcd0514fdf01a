"""dropout_verify.protocol and how targets read it: declarations, the seed caller, dtypes, training flags."""

from __future__ import annotations

import pytest
import torch

from dropout_verify.options import UsageError, parse_value
from dropout_verify.protocol import Declaration, declaration_of, declare
from dropout_verify.seeds import SeedStream
from dropout_verify.specs import SpecError
from dropout_verify.targets import compiled, resolve_target


def test_declare_validates_every_choice() -> None:
    with pytest.raises(ValueError, match="randomness='philox'"):
        Declaration(randomness="philox")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'int8'"):
        Declaration(dtypes=("float16", "int8"))
    with pytest.raises(ValueError, match="offset_step=0"):
        Declaration(offset_step=0)
    with pytest.raises(TypeError, match="unknown field"):
        declare(lambda x, p: x, randomnes="seed")


def test_declare_keeps_earlier_fields_and_reads_the_older_attributes() -> None:
    def f(x: torch.Tensor, p: float) -> torch.Tensor:
        return x

    declare(f, kind="channel2d")
    declare(f, dtypes=["float16"])
    assert declaration_of(f) == Declaration(kind="channel2d", dtypes=("float16",))

    def g(x: torch.Tensor, p: float) -> torch.Tensor:
        return x

    g.dropout_kind = "alpha"  # type: ignore[attr-defined]
    assert declaration_of(g).kind == "alpha"


def test_compiled_keeps_the_whole_declaration() -> None:
    from dropout_verify.attention import sdpa_math

    wrapped = compiled(sdpa_math)
    assert declaration_of(wrapped) == declaration_of(sdpa_math)
    assert declaration_of(wrapped).attend is not None


def test_a_seed_stream_advances_its_offset_and_restarts_when_the_global_rng_moves() -> None:
    stream = SeedStream(with_offset=True, step=4)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        first = stream.next(10)
        assert stream.next(10) == (first[0], 12)  # 10 elements rounded up to 4s
        assert stream.next(1) == (first[0], 24)
        torch.manual_seed(7)  # the example replays: the same seed, offset 0
        assert stream.next(10) == first
        torch.rand(1)  # the suite drew from the global RNG: a new stream
        assert stream.next(10)[1] == 0
    fresh = SeedStream(with_offset=False)
    with torch.random.fork_rng():
        torch.manual_seed(7)
        seeds = {fresh.next(10) for _ in range(5)}
    assert len(seeds) == 5 and all(offset == 0 for _, offset in seeds)


def test_a_seed_kernel_gets_its_seed_and_offset_from_the_suite() -> None:
    target = resolve_target("tests.seeded_kernels:seeded_dropout")
    assert target.seeds is not None
    x = torch.ones(1000)
    with torch.random.fork_rng():
        torch.manual_seed(3)
        a, b = target.call(x, 0.5), target.call(x, 0.5)
        torch.manual_seed(3)
        again = target.call(x, 0.5)
    assert torch.equal(a, again) and not torch.equal(a, b)
    assert "seed= and offset= per call" in target.summary()


def test_a_seed_declaration_needs_the_keywords() -> None:
    with pytest.raises(SpecError, match="no offset= keyword"):
        resolve_target("tests.unit.test_protocol:seed_only_kernel")


def seed_only_kernel(x: torch.Tensor, p: float, seed: int = 0) -> torch.Tensor:
    return x


declare(seed_only_kernel, randomness="seed")


class ForwardTakesTraining(torch.nn.Module):
    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor, training: bool = False) -> torch.Tensor:
        return torch.nn.functional.dropout(x, self.p, training=training)


def test_a_module_whose_forward_takes_training_gets_it_as_an_argument() -> None:
    target = resolve_target("tests.unit.test_protocol:ForwardTakesTraining")
    assert target.training_flag == "argument"
    y = target.call(torch.ones(4096), 0.5, training=True)
    assert bool((y == 0).any()), "training=True must reach forward"
    assert torch.equal(target.call(torch.ones(8), 0.5, training=False), torch.ones(8))
    assert resolve_target("torch.nn:Dropout").training_flag == "module"


def test_dtype_option_and_declared_dtypes_narrow_what_is_verified() -> None:
    assert parse_value("dtype", "torch.bfloat16, float16", {}) == "bfloat16,float16"
    with pytest.raises(UsageError, match="'int8'"):
        parse_value("dtype", "int8", {})
    target = resolve_target("torch.nn.functional:dropout", dtypes=("bfloat16",))
    assert target.dtypes == ("bfloat16",) and target.verified_dtype("float64") == "bfloat16"
    assert "dtypes bfloat16" in target.summary()
    with pytest.raises(SpecError, match="leaves nothing to verify"):
        resolve_target("tests.unit.test_protocol:seed_only_kernel_f16", dtypes=("float64",))


def seed_only_kernel_f16(x: torch.Tensor, p: float) -> torch.Tensor:
    return x


declare(seed_only_kernel_f16, dtypes=("float16",))
