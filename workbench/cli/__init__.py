"""The ``workbench`` command: :mod:`.main` (the group, database-wide
commands and the entry point) and one module per area.
"""
