"""The ``yizhan`` command line."""

from geo.cli.commands import main

__all__ = ["main"]
