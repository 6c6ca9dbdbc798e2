"""The ``argosneo`` command line. Each sub-command lives in ``argosneo.commands.<name>`` and is
imported only when used, so ``argosneo info`` does not pay for Numba compilation."""

from __future__ import annotations

import importlib
import sys

import click

from argosneo import __version__
from argosneo.errors import ArgosneoError

#: command name -> (module, attribute); modules are imported lazily
COMMANDS = {
    "info": ("argosneo.commands.info", "info"),
    "synth": ("argosneo.commands.synth", "synth"),
    "replay": ("argosneo.commands.replay", "replay"),
    "rx": ("argosneo.commands.rx", "rx"),
    "devices": ("argosneo.commands.devices", "devices"),
    "run": ("argosneo.commands.run", "run"),
    "flowgraph": ("argosneo.commands.flowgraph", "flowgraph"),
    "reconfigure": ("argosneo.commands.reconfigure", "reconfigure"),
    "gui": ("argosneo.commands.gui", "gui"),
}


def _available_commands() -> dict[str, tuple[str, str]]:
    found = {}
    for name, (module, attr) in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = (module, attr)
    return found


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_available_commands())

    def get_command(self, ctx, name):
        entry = _available_commands().get(name)
        if entry is None:
            return None
        module, attr = entry
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="argosneo")
def cli():
    """argosneo — receive and decode Argos satellite uplink bursts (PTT-A2 and successors)."""


def main(argv=None) -> int:
    """Console entry point: user errors become one line on stderr and exit status 2."""
    from argosneo.allocator import keep_freed_memory

    keep_freed_memory()
    try:
        cli.main(args=argv, prog_name="argosneo", standalone_mode=False)
    except ArgosneoError as exc:
        click.echo(f"argosneo: error: {exc}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("argosneo: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("argosneo: interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
