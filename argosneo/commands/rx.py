"""``argosneo rx``: receive and decode PTT-A2 bursts live from a SoapySDR device.

A thin command over the shipped ``flowgraphs/a2_live.yaml``: its options become the
flowgraph's variables and the flowgraph runtime does the work (live mode, queue bounded in
seconds, ``--duration``, device events, status line), so ``argosneo run a2_live`` with the same
variables gives the same bursts.
"""

from __future__ import annotations

import logging

import click

from argosneo import spec
from argosneo.commands import positive

#: The shipped flowgraph this command runs, and the id of its decoder block (whose rejected
#: carriers ``--all-bursts`` writes).
FLOWGRAPH = "a2_live"
DECODER = "decode"
#: Failed reopen attempts in a row before ``rx`` gives up on a vanished device (backoff doubles
#: from 0.1 s to 5 s, so this is about two minutes).
DEFAULT_REOPEN_ATTEMPTS = 30
#: Recording sample formats offered by ``--record-format``.
RECORD_FORMATS = {"cf32": "cf32_le", "ci16": "ci16_le"}


def summary_text(summary, *, bursts: int, rejected: int = 0, truncated: int = 0, prefix: str = "argosneo rx") -> str:
    """One-paragraph human summary of a live run.

    Parameters
    ----------
    summary : RunSummary
        From :meth:`Runtime.summary`.
    bursts, rejected, truncated : int
        Decoded bursts written (``summary.decoded``), rejected carriers written, carriers
        rejected because a gap or the end cut them.
    """
    rate = summary.sample_rate or 1.0
    busy = summary.processing_seconds
    rt = summary.samples / rate / busy if busy > 0 else float("inf")
    dev = summary.source_state
    parts = [
        f"{summary.source_samples / rate:.1f} s received ({summary.source_samples} samples) in {summary.seconds:.1f} s",
        f"{bursts} burst{'s' if bursts != 1 else ''} decoded"
        + (f", {rejected} rejected" if rejected else "")
        + (f", {truncated} cut short by a gap or the end" if truncated else ""),
        f"overflows {dev.get('overflows', 0)}, device lost {dev.get('device_lost', 0)} samples, "
        f"reopens {dev.get('reopens', 0)}",
        f"decoder dropped {summary.drop_events} chunks ({summary.dropped_samples - dev.get('dropped_samples', 0)} samples)",
        f"{'inf' if rt == float('inf') else f'{rt:.1f}'}x real time",
    ]
    if summary.stopped_by:
        parts.append(f"stopped by {summary.stopped_by}")
    return f"{prefix}: " + "; ".join(parts)


@click.command("rx")
@click.option("--device", "-d", "device_args", required=True, metavar="ARGS",
              help="SoapySDR device arguments, e.g. driver=rtlsdr or driver=argosreplay,file=x.sigmf-data "
                   "(see 'argosneo devices').")
@click.option("--freq", "-f", type=float, default=spec.A2_NOMINAL_CENTER_HZ, show_default=True,
              callback=positive, help="Centre frequency, Hz.")
@click.option("--rate", "-r", type=float, default=250e3, show_default=True, callback=positive,
              help="Sample rate, S/s.")
@click.option("--gain", "-g", type=float, default=None, help="Overall gain, dB (default: --agc).")
@click.option("--agc", is_flag=True, help="Automatic gain control (the default without --gain).")
@click.option("--antenna", default=None, help="Antenna port (default: the driver's).")
@click.option("--ppm", type=float, default=0.0, show_default=True, help="Oscillator correction, ppm.")
@click.option("--bandwidth", type=float, default=None, callback=positive,
              help="Analog filter bandwidth, Hz (default: the driver's).")
@click.option("--id-bits", type=click.Choice(["20", "28"]), default=str(spec.A2_DEFAULT_ID_BITS),
              show_default=True, help="Platform-ID width used to split the message.")
@click.option("--output", "-o", default="-", metavar="OUT.jsonl", show_default=True,
              help="JSON lines of decoded bursts ('-' = standard output); flushed after every burst.")
@click.option("--record", "record_base", default=None, metavar="CAPTURE_BASE",
              help="Also record the raw samples as SigMF (CAPTURE_BASE.sigmf-data/-meta), annotated "
                   "with the decoded bursts and any gaps.")
@click.option("--record-format", type=click.Choice(["cf32", "ci16"]), default="cf32", show_default=True,
              help="Sample format of the recording.")
@click.option("--all-bursts", is_flag=True, help="Also write carriers that did not decode (with a reason).")
@click.option("--duration", type=float, default=None, callback=positive, metavar="S",
              help="Stop after S seconds of stream (by sample count, gaps included).")
@click.option("--no-status", is_flag=True, help="No once-a-second status line on stderr.")
@click.option("--queue-seconds", type=float, default=4.0, show_default=True, callback=positive,
              help="How far the decoder may fall behind before whole chunks are dropped.")
@click.option("--buffer-samples", type=click.IntRange(256, 1 << 22), default=32768, show_default=True,
              help="Samples per device read (chunk size).")
@click.option("--reopen-attempts", type=click.IntRange(0, None), default=DEFAULT_REOPEN_ATTEMPTS,
              show_default=True,
              help="Failed reopens in a row before giving up on a vanished device (0: never reopen).")
def rx(device_args, freq, rate, gain, agc, antenna, ppm, bandwidth, id_bits, output, record_base,
       record_format, all_bursts, duration, no_status, queue_seconds, buffer_samples, reopen_attempts):
    """Receive PTT-A2 bursts live: one JSON line per decoded burst (same records as 'replay').

    Ctrl-C or SIGTERM stops cleanly: what was received is decoded, bursts in progress are
    flushed, the outputs are closed (a valid SigMF recording) and the exit status is 0. A device
    that vanishes is reopened (the gap is marked; no burst is stitched across it); one that does
    not come back ends the run with an error line and exit status 2.

    The status line (stderr, once a second) shows the stream time, the measured input rate,
    the real-time headroom 'xN rt' (signal time decoded per unit of processing time), the
    decoder queue, device overflows, chunks dropped because the decoder fell behind, device
    reopens and the bursts decoded. Runs the shipped flowgraph a2_live (see `argosneo run`).
    """
    if gain is not None and agc:
        raise click.UsageError("--gain and --agc exclude each other")

    from argosneo.detect.carrier import DEFAULT_PFA  # noqa: PLC0415
    from argosneo.flowgraph import resolve_flowgraph  # noqa: PLC0415
    from argosneo.flowgraph.console import StatusLine, StopOnSignals, status_text  # noqa: PLC0415
    from argosneo.flowgraph.runtime import Runtime  # noqa: PLC0415
    from argosneo.flowgraph.schema import load_flowgraph  # noqa: PLC0415
    from argosneo.deframe.decoder import RejectedBurst  # noqa: PLC0415

    fg = load_flowgraph(resolve_flowgraph(FLOWGRAPH), variables={
        "device": device_args, "samp_rate": rate, "center_freq": freq, "gain": gain, "antenna": antenna,
        "ppm": ppm, "bandwidth": bandwidth, "chunk_size": buffer_samples, "reopen_attempts": reopen_attempts,
        "id_bits": int(id_bits), "pfa": DEFAULT_PFA, "all_bursts": bool(all_bursts), "output": output,
        "record": record_base or "", "record_datatype": RECORD_FORMATS[record_format]})
    status = StatusLine(enabled=not no_status)
    written = {"rejected": 0}

    def count_rejected(port, items):
        # decoded bursts are counted by the runtime (Runtime.decoded_bursts), the same number
        # as the status line's; rejected carriers are written only with --all-bursts
        written["rejected"] += sum(isinstance(b, RejectedBurst) for b in items)

    def on_event(record, message):
        if record["event"] == "source" and message:
            status.message("argosneo rx: " + message)
        elif record["event"] == "start":
            info = rt.info
            status.message(f"argosneo rx: {info.description} at {info.sample_rate / 1e3:.1f} kS/s, "
                           f"{info.center_freq / 1e6:.6f} MHz; Ctrl-C to stop")

    # the device events above say the same as the source's warnings, once and without the logger prefix
    logging.getLogger("argosneo.io.soapy_source").setLevel(logging.ERROR)
    rt = Runtime(fg, mode="live", queue_seconds=queue_seconds, duration=duration, taps={DECODER: count_rejected},
                 on_event=on_event, status=lambda snap: status.update(status_text(snap, "rx")))
    started = False
    try:
        with StopOnSignals(rt):
            started = True
            rt.run()
    finally:
        if started and rt.info is not None:
            decoder = rt.blocks.get(DECODER)
            truncated = decoder.state().get("cut_short", 0) if decoder is not None else 0
            summary = rt.summary()
            status.finish()
            status.message(summary_text(summary, bursts=summary.decoded or 0, rejected=written["rejected"],
                                        truncated=truncated))
