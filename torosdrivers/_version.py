"""The package version, and the ``--version`` option every console script has."""

from __future__ import annotations

import argparse

__version__ = "0.1.0"


def add_version(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give ``parser`` a ``--version`` that prints the program and package version; returns it."""
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__} (torosdrivers)")
    return parser
