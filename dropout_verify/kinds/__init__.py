"""The dropout family: one :class:`~dropout_verify.kinds.base.Kind` per member.

A new member is one small module with a ``Kind`` subclass, registered in ``KINDS`` below
(and its name added to ``options.KIND_NAMES``).
"""

from __future__ import annotations

from ..options import KIND_NAMES, UsageError, did_you_mean
from .attention import AttentionKind
from .base import Kind, ShapeRequest
from .channel import ChannelKind, FeatureAlphaKind
from .element import AlphaKind, ElementKind
from .path import PathBatchKind, PathKind

__all__ = ["KINDS", "Kind", "ShapeRequest", "get_kind"]

KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        ElementKind(),
        ChannelKind(1),
        ChannelKind(2),
        ChannelKind(3),
        AlphaKind(),
        FeatureAlphaKind(),
        PathKind(),
        PathBatchKind(),
        AttentionKind(),
    )
}
assert tuple(KINDS) == KIND_NAMES, "options.KIND_NAMES must list the kinds registered here"


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise UsageError(f"unknown dropout kind {name!r}{did_you_mean(name, KINDS)} "
                         f"(kinds: {', '.join(KINDS)})") from None
