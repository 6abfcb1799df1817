"""Dialogs: sign-in, import, audit packet, settings, overrides, decisions,
loading a rules pack, what a list import changed, starting a checklist.

They use the kit and the core, never a page or a panel.
"""
