"""Root conftest: load the dropout verification plugin for ``pytest`` run from this checkout.

``pytest properties [--dropout-impl MODULE:ATTR] ...`` and the README's test command both
go through here; ``dropout-check`` loads the same plugin with ``-p properties.plugin``.
"""

pytest_plugins = ["properties.plugin"]
