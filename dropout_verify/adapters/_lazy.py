"""What every adapter module shares: importing its library late, and saying why it cannot.

An adapter module is imported by the suite before it knows whether the library is there, so it
imports the library only inside functions. :func:`usable` turns a failed import into the
sentence the protocol's ``usable`` hook returns (a usage error, exit status 4); :func:`declared_class`
builds an adapter's module class on first use and stands in a declared placeholder when the
library is missing, so naming it gives the same usage error instead of an AttributeError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..protocol import declare

__all__ = ["declared_class", "usable"]


def usable(library: str, install: str, load: Callable[[], object]) -> Callable[[], str | None]:
    """A ``usable`` hook: None when ``load()`` imports the library, else what is missing and how
    to install it."""

    def check() -> str | None:
        try:
            load()
        except ImportError as error:
            return (f"this adapter verifies {library}, which cannot be imported here "
                    f"({type(error).__name__}: {error}); install it: {install}")
        return None

    return check


def declared_class(name: str, build: Callable[[], type], check: Callable[[], str | None], **fields: Any) -> Any:
    """The adapter's module class ``name``, declared with ``fields``; when ``check`` says the
    library is missing, a declared placeholder whose ``usable`` hook says so."""
    missing = check()
    if missing is None:
        return declare(build(), **fields)

    def placeholder(x: Any, p: Any) -> Any:
        raise RuntimeError(missing)

    placeholder.__name__ = placeholder.__qualname__ = name
    return declare(placeholder, usable=check, **fields)
