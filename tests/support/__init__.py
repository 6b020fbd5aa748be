"""Helpers shared by the project's tests (see emulator.py for `running_emulator`)."""
