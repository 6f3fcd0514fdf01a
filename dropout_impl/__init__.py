"""Reference dropout implementations, correct by the contract of dropout_verify/docs/CONTRACT.md.

All take the drop probability ``p`` (PyTorch's convention) and share one signature::

    f(x, p=0.5, training=True, inplace=False, generator=None)

* elementwise: ``dropout_mask`` thresholds uniform draws, ``dropout_bernoulli`` samples
  Bernoulli draws;
* the rest of the family (``family``): ``dropout1d``, ``dropout2d``, ``dropout3d`` (channel),
  ``alpha_dropout``, ``feature_alpha_dropout``, ``drop_path``, ``drop_path_batch``;
* ``modules.DropPath``: drop-path as an ``nn.Module``.

Each non-elementwise function carries ``dropout_kind`` (e.g. ``"channel2d"``), which the suite
reads to verify it as that member of the family.
"""

from .bernoulli import dropout_bernoulli
from .family import alpha_dropout, drop_path, drop_path_batch, dropout1d, dropout2d, dropout3d, feature_alpha_dropout
from .mask import dropout_mask
from .modules import DropPath

__all__ = [
    "DropPath",
    "alpha_dropout",
    "drop_path",
    "drop_path_batch",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "dropout_bernoulli",
    "dropout_mask",
    "feature_alpha_dropout",
]
