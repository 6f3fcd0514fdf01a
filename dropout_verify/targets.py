"""Implementations under test: a resolved spec, its kind, and how to call it safely.

A target is a callable ``f(x, p, ...)`` or an ``nn.Module`` class. Keywords ``training`` (or
``train``), ``inplace`` and ``generator`` are passed when the callable's signature has them.
A module class is built with the drop probability (constructor keyword ``p``, ``drop_prob``,
``drop_rate`` or ``rate``) and ``inplace`` when its constructor takes it, switched with
``.train()``/``.eval()`` for the training flag, and called on x; when its ``forward`` takes
``training`` (keras layers), the flag is passed there too. What a signature cannot say (the
kind, a seed and offset per call, the dtypes it takes) the implementation declares
(``dropout_verify.protocol``).

Calls go through :meth:`Target.call`, which turns everything an implementation can do wrong
at the call level (raise, exit, return a non-tensor, hang, change torch's global state) into
an :class:`ImplementationFailure` or a recorded finding: the suite reports it and goes on.
"""

from __future__ import annotations

import inspect
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from .errors import NotSupported
from .guard import CallGuard, CallTimeout
from .kinds import KINDS, Kind, get_kind
from .known import accepted_ranks, known_kind
from .protocol import DECLARATION_ATTRIBUTE, FLOAT_DTYPES, Declaration, TrainingFlag, declaration_of
from .seeds import SeedStream
from .specs import SpecError, resolve_object

__all__ = [
    "MODULE_PROBABILITY_KEYWORDS",
    "ImplementationFailure",
    "Target",
    "resolve_target",
]

OPTIONAL_KEYWORDS = ("training", "inplace", "generator")
T = TypeVar("T")
MODULE_PROBABILITY_KEYWORDS = ("p", "drop_prob", "drop_rate", "rate")


USABLE_RESULT = "a tensor result of x's shape and device"
RETURNS = "the call to return (no exception)"


class ImplementationFailure(AssertionError):
    """The implementation raised, exited, returned a non-tensor, or hung: the property fails.

    ``expected`` is what a correct implementation does instead (a failure's "expected:" line)."""

    def __init__(self, message: str, expected: str = USABLE_RESULT) -> None:
        super().__init__(message)
        self.expected = expected


def _parameter_names(fn: Callable[..., Any]) -> set[str]:
    """Names of fn's parameters, from its signature or, for torch operators, its schema."""
    schema_owner = getattr(fn, "default", fn)  # an OpOverloadPacket's .default overload
    schema = getattr(schema_owner, "_schema", None)
    if schema is not None:
        return {argument.name for argument in schema.arguments}
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD}


@dataclass
class Target:
    """One implementation under test, called in the drop-probability convention.

    ``convention="keep"`` means the callable takes the keep probability: it is passed 1 - p.
    """

    spec: str
    fn: Any  # the callable, or the nn.Module class
    kind: Kind = field(default_factory=lambda: KINDS["element"])
    kind_source: str = "default"
    convention: str = "drop"
    parameters: set[str] = field(default_factory=set)
    module_probability: str | None = None  # constructor keyword taking p, for module classes
    call_timeout: float = 60.0
    hung: str | None = None  # set once a call hangs (plain pytest): later calls fail at once
    compile_modules: bool = False  # --compile for a module class: each built module is compiled
    guard: CallGuard = field(default_factory=CallGuard, repr=False)  # the run's (time limit, state check)
    declaration: Declaration = field(default_factory=Declaration)  # what it says of itself (protocol)
    training_flag: TrainingFlag = "keyword"  # how the training flag reaches it
    dtypes: tuple[str, ...] = FLOAT_DTYPES  # input dtypes verified: declared ones, and --dtype's
    seeds: SeedStream | None = field(default=None, repr=False)  # the caller of a seed-taking kernel
    _modules: dict[tuple[str, bool | None], torch.nn.Module] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:  # shown in Hypothesis's falsifying example
        return f"Target({self.spec!r}, kind={self.kind.name!r}, convention={self.convention!r})"

    @property
    def is_module(self) -> bool:
        return self.module_probability is not None

    @property
    def training_keyword(self) -> str | None:
        if self.training_flag == "none":
            return None
        if self.is_module:
            return "training"  # .train() / .eval(), and forward's argument when it takes one
        for name in ("training", "train"):
            if name in self.parameters:
                return name
        return None

    def summary(self) -> str:
        """The kind, and how the target is called where that is not the default (the header's words)."""
        parts = [self.kind.name]
        if self.convention == "keep":
            parts.append("given the keep probability")
        if self.training_flag == "argument":
            parts.append("training flag passed to forward")
        elif self.training_flag == "none":
            parts.append("no training flag")
        if self.seeds is not None:
            declared = self.declaration
            parts.append(f"{declared.seed_keyword}= and {declared.offset_keyword}= per call, the offset advanced by "
                         f"each call's elements" if declared.offset_keyword else
                         f"a fresh {declared.seed_keyword}= per call")
        if self.dtypes != FLOAT_DTYPES:
            parts.append(f"dtypes {','.join(self.dtypes)}")
        if not self.declaration.gradient:
            parts.append("no backward")
        return "; ".join(parts)

    def verified_dtype(self, dtype: str) -> str:
        """The dtype an example drawn in ``dtype`` runs in: itself when verified, else one of the
        verified dtypes, chosen by the drawn one's place (so the choice is fixed by the example)."""
        if dtype in self.dtypes or dtype not in FLOAT_DTYPES:
            return dtype
        return self.dtypes[FLOAT_DTYPES.index(dtype) % len(self.dtypes)]

    def supports(self, keyword: str) -> bool:
        """Whether the target takes ``keyword`` (``training`` also matches ``train`` and modules)."""
        if keyword == "training":
            return self.training_keyword is not None
        return keyword in self.parameters

    def argument_for(self, p: float) -> float:
        """The probability argument passed for drop probability p."""
        return 1.0 - p if self.convention == "keep" else p

    def keep_probability(self, p: float) -> float:
        """The keep probability a correct implementation uses when called for drop probability p.

        In the keep convention that is exactly the number passed, so no rounding of 1 - p
        is blamed on the implementation.
        """
        return self.argument_for(p) if self.convention == "keep" else 1.0 - p

    # ------------------------------------------------------------------ calling
    def _module(self, p: Any, inplace: bool | None) -> torch.nn.Module:
        key = (f"{type(p).__name__}:{p!r}", inplace)
        module = self._modules.get(key)
        if module is None:
            arguments: dict[str, Any] = {str(self.module_probability): p}
            if inplace is not None and "inplace" in self.parameters:
                arguments["inplace"] = inplace
            module = self.fn(**arguments)
            if not isinstance(module, torch.nn.Module):
                raise TypeError(f"{self.spec}(...) built a {type(module).__name__}, not an nn.Module")
            if self.compile_modules:
                module = compiled(module)
            if len(self._modules) > 64:
                self._modules.clear()
            self._modules[key] = module
        return module

    def raw_call(self, x: Any, p: Any, **keywords: Any) -> Any:
        """Call with keywords renamed for this target, without any checks (for bad-input tests)."""
        keywords = dict(keywords)
        if self.seeds is not None:  # the suite is the kernel's caller: a seed (and offset) per call
            declared = self.declaration
            seed, offset = self.seeds.next(x.numel() if isinstance(x, torch.Tensor) else 1)
            keywords[declared.seed_keyword] = seed
            if declared.offset_keyword is not None:
                keywords[declared.offset_keyword] = offset
        if self.is_module:
            module = self._module(p, keywords.pop("inplace", None))
            training = bool(keywords.pop("training", True))
            module.train(training)
            if self.training_flag == "argument":
                keywords["training"] = training
            return module(x, **keywords)
        if "training" in keywords and self.training_keyword != "training":
            keywords[str(self.training_keyword)] = keywords.pop("training")
        return self.fn(x, p, **keywords)

    def unchecked_call(self, x: Any, p: Any, **keywords: Any) -> Any:
        """A raw call under the guard (time limit, global state undone): whatever the
        implementation raises comes out as it is (bad-input tests judge the exception)."""
        def describe() -> str:
            return f"{self.spec}(x, {p!r}, ...)"

        try:
            return self.guard.call(lambda: self.raw_call(x, p, **keywords), describe, self.call_timeout)
        except CallTimeout:
            self.hung = f"a call {describe()} ran past {self.call_timeout:g} s"
            raise ImplementationFailure(f"{self.hung}: treated as hung", self._in_time()) from None
        except KeyboardInterrupt:
            self._raised_interrupt(describe, "a clear error (ValueError, RuntimeError or TypeError), or a result")
            raise

    def _in_time(self) -> str:
        return f"every call to return within the time limit ({self.call_timeout:g} s)"

    def describe_call(self, x: torch.Tensor, argument: Any, keywords: dict[str, Any]) -> str:
        shown = [f"x<{tuple(x.shape)} {x.dtype}>", repr(argument)] + [f"{k}={v!r}" for k, v in keywords.items()]
        return f"{self.spec}({', '.join(shown)})"

    def _keywords(self, training: bool | None, inplace: bool | None,
                  generator: torch.Generator | None) -> dict[str, Any]:
        keywords: dict[str, Any] = {}
        if training is not None and self.training_keyword:
            keywords["training"] = training
        if inplace is not None and "inplace" in self.parameters:
            keywords["inplace"] = inplace
        if generator is not None and "generator" in self.parameters:
            keywords["generator"] = generator
        return keywords

    def guarded(self, run: Callable[[], T], describe: Callable[[], str], limit_s: float | None = None) -> T:
        """Run calls of the implementation under the guard; translate what they do wrong.
        ``limit_s``: a longer time limit than the run's for this call (the scale tier's large calls)."""
        if self.hung:
            raise ImplementationFailure(f"{self.spec} hung earlier ({self.hung}); not called again", self._in_time())
        limit = max(self.call_timeout, limit_s or 0.0)
        try:
            return self.guard.call(run, describe, limit)
        except CallTimeout:
            self.hung = f"a call {describe()} ran past {limit:g} s"
            raise ImplementationFailure(f"{self.hung}: treated as hung", self._in_time()) from None
        except KeyboardInterrupt:
            self._raised_interrupt(describe, RETURNS)
            raise
        except (ImplementationFailure, NotSupported):
            raise
        except SystemExit as error:
            raise ImplementationFailure(f"{describe()} called sys.exit({error.code!r})", RETURNS) from None
        except BaseException as error:  # noqa: BLE001 - whatever it raises is the finding
            frames = traceback.format_exception(type(error), error, error.__traceback__)
            raise ImplementationFailure(
                f"{describe()} raised {type(error).__name__}: {error}\n" + "".join(frames[-3:]).rstrip(),
                RETURNS + self._kind_hint()) from None

    def _raised_interrupt(self, describe: Callable[[], str], expected: str) -> None:
        """A KeyboardInterrupt out of a call: under plain pytest it may be the user's Ctrl-C, so
        it goes on. A worker of dropout-check runs in a session of its own, which no terminal's
        Ctrl-C reaches (the supervisor ends workers with SIGKILL): there the implementation
        raised it, and that is a failure like any other raise."""
        if self.guard.slot is not None:
            raise ImplementationFailure(f"{describe()} raised KeyboardInterrupt (not a Ctrl-C: this worker "
                                        "runs in a session no terminal signal reaches)", expected) from None

    def _kind_hint(self) -> str:
        """A raise under the default kind is most often a family member run as elementwise dropout
        (F.dropout2d given a 1-D input): say how to declare the kind."""
        if self.kind_source != "default":
            return ""
        return ("; the kind was not declared, so this was verified as elementwise dropout, which takes any "
                "shape: for channel, alpha or drop-path dropout give --kind KIND or declare it: "
                "dropout_verify.protocol.declare(fn, kind='KIND')")

    def _tensor(self, result: Any, describe: Callable[[], str]) -> torch.Tensor:
        if isinstance(result, (tuple, list)) and result and isinstance(result[0], torch.Tensor):
            result = result[0]
        if not isinstance(result, torch.Tensor):
            raise ImplementationFailure(f"{describe()} returned {type(result).__name__}, not a torch.Tensor")
        return result

    def call(
        self,
        x: torch.Tensor,
        p: float,
        *,
        training: bool | None = True,
        inplace: bool | None = None,
        generator: torch.Generator | None = None,
        limit_s: float | None = None,
    ) -> torch.Tensor:
        """Call the implementation as dropout(x, p) and return its output tensor.

        ``training``/``inplace``/``generator`` are passed only when not None and supported.
        A tuple result (``aten.native_dropout`` returns ``(output, mask)``) yields its first
        element. Raises ImplementationFailure for anything that is not a tensor result.
        """
        keywords = self._keywords(training, inplace, generator)
        argument = self.argument_for(p)
        describe = lambda: self.describe_call(x, argument, keywords)
        result = self.guarded(lambda: self.raw_call(x, argument, **keywords), describe, limit_s)
        return self._tensor(result, describe)

    def call_batches(self, x: torch.Tensor, p: float, calls: int, validate: Callable[[torch.Tensor], None],
                     *, max_batch: int = 4096) -> Iterator[list[torch.Tensor]]:
        """Make ``calls`` training calls on x, yielding the outputs batch by batch (each validated).

        Statistical properties make up to millions of calls of one input (a whole-call
        drop-path decides once per call). A batch of calls shares one guard (time limit and
        state check), and batches grow while they take under 50 ms, so the guard costs
        nothing per call and a batch stays far inside the time limit of one call.
        """
        keywords = self._keywords(True, None, None)
        argument = self.argument_for(p)
        describe = lambda: self.describe_call(x, argument, keywords)  # noqa: E731
        raw_call, tensor = self.raw_call, self._tensor
        size, remaining = 1, calls
        while remaining > 0:
            count = min(size, remaining)
            outputs: list[torch.Tensor] = []

            def run(count: int = count, outputs: list[torch.Tensor] = outputs) -> None:
                for _ in range(count):
                    y = tensor(raw_call(x, argument, **keywords), describe)
                    validate(y)
                    outputs.append(y)

            started = time.perf_counter()
            self.guarded(run, describe)
            if time.perf_counter() - started < 0.05:
                size = min(2 * size, max_batch)
            remaining -= count
            yield outputs


def _module_probability_keyword(cls: type, spec: str) -> tuple[str, set[str]]:
    """The constructor keyword that takes p, and the constructor's parameter names."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        raise SpecError(f"{spec!r}: cannot read the constructor signature of {cls.__name__}") from None
    names = set(parameters)
    keyword = next((k for k in MODULE_PROBABILITY_KEYWORDS if k in names), None)
    wrap_hint = (f"; wrap it in a function, e.g. def my_dropout(x, p, training=True): "
                 f"return {cls.__name__}(..., p).train(training)(x)")
    if keyword is None:
        raise SpecError(f"{spec!r}: the module {cls.__name__} takes the drop probability by none of the "
                        f"constructor keywords {', '.join(MODULE_PROBABILITY_KEYWORDS)}{wrap_hint}")
    required = [n for n, prm in parameters.items()
                if n not in (keyword, "inplace") and prm.default is inspect.Parameter.empty
                and prm.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    if required:
        raise SpecError(f"{spec!r}: the module {cls.__name__} needs other constructor arguments "
                        f"({', '.join(required)}){wrap_hint}")
    return keyword, names


def _fit_kind(requested: str, known: str | None, spec: str) -> None:
    """A usage error when ``requested`` draws inputs that torch's own implementation of the known
    kind rejects (F.dropout2d given a 1-D input). A kind the user declared (``dropout_kind``) is
    theirs to override: their function may take more ranks than its kind needs."""
    if known is None or known == requested:
        return
    ranks = accepted_ranks(known)
    if ranks is None:
        return
    kind = KINDS[requested]
    drawn = [r for r in range(0, 6) if kind.accepts_rank(r)]
    outside = [r for r in drawn if r not in ranks]
    if outside:
        raise SpecError(
            f"--kind {requested} does not fit {spec}: that is a {known} dropout, which takes "
            f"{' or '.join(f'{r}-D' for r in ranks)} inputs, but {requested} inputs are "
            f"{', '.join(f'{r}-D' for r in drawn)}; leave --kind out to verify it as {known}")


_COMPILE_READY: list[str] = []  # "" once a trial compile worked here, else why it did not


def _check_compile() -> None:
    """A usage error when torch.compile cannot build code here (no C++ compiler, no inductor)."""
    if not _COMPILE_READY:
        try:
            import torch._dynamo

            trial = torch.compile(lambda t: t * 2 + 1, dynamic=True)
            trial(torch.ones(3))
            _COMPILE_READY.append("")
        except Exception as error:  # noqa: BLE001 - whatever stops compiling is the message
            _COMPILE_READY.append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
        # The suite draws many shapes and drop probabilities: dynamo recompiles for each p a
        # function branches on. Never fall back to eager code silently: fail instead.
        torch._dynamo.config.recompile_limit = 1024
        torch._dynamo.config.accumulated_recompile_limit = 8192
        torch._dynamo.config.fail_on_recompile_limit_hit = True
    if _COMPILE_READY[0]:
        raise SpecError(f"--compile asked for, but torch.compile cannot build code here ({_COMPILE_READY[0]}); "
                        f"it needs a C++ compiler for the CPU (or Triton for CUDA)")


def compiled(obj: Any) -> Any:
    """torch.compile(obj, dynamic=True), keeping the whole declaration (``protocol``): kind,
    dtypes, randomness, and an attention kernel's ``attend`` and layout."""
    wrapped = torch.compile(obj, dynamic=True)
    setattr(wrapped, DECLARATION_ATTRIBUTE, declaration_of(obj))
    return wrapped


def _training_flag(obj: Any, declared: TrainingFlag | None, is_module: bool, parameters: set[str],
                   spec: str) -> TrainingFlag:
    """How the training flag reaches the target: declared, else read from the signature."""
    if declared is not None:
        if declared in ("module", "argument") and not is_module:
            raise SpecError(f"{spec!r} declares training={declared!r}, which is for module classes; "
                            "a function takes the flag as a keyword ('keyword') or not at all ('none')")
        if declared == "keyword" and is_module:
            raise SpecError(f"{spec!r} is a module class but declares training='keyword'; "
                            "declare 'module' (.train()/.eval()) or 'argument' (forward(x, training=...))")
        if declared == "keyword" and not {"training", "train"} & parameters:
            raise SpecError(f"{spec!r} declares training='keyword' but its signature takes no training= or "
                            "train= keyword")
        return declared
    if is_module:  # forward(x, training=...), or keras' call(inputs, training=...) behind a generic forward
        methods = [getattr(obj, name, None) for name in ("forward", "call")]
        takes = any(method is not None and "training" in _parameter_names(method) for method in methods)
        return "argument" if takes else "module"
    return "keyword" if {"training", "train"} & parameters else "none"


def _verified_dtypes(declared: tuple[str, ...] | None, chosen: tuple[str, ...] | None, spec: str) -> tuple[str, ...]:
    """The input dtypes verified: those the target declares, narrowed to --dtype's; never none."""
    verified = tuple(d for d in FLOAT_DTYPES if (declared is None or d in declared) and (chosen is None or d in chosen))
    if not verified:
        raise SpecError(f"--dtype {','.join(chosen or ())} leaves nothing to verify for {spec}: it declares "
                        f"dtypes {', '.join(declared or ())}")
    return verified


def _seed_stream(declaration: Declaration, parameters: set[str], spec: str) -> SeedStream | None:
    if declaration.randomness != "seed":
        return None
    wanted = [k for k in (declaration.seed_keyword, declaration.offset_keyword) if k is not None]
    missing = [k for k in wanted if parameters and k not in parameters]
    if missing:
        raise SpecError(f"{spec!r} declares randomness='seed', but its signature takes no "
                        f"{' or '.join(f'{k}=' for k in missing)} keyword (declare seed_keyword/offset_keyword)")
    return SeedStream(with_offset=declaration.offset_keyword is not None, step=declaration.offset_step)


def resolve_target(spec: str, *, convention: str = "drop", kind: str | None = None,
                   call_timeout: float = 60.0, compile: bool = False, guard: CallGuard | None = None,
                   dtypes: tuple[str, ...] | None = None) -> Target:
    """Turn a spec into a Target, or raise SpecError (a usage error) with a hint.

    ``convention`` applies unless the implementation declares its own (``protocol``);
    ``dtypes`` (--dtype) narrows the dtypes it declares."""
    obj = resolve_object(spec)
    if isinstance(obj, torch.nn.Module):
        raise SpecError(f"{spec!r} names an instance of {type(obj).__name__}, whose p is fixed; name its class "
                        f"(e.g. {type(obj).__module__}:{type(obj).__name__}) so the suite can build it for each p")
    module_probability = None
    if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
        module_probability, parameters = _module_probability_keyword(obj, spec)
    elif not callable(obj):
        raise SpecError(f"{spec!r} names {obj!r:.60} (of type {type(obj).__name__}), which is not callable")
    else:
        parameters = _parameter_names(obj)
    try:
        declaration = declaration_of(obj)
    except (TypeError, ValueError) as error:
        raise SpecError(f"{spec!r} declares something the protocol does not take: {error}") from None
    if callable(declaration.usable):  # a target that needs something this machine may lack
        missing = declaration.usable()
        if missing:
            raise SpecError(f"{spec!r}: {missing}")
    known = known_kind(obj)
    if known is not None and known not in KINDS:
        raise SpecError(f"{spec!r} declares dropout_kind={known!r}, which is no kind: {get_kind(known)}")
    if kind is not None:
        get_kind(kind)
        if declaration.kind is None:  # torch's own: its input ranks are known, not merely declared
            _fit_kind(kind, known, spec)
        chosen, source = kind, "option"
    elif known is not None:
        chosen, source = known, "declared" if declaration.kind is not None else "torch"
    else:
        chosen, source = "element", "default"
    training = _training_flag(obj, declaration.training, module_probability is not None, parameters, spec)
    verified = _verified_dtypes(declaration.dtypes, dtypes, spec)
    seeds = _seed_stream(declaration, parameters, spec)
    if compile:
        _check_compile()
    fn = compiled(obj) if compile and module_probability is None else obj
    return Target(spec=spec, fn=fn, kind=KINDS[chosen], kind_source=source,
                  convention=declaration.probability or convention, parameters=parameters,
                  module_probability=module_probability, call_timeout=call_timeout, compile_modules=compile,
                  guard=guard or CallGuard(), declaration=declaration, training_flag=training, dtypes=verified,
                  seeds=seeds)
