"""dropout-verify: a statistical test suite that verifies dropout implementations.

Run it with ``dropout-check MODULE:ATTR`` (each implementation in a worker process of its
own) or, from pytest, ``pytest --pyargs dropout_verify.properties --dropout-impl MODULE:ATTR``
(``pytest properties ...`` in a checkout). The contract it checks is dropout_verify/docs/CONTRACT.md. The
library's parts, one concern each:

* ``options``, ``config``: the run options (one table) and the settings of a run;
* ``run``: one run of the suite as one object (settings, the running test's record, the
  masks seen, the call guard, the channel to a supervisor), handed to every property;
* ``kinds``: the dropout family (units, values, inputs of each member);
* ``decision``, ``stats``, ``power``, ``levels``: one decision's data, exact tests, sample
  sizes, the false-alarm budget;
* ``strategies``: Hypothesis strategies for inputs and drop probabilities;
* ``specs``, ``known``, ``targets``: resolving specs, and calling implementations safely;
* ``guard``, ``state``, ``watch``, ``masks``: time limits and torch's global state around
  every call; every large mask of a run, to find repeats;
* ``harness``, ``values``: property builders, sampling, expected values, failures as data;
* ``plugin``, ``outcomes``: the pytest plugin and the outcome of each property;
* ``cli``, ``supervisor``, ``worker``, ``events``, ``destinations``: ``dropout-check``, its
  worker processes, their channel, and the report paths checked before a run;
* ``results``, ``render``, ``reports``: results as data, the verdict table, report files.

The property modules themselves are ``dropout_verify.properties`` (``properties/`` in a
checkout), one module per contract point. Importing this package does not import torch.
"""

__version__ = "0.2.0"
