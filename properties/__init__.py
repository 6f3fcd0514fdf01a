"""A statistical property suite that verifies dropout implementations (a pytest plugin).

Run it with ``pytest properties --dropout-impl MODULE:ATTR`` from a checkout, or with the
``dropout-check`` command. Its parts, one concern each:

* ``stats``: exact (or provably conservative) tests returning :class:`stats.TestResult`;
* ``power``: sample sizes from alpha, the effect to detect and the power;
* ``levels``: the quick/standard/thorough levels and the false-alarm budget;
* ``strategies``: Hypothesis strategies for shapes, dtypes, layouts, values and p;
* ``targets``: resolving and safely calling the implementations under test;
* ``harness``, ``values``: seeding, sampling, expected values and failure messages;
* ``plugin``, ``cli``, ``config``: the pytest options, the command and the run settings;
* ``test_*``: one module per contract point of DESIGN.md section 1 (C1 to C11).
"""
