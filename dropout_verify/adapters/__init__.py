"""Adapters: the dropouts of libraries people use, declared for the suite.

One module per library, each optional; importing this package or any of its modules imports no
library (each adapter imports its library when the suite first resolves or calls it)::

    dropout-check dropout_verify.adapters.timm:drop_path
    dropout-check dropout_verify.adapters.torchvision:stochastic_depth_row
    dropout-check dropout_verify.adapters.keras:spatial_dropout2d      # keras 3 on its torch backend

An adapter is thin: it maps the library's call convention (a mode argument, a layer built with
the drop probability, a channels-last layout) onto the suite's ``f(x, p, training=...)`` and
declares its kind (:mod:`dropout_verify.protocol`); the dropping is the library's own code.
Naming an adapter whose library is not installed is a usage error that says what is missing.
The verdicts, and what each failure is, are in ``dropout_verify/docs/THIRD_PARTY.md``.
"""

__all__ = ["keras", "timm", "torchvision"]
