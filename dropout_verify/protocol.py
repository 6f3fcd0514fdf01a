"""The target protocol: what an implementation declares about itself, in one typed record.

The suite calls an implementation as ``f(x, p, ...)`` (or builds a module class with p) and
infers the rest from its signature. What a signature cannot say, an implementation declares::

    from dropout_verify.protocol import declare

    declare(my_kernel, kind="element", randomness="seed", dtypes=("float16", "bfloat16"))

Each field of :class:`Declaration`:

* ``kind``: the dropout family member (``dropout_verify.kinds``; default: elementwise).
* ``probability``: ``"drop"`` (the argument is p) or ``"keep"`` (it is 1 - p).
* ``training``: how the training flag reaches it. ``"keyword"``: a ``training=`` (or
  ``train=``) keyword; ``"module"``: a module class switched with ``.train()``/``.eval()``;
  ``"argument"``: a module class whose ``forward`` takes ``training=`` (keras layers); ``"none"``:
  it always drops (the suite then checks no evaluation mode). Default: read from the signature.
* ``randomness``: where its random numbers come from. ``"global"``: torch's global RNG;
  ``"generator"``: a ``generator=`` keyword (also read from the signature); ``"seed"``: an
  explicit seed (and offset) per call, as a Triton or CUDA kernel takes them. For ``"seed"``
  the suite is the caller: it draws the seed from torch's global RNG, which its examples seed,
  and advances the offset by the elements of each call, as PyTorch's Philox generator does.
  So a kernel is verified as its caller uses it, and a seeded example replays exactly.
* ``seed_keyword`` / ``offset_keyword``: the names of those arguments (``offset_keyword=None``:
  the kernel takes a seed alone, and the caller passes a fresh seed to every call).
* ``offset_step``: the offset advances by the call's element count rounded up to this multiple
  (a kernel that draws four numbers per Philox counter wants 4).
* ``dtypes``: the input dtypes it takes (default: every float dtype); examples of the others are
  run in a declared dtype instead, and the run header says so.
* ``gradient``: False when it has no backward (the gradient property is then "n/a").
* ``attend``, ``layout``: for attention kernels (``dropout_verify.attention.attention_target``).
* ``usable``: a function returning why this target cannot run here (None when it can).

A declaration is a plain attribute, ``fn.dropout_declaration``; ``torch.compile`` wrappers keep it
(``targets.compiled``). The older single attributes (``fn.dropout_kind = "channel2d"``,
``dropout_usable``, ``attend``, ``attention_layout``) are still read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any, Literal, TypeVar, get_args

__all__ = [
    "DECLARATION_ATTRIBUTE",
    "FLOAT_DTYPES",
    "Declaration",
    "Probability",
    "Randomness",
    "TrainingFlag",
    "declaration_of",
    "declare",
]

DECLARATION_ATTRIBUTE = "dropout_declaration"
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")
Probability = Literal["drop", "keep"]
TrainingFlag = Literal["keyword", "module", "argument", "none"]
Randomness = Literal["global", "generator", "seed"]
F = TypeVar("F")


@dataclass(frozen=True)
class Declaration:
    """What an implementation says about itself; None means "read it from the signature"."""

    kind: str | None = None
    probability: Probability | None = None
    training: TrainingFlag | None = None
    randomness: Randomness | None = None
    seed_keyword: str = "seed"
    offset_keyword: str | None = "offset"
    offset_step: int = 1
    dtypes: tuple[str, ...] | None = None
    gradient: bool = True
    attend: Callable[..., Any] | None = None
    layout: str | None = None
    usable: Callable[[], str | None] | None = None

    def __post_init__(self) -> None:
        _check_choice("probability", self.probability, Probability)
        _check_choice("training", self.training, TrainingFlag)
        _check_choice("randomness", self.randomness, Randomness)
        if self.dtypes is not None:
            if isinstance(self.dtypes, str) or not self.dtypes:
                raise ValueError("Expected dtypes to be a non-empty tuple of dtype names, "
                                 f"but got dtypes={self.dtypes!r}")
            unknown = [d for d in self.dtypes if d not in FLOAT_DTYPES]
            if unknown:
                raise ValueError(f"Expected dtypes among {', '.join(FLOAT_DTYPES)}, "
                                 f"but got {', '.join(map(repr, unknown))}")
        if isinstance(self.offset_step, bool) or not isinstance(self.offset_step, int) or self.offset_step < 1:
            raise ValueError(f"Expected offset_step to be a positive int, but got offset_step={self.offset_step!r}")
        if self.layout is not None and self.layout not in ("bhld", "blhd"):
            raise ValueError(f"Expected layout 'bhld' or 'blhd', but got layout={self.layout!r}")

    def describe(self) -> str:
        """The fields set, as a header shows them: ``kind=element randomness=seed dtypes=float16``."""
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == item.default or callable(value):
                continue
            shown.append(f"{item.name}={','.join(value) if isinstance(value, tuple) else value}")
        return " ".join(shown)


def _check_choice(name: str, value: str | None, choices: Any) -> None:
    allowed = get_args(choices)
    if value is not None and value not in allowed:
        raise ValueError(f"Expected {name} to be one of {', '.join(map(repr, allowed))}, but got {name}={value!r}")


def declare(obj: F, **fields_: Any) -> F:
    """Attach a :class:`Declaration` to ``obj`` (a function, a callable or a module class) and
    return ``obj``, so it also serves as a decorator: ``@declare`` cannot take arguments, use
    ``declare(fn, kind=...)`` or ``functools.partial(declare, kind=...)``. Fields already declared
    on ``obj`` are kept unless given again."""
    unknown = sorted(set(fields_) - {item.name for item in fields(Declaration)})
    if unknown:
        raise TypeError(f"declare() got unknown field(s) {', '.join(unknown)}; "
                        f"the fields are {', '.join(item.name for item in fields(Declaration))}")
    if "dtypes" in fields_ and fields_["dtypes"] is not None and not isinstance(fields_["dtypes"], str):
        fields_["dtypes"] = tuple(fields_["dtypes"])
    current = getattr(obj, DECLARATION_ATTRIBUTE, None)
    declaration = replace(current, **fields_) if isinstance(current, Declaration) else Declaration(**fields_)
    setattr(obj, DECLARATION_ATTRIBUTE, declaration)
    return obj


def declaration_of(obj: Any) -> Declaration:
    """The declaration of ``obj``: its ``dropout_declaration``, completed by the older single
    attributes it carries (``dropout_kind``, ``dropout_usable``, ``attend``, ``attention_layout``,
    ``attention_dtypes``)."""
    declared = getattr(obj, DECLARATION_ATTRIBUTE, None)
    declaration = declared if isinstance(declared, Declaration) else Declaration()
    legacy: dict[str, Any] = {}
    for attribute, name in (("dropout_kind", "kind"), ("dropout_usable", "usable"), ("attend", "attend"),
                            ("attention_layout", "layout"), ("attention_dtypes", "dtypes")):
        value = getattr(obj, attribute, None)
        if value is not None and getattr(declaration, name) is None:
            legacy[name] = tuple(value) if name == "dtypes" else value
    return replace(declaration, **legacy) if legacy else declaration
