"""The ``argosneo`` sub-commands, one module each (imported lazily by :mod:`argosneo.cli`)."""

import click


def positive(ctx, param, value):
    """click callback: an optional number that must be > 0 when given."""
    if value is not None and not value > 0:
        raise click.BadParameter("must be > 0")
    return value
