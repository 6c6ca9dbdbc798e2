"""``argosneo rx``: receive and decode PTT-A2 bursts live from a SoapySDR device.

The work is done by :class:`argosneo.live.LiveLoop`; this module only turns options into a
:class:`~argosneo.io.soapy_source.SoapySource`, an :class:`~argosneo.receiver.A2Receiver`
factory and the outputs.
"""

from __future__ import annotations

import logging

import click

from argosneo import spec

#: Failed reopen attempts in a row before ``rx`` gives up on a vanished device (backoff doubles
#: from 0.1 s to 5 s, so this is about two minutes).
DEFAULT_REOPEN_ATTEMPTS = 30

_EVENT_TEXT = {
    "lost": lambda d: f"device lost ({d.get('code')}): reopening",
    "stall": lambda d: f"no samples for {d.get('seconds', 0):.1f} s: presuming the device gone",
    "reopen_failed": lambda d: (f"reopen attempt {d.get('attempt')} failed ({d.get('error')}); "
                                f"next in {d.get('next_s', 0):.1f} s"),
    "reopened": lambda d: f"device reopened after {d.get('attempts')} attempt(s)",
}


def _positive(ctx, param, value):
    if value is not None and not value > 0:
        raise click.BadParameter("must be > 0")
    return value


@click.command("rx")
@click.option("--device", "-d", "device_args", required=True, metavar="ARGS",
              help="SoapySDR device arguments, e.g. driver=rtlsdr or driver=argosreplay,file=x.sigmf-data "
                   "(see 'argosneo devices').")
@click.option("--freq", "-f", type=float, default=spec.A2_NOMINAL_CENTER_HZ, show_default=True,
              callback=_positive, help="Centre frequency, Hz.")
@click.option("--rate", "-r", type=float, default=250e3, show_default=True, callback=_positive,
              help="Sample rate, S/s.")
@click.option("--gain", "-g", type=float, default=None, help="Overall gain, dB (default: --agc).")
@click.option("--agc", is_flag=True, help="Automatic gain control (the default without --gain).")
@click.option("--antenna", default=None, help="Antenna port (default: the driver's).")
@click.option("--ppm", type=float, default=0.0, show_default=True, help="Oscillator correction, ppm.")
@click.option("--bandwidth", type=float, default=None, callback=_positive,
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
@click.option("--duration", type=float, default=None, callback=_positive, metavar="S",
              help="Stop after S seconds of stream (by sample count, gaps included).")
@click.option("--no-status", is_flag=True, help="No once-a-second status line on stderr.")
@click.option("--queue-seconds", type=float, default=4.0, show_default=True, callback=_positive,
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
    reopens and the bursts decoded.
    """
    if gain is not None and agc:
        raise click.UsageError("--gain and --agc exclude each other")

    from argosneo.io.soapy_source import SoapySource  # noqa: PLC0415 - lazy: SoapySDR is optional
    from argosneo.live import RECORD_FORMATS, JsonLinesSink, LiveLoop, LiveRecorder, StatusLine, summary_text  # noqa: PLC0415
    from argosneo.receiver import A2Receiver  # noqa: PLC0415 - pulls in Numba

    status = StatusLine(enabled=not no_status)

    def on_event(kind, detail):
        text = _EVENT_TEXT.get(kind)
        if text is not None:
            status.message("argosneo rx: " + text(detail))

    # the events above say the same as the source's warnings, once and without the logger prefix
    logging.getLogger("argosneo.io.soapy_source").setLevel(logging.ERROR)
    source = SoapySource(
        device_args, sample_rate=rate, center_freq=freq, gain=gain, antenna=antenna, ppm=ppm,
        bandwidth=bandwidth, buffer_samples=buffer_samples, timeout_s=0.5,
        reopen=reopen_attempts > 0, max_reopen_attempts=reopen_attempts or None, on_event=on_event,
    )
    try:
        info = source.info
        status.message(
            f"argosneo rx: {info.description} at {info.sample_rate / 1e3:.1f} kS/s, "
            f"{info.center_freq / 1e6:.6f} MHz; Ctrl-C to stop"
        )
        sink = JsonLinesSink(output)
        recorder = None
        if record_base is not None:
            # the files are created with the first chunk, whose time is the recording's start
            recorder = LiveRecorder(record_base, datatype=RECORD_FORMATS[record_format],
                                    description=f"argosneo rx live recording ({info.description})")

        def make_receiver(stream_info):
            return A2Receiver(stream_info, id_bits=int(id_bits), keep_rejected=all_bursts)

        loop = LiveLoop(source, make_receiver, sink, recorder=recorder, status=status,
                        duration_s=duration, queue_seconds=queue_seconds)
        try:
            loop.run()
        finally:
            status.message(summary_text(loop.summary))
    finally:
        source.close()
