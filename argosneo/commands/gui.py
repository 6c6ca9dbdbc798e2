"""``argosneo gui``: the live window (spectrum, waterfall, decoded bursts, controls).

The window lives in the top-level ``gui`` package and needs the optional extra
(``pip install argosneo[gui]``: PySide6 + pyqtgraph); it is imported only here, when the command
runs, so the core package never imports Qt.
"""

from __future__ import annotations

import click

from argosneo import spec
from argosneo.commands import positive
from argosneo.errors import ArgosneoError

_EXTRA_MESSAGE = "the GUI needs the optional extra: pip install argosneo[gui]"


def _import_gui():
    """Import ``gui.app``, or fail with one line naming the extra to install."""
    try:
        import PySide6  # noqa: F401, PLC0415 - Qt only when the GUI is asked for
        import pyqtgraph  # noqa: F401, PLC0415
    except ImportError as exc:
        raise ArgosneoError(f"{_EXTRA_MESSAGE} ({exc.name or exc} is missing)") from None
    from gui import app  # noqa: PLC0415

    return app


def _speed(ctx, param, value):
    text = str(value).strip().lower().rstrip("x×")
    if text in ("max", "inf", "0"):
        return 0.0
    try:
        speed = float(text)
    except ValueError:
        raise click.BadParameter(f"expected a number or 'max', got {value!r}") from None
    if not speed > 0:
        raise click.BadParameter("must be > 0 (or 'max')")
    return speed


@click.command("gui")
@click.option("--replay", "replay", metavar="CAPTURE", default=None,
              help="Replay a capture (SigMF, raw IQ, WAV), paced at --speed × real time.")
@click.option("--device", "-d", "device", metavar="ARGS", default=None,
              help="Receive live from a SoapySDR device, e.g. driver=rtlsdr or "
                   "driver=argosreplay,file=captures/demo.sigmf-data.")
@click.option("--freq", "-f", type=float, default=spec.A2_NOMINAL_CENTER_HZ, show_default=True,
              callback=positive, help="Live: centre frequency, Hz.")
@click.option("--rate", "-r", type=float, default=250e3, show_default=True, callback=positive,
              help="Live: sample rate, S/s.")
@click.option("--gain", "-g", type=float, default=None, help="Live: gain in dB (default: automatic).")
@click.option("--speed", default="1", show_default=True, callback=_speed, metavar="X|max",
              help="Replay pace: multiple of real time, or 'max'.")
@click.option("--id-bits", type=click.Choice(["20", "28"]), default=str(spec.A2_DEFAULT_ID_BITS),
              show_default=True, help="Platform-ID width of the first configuration.")
@click.option("--pfa", type=float, default=None, callback=positive,
              help="Detector false-alarm probability per bin (default: the receiver's).")
@click.option("--flowgraph", "flowgraph", metavar="FILE.yaml|NAME", default=None,
              help="Run this flowgraph (file or shipped name; default a2_receiver for a replay, a2_live "
                   "live): its source must be a file_source / soapy_source, and it needs an a2_receiver block.")
@click.option("--var", "variables", metavar="NAME=VALUE", multiple=True,
              help="Set a flowgraph variable (repeatable).")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=str), default=None,
              help="Where the flowgraph's sinks write (default: a temporary directory, removed at exit).")
@click.option("--config", "config", metavar="NAME", default=None,
              help="Configuration to start with (default: the first).")
@click.option("--samp-rate", type=float, default=None, callback=positive,
              help="Replay: sample rate of a raw IQ file, S/s.")
@click.option("--center-freq", type=float, default=None, callback=positive,
              help="Replay: centre frequency, Hz (overrides the capture's).")
def gui(replay, device, freq, rate, gain, speed, id_bits, pfa, flowgraph, variables, output_dir, config,
        samp_rate, center_freq):
    """Open the live window on a capture replay or a SoapySDR device.

    Shows the spectrum (live, average, peak hold), a waterfall in absolute MHz with a marker on
    every decoded burst (click it for details), the table of decoded bursts and the source status
    (rate, drops, real-time headroom). It runs the same flowgraph as the CLI (a2_receiver /
    a2_live, or --flowgraph) in a worker thread; centre frequency, gain, detection threshold and
    the flowgraph's named configurations change it while it runs. File saves a screenshot, the
    bursts (JSON lines) and the spectrum (CSV/NPZ).
    """
    if (replay is None) == (device is None):
        raise click.UsageError("give exactly one source: --replay CAPTURE or --device ARGS")
    app = _import_gui()
    from argosneo.commands.run import parse_assignments  # noqa: PLC0415

    values = parse_assignments(variables, "--var", False)
    # --id-bits/--pfa set the receiver of the default flowgraph; a given flowgraph keeps its own
    # unless they are given explicitly
    bits = int(id_bits) if flowgraph is None else None
    if replay is not None:
        worker = app.open_replay(replay, speed=speed, flowgraph=flowgraph, variables=values, config=config,
                                 id_bits=bits, pfa=pfa, samp_rate=samp_rate, center_freq=center_freq,
                                 output_dir=output_dir)
        title = replay
    else:
        worker = app.open_device(device, sample_rate=rate, center_freq=freq, gain=gain, flowgraph=flowgraph,
                                 variables=values, config=config, id_bits=bits, pfa=pfa, output_dir=output_dir)
        title = device
    app.run(worker, title)
