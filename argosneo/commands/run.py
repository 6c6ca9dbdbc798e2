"""``argosneo run``: run a flowgraph file, with a control socket for changes in flight."""

from __future__ import annotations

import logging
import sys

import click

from argosneo.commands import positive
from argosneo.errors import ArgosneoError


def parse_assignments(values, what: str, dotted: bool):
    """``NAME=VALUE`` (or ``BLOCK.PARAM=VALUE``) options → dict; values read as YAML scalars."""
    from argosneo.flowgraph.schema import parse_value

    out: dict = {}
    for text in values:
        key, eq, value = text.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ArgosneoError(f"{what} {text!r}: expected {'BLOCK.PARAM' if dotted else 'NAME'}=VALUE")
        if dotted:
            block, dot, param = key.partition(".")
            if not dot or not block or not param:
                raise ArgosneoError(f"{what} {text!r}: expected BLOCK.PARAM=VALUE")
            out.setdefault(block, {})[param] = parse_value(value)
        else:
            out[key] = parse_value(value)
    return out


@click.command("run")
@click.argument("flowgraph")
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE",
              help="Value of one of the flowgraph's variables (repeatable).")
@click.option("-s", "--set", "sets", multiple=True, metavar="BLOCK.PARAM=VALUE",
              help="Override a block parameter (repeatable).")
@click.option("-c", "--configuration", help="Named configuration to start in.")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False, path_type=str),
              help="Directory for the sinks' relative paths and the run log (default: current directory).")
@click.option("--mode", type=click.Choice(["offline", "live"]),
              help="offline: never drop (the source waits); live: drop and count on overflow. "
                   "Default: from the file, else from the source.")
@click.option("--queue-size", type=click.IntRange(1, 4096), help="Chunks the source may run ahead.")
@click.option("--queue-seconds", type=float, default=None, callback=positive,
              help="Live mode: bound the queue by seconds of signal instead of chunks (drops whole chunks "
                   "when the graph is that far behind).")
@click.option("--duration", type=float, default=None, metavar="S", callback=positive,
              help="Stop after S seconds of stream (by sample count, gaps included).")
@click.option("--no-status", is_flag=True, help="Live mode: no once-a-second status line on stderr.")
@click.option("--control-socket", type=click.Path(dir_okay=False, path_type=str),
              help="Control socket path (default: $XDG_RUNTIME_DIR/argosneo-<pid>.sock).")
@click.option("--no-control", is_flag=True, help="Do not open a control socket.")
@click.option("--log", "log_path", type=click.Path(dir_okay=False, path_type=str),
              help="Write every change and drop as JSON lines here (default with -o: DIR/run-log.jsonl).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
def run(flowgraph, variables, sets, configuration, output_dir, mode, queue_size, queue_seconds, duration,
        no_status, control_socket, no_control, log_path, quiet):
    """Run FLOWGRAPH (a .yaml file, or the name of a shipped one such as a2_receiver).

    The whole file is validated first. While it runs, `argosneo reconfigure` changes it through
    the control socket printed at start; Ctrl-C or SIGTERM stops it cleanly (what is queued is
    processed, every sink is flushed; a second one aborts, still closing every block). In live
    mode a status line on stderr shows the stream time, input rate, real-time headroom, queue,
    device overflows, chunks dropped, device reopens and the bursts decoded; the summary at the
    end gives the bursts decoded too (for a graph with a decoder).
    """
    from pathlib import Path

    from argosneo.flowgraph import resolve_flowgraph
    from argosneo.flowgraph.console import StatusLine, StopOnSignals, status_text
    from argosneo.flowgraph.control import ControlServer
    from argosneo.flowgraph.runtime import Runtime
    from argosneo.flowgraph.schema import load_flowgraph

    path = resolve_flowgraph(flowgraph)
    fg = load_flowgraph(path, variables=parse_assignments(variables, "--var", False),
                        overrides=parse_assignments(sets, "--set", True))
    if output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        if log_path is None:
            log_path = str(Path(output_dir) / "run-log.jsonl")

    status = StatusLine(enabled=not (quiet or no_status))

    def say(msg: str) -> None:
        if not quiet:
            status.message(f"argosneo run: {msg}")

    def show_status(snapshot: dict) -> None:
        if rt.mode == "live":
            status.update(status_text(snapshot, "run"))

    # device events reach the log through the runtime; the source's own warnings would repeat them
    logging.getLogger("argosneo.io.soapy_source").setLevel(logging.ERROR)
    rt = Runtime(fg, configuration=configuration, mode=mode, queue_size=queue_size, output_dir=output_dir,
                 log=say, event_log=log_path, queue_seconds=queue_seconds, duration=duration,
                 status=show_status)
    server = None
    if not no_control:
        server = ControlServer(rt, control_socket)
        click.echo(f"argosneo run: control socket {server.path} "
                   f"(argosneo reconfigure --socket {server.path} status)", err=True)

    def on_first(name):
        status.message("argosneo run: stopping (flushing every sink; Ctrl-C again to abort)")

    signals = StopOnSignals(rt, on_first=on_first)
    try:
        with signals:
            summary = rt.run()
    finally:
        status.finish()
        if server is not None:
            server.close()

    applied = sum(1 for c in summary.changes if c.get("ok"))
    refused = len(summary.changes) - applied
    # the same count as the status line's (Runtime.decoded_bursts); a graph without a decoder has none
    decoded = "" if summary.decoded is None else \
        f"{summary.decoded} burst{'' if summary.decoded == 1 else 's'} decoded; "
    click.echo(
        f"argosneo run: {summary.flowgraph}: {summary.samples} samples "
        f"({summary.samples / summary.sample_rate:.1f} s) in {summary.seconds:.1f} s, "
        f"{summary.realtime_factor:.1f}x real time; {summary.dropped_samples} dropped"
        f"{f' in {summary.drop_events} drops' if summary.drop_events else ''}; {decoded}"
        f"{applied} change(s) applied, {refused} refused; configuration {summary.configuration}", err=True)
    if not quiet:
        busy = [(bid, t) for bid, t in summary.timing.items() if t.calls]
        if busy:
            click.echo("argosneo run: time in blocks: " + ", ".join(
                f"{bid} {t.seconds:.2f} s" for bid, t in busy) + f", runtime {summary.runtime_seconds:.3f} s",
                err=True)
    if summary.source_state.get("overflows") or summary.source_state.get("reopens"):
        st = summary.source_state
        click.echo(f"argosneo run: device: {st.get('overflows', 0)} overflows, {st.get('device_lost', 0)} samples "
                   f"lost, {st.get('reopens', 0)} reopens", err=True)
    if summary.interrupted and signals.received:
        sys.stderr.flush()
        raise click.exceptions.Abort()
