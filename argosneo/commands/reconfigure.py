"""``argosneo reconfigure``: change a running flowgraph through its control socket."""

from __future__ import annotations

import json
import os

import click

from argosneo.errors import ArgosneoError


def _socket(ctx) -> str:
    from argosneo.flowgraph.control import ControlError, running_sockets

    path = ctx.obj.get("socket") or os.environ.get("ARGOSNEO_SOCKET")
    if path:
        return path
    found = running_sockets()
    if len(found) == 1:
        return str(found[0])
    if not found:
        raise ControlError("no running flowgraph found; give --socket PATH (printed by `argosneo run`)")
    raise ControlError("several flowgraphs are running; choose one with --socket: "
                       + ", ".join(map(str, found)))


def _send(ctx, command: dict) -> None:
    from argosneo.flowgraph.control import check_command, send_command

    at = ctx.obj.get("at")
    if at:
        command.update(at)
    check_command(command)   # the same checks the server makes: fail before connecting
    reply = send_command(_socket(ctx), command)
    if ctx.obj.get("json") or command["cmd"] == "status":
        click.echo(json.dumps(reply, indent=2 if command["cmd"] == "status" else None))
    elif reply.get("ok"):
        if "scheduled_sample" in reply:
            click.echo(f"scheduled at sample {reply['scheduled_sample']}")
        elif "sample" in reply:
            click.echo(f"applied at sample {reply['sample']}; configuration {reply.get('configuration')}")
        else:
            click.echo("ok")
    if not reply.get("ok"):
        raise ArgosneoError(f"refused: {reply.get('error', 'no reason given')}")


def _params(assignments) -> dict:
    from argosneo.commands.run import parse_assignments

    return parse_assignments(assignments, "parameter", False)


def _when(f):
    f = click.option("--at-time", type=click.FloatRange(0), help="Apply at this stream time (s) instead of now.")(f)
    return click.option("--at-sample", type=click.IntRange(0), help="Apply at this stream sample instead of now.")(f)


def _at(ctx, at_sample, at_time):
    if at_sample is not None and at_time is not None:
        raise click.UsageError("give --at-sample or --at-time, not both")
    ctx.obj["at"] = ({"at_sample": at_sample} if at_sample is not None
                     else {"at_time": at_time} if at_time is not None else {})


@click.group("reconfigure")
@click.option("--socket", "socket_path", type=click.Path(dir_okay=False, path_type=str),
              help="Control socket of the running flowgraph (default: $ARGOSNEO_SOCKET or the only one running).")
@click.option("--json", "as_json", is_flag=True, help="Print the raw JSON reply.")
@click.pass_context
def reconfigure(ctx, socket_path, as_json):
    """Change a flowgraph started by `argosneo run` while it runs.

    Changes take effect at an exact sample boundary (the next chunk, or --at-sample/--at-time);
    one that fails validation is refused and the graph keeps running unchanged.
    """
    ctx.ensure_object(dict)
    ctx.obj.update(socket=socket_path, json=as_json)


@reconfigure.command("status")
@click.pass_context
def status(ctx):
    """Print the running graph's state (JSON)."""
    _send(ctx, {"cmd": "status"})


@reconfigure.command("set")
@click.argument("block")
@click.argument("assignments", nargs=-1, required=True, metavar="PARAM=VALUE...")
@_when
@click.pass_context
def set_(ctx, block, assignments, at_sample, at_time):
    """Change reconfigurable parameters of BLOCK."""
    _at(ctx, at_sample, at_time)
    _send(ctx, {"cmd": "set", "block": block, "params": _params(assignments)})


@reconfigure.command("configuration")
@click.argument("name")
@_when
@click.pass_context
def configuration(ctx, name, at_sample, at_time):
    """Switch to the named configuration NAME of the flowgraph file (base = the top level)."""
    _at(ctx, at_sample, at_time)
    _send(ctx, {"cmd": "configuration", "name": name})


@reconfigure.command("add")
@click.argument("block")
@click.argument("type_")
@click.argument("assignments", nargs=-1, metavar="[PARAM=VALUE...]")
@click.option("--connect", "connections", multiple=True, required=True, metavar="'A.PORT -> B.PORT'",
              help="A connection of the new block (repeatable).")
@_when
@click.pass_context
def add(ctx, block, type_, assignments, connections, at_sample, at_time):
    """Add BLOCK of type TYPE (e.g. a second demodulator bank) with its connections."""
    _at(ctx, at_sample, at_time)
    _send(ctx, {"cmd": "add", "block": block, "type": type_, "params": _params(assignments),
                "connections": list(connections)})


@reconfigure.command("remove")
@click.argument("block")
@_when
@click.pass_context
def remove(ctx, block, at_sample, at_time):
    """Remove BLOCK (flushed first: what it holds still goes downstream)."""
    _at(ctx, at_sample, at_time)
    _send(ctx, {"cmd": "remove", "block": block})


@reconfigure.command("swap")
@click.argument("block")
@click.argument("type_")
@click.argument("assignments", nargs=-1, metavar="[PARAM=VALUE...]")
@_when
@click.pass_context
def swap(ctx, block, type_, assignments, at_sample, at_time):
    """Replace BLOCK by a new block of TYPE with the same connections."""
    _at(ctx, at_sample, at_time)
    _send(ctx, {"cmd": "swap", "block": block, "type": type_, "params": _params(assignments)})


@reconfigure.command("stop")
@click.pass_context
def stop(ctx):
    """Stop the running flowgraph cleanly (like Ctrl-C)."""
    _send(ctx, {"cmd": "stop"})


@reconfigure.command("send")
@click.argument("json_line")
@click.pass_context
def send(ctx, json_line):
    """Send one raw JSON command line and print the reply."""
    from argosneo.flowgraph.control import parse_command, send_command

    parse_command(json_line)
    reply = send_command(_socket(ctx), json_line)
    click.echo(json.dumps(reply))
    if not reply.get("ok"):
        raise ArgosneoError(f"refused: {reply.get('error', 'no reason given')}")
