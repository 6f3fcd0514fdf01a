"""dropout-verify: a statistical test suite that verifies dropout implementations.

Run it with ``dropout-check MODULE:ATTR`` (each implementation in a worker process of its
own) or, from pytest, ``pytest --pyargs dropout_verify.properties --dropout-impl MODULE:ATTR``
(``pytest properties ...`` in a checkout). The contract it checks is dropout_verify/docs/CONTRACT.md. The
library's parts, one concern each:

* ``options``, ``config``: the run options (one table) and the settings of a run;
* ``kinds``: the dropout family (units, values, inputs of each member);
* ``stats``, ``power``, ``levels``: exact tests, sample sizes, the false-alarm budget;
* ``strategies``: Hypothesis strategies for inputs and drop probabilities;
* ``specs``, ``known``, ``targets``: resolving specs, and calling implementations safely;
* ``guard``, ``state``, ``watch``: time limits and torch's global state around every call;
* ``harness``, ``values``: property builders, sampling, expected values, failures as data;
* ``plugin``, ``outcomes``: the pytest plugin and the outcome of each property;
* ``cli``, ``supervisor``, ``worker``, ``events``: ``dropout-check`` and its worker processes;
* ``results``, ``render``, ``reports``: results as data, the verdict table, report files.

The property modules themselves are ``dropout_verify.properties`` (``properties/`` in a
checkout), one module per contract point. Importing this package does not import torch.
"""

__version__ = "0.2.0"
