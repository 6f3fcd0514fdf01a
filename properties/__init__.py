"""The property suite: one test module per contract point of dropout_verify/docs/CONTRACT.md (C1 to C11).

Installed as ``dropout_verify.properties``; ``properties/`` in a checkout. The engine the
modules use (statistics, kinds, harness, plugin) is the ``dropout_verify`` library.
"""
