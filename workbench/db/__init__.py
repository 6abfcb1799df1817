"""The database: the SQLite store (open, migrate in one fixed order,
transactions, backup), the schema migrations and the audit chain.

The lowest layer of the core: it imports nothing of the workbench but
:mod:`workbench.errors`.
"""
