"""Two reference dropout implementations, correct by the contract of DESIGN.md section 1.

Both take the drop probability ``p`` (PyTorch's convention) and share one signature::

    dropout_mask(x, p=0.5, training=True, inplace=False, generator=None)
    dropout_bernoulli(x, p=0.5, training=True, inplace=False, generator=None)

``dropout_mask`` thresholds uniform draws; ``dropout_bernoulli`` samples Bernoulli draws.
"""

from .bernoulli import dropout_bernoulli
from .mask import dropout_mask

__all__ = ["dropout_bernoulli", "dropout_mask"]
