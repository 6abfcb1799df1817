"""The Qt user interface (PySide6 only here). Imports the core; never the reverse."""
