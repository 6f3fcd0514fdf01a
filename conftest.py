"""Root conftest: load the dropout verification plugin for ``pytest`` run from this checkout,
and pytester for the plugin's own tests.

``pytest properties [--dropout-impl MODULE:ATTR] ...`` and the README's test command both go
through here. Installed, the plugin is also the ``pytest11`` entry point of the same name
(``dropout_verify.plugin``), so this line and the entry point never load it twice.
"""

pytest_plugins = ["dropout_verify.plugin", "pytester"]
