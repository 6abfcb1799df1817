"""Export Compliance Workbench: the domain core (no Qt).

Everything a compliance officer does — master data, screening, rules,
checklists, packets — lives here as plain Python over one SQLite store, so
the CLI, the tests and the Qt UI share one implementation.
"""

__version__ = "0.1.0"
APP_NAME = "export-compliance-workbench"
