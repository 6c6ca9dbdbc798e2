"""``argosneo replay``: decode every burst in a recorded capture.

A thin command over the shipped ``flowgraphs/a2_receiver.yaml``: its options become the
flowgraph's variables and the flowgraph runtime does the work (same blocks, same output as
``argosneo run a2_receiver``).
"""

from __future__ import annotations

import signal
import sys

import click

from argosneo import spec
from argosneo.errors import ArgosneoError

#: The shipped flowgraph this command runs.
FLOWGRAPH = "a2_receiver"
#: Its detection stage (counts the carriers) and its decoder (emits the bursts).
DETECTOR, DECODER = "a2", "decode"


@click.command("replay")
@click.argument("path", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True, path_type=str),
              help="Write JSON lines here (default: standard output).")
@click.option("--samp-rate", type=float, help="Sample rate (S/s) of a raw capture.")
@click.option("--center-freq", type=float, help="Centre frequency (Hz) when the file does not say.")
@click.option("--datatype", help="Sample format, overriding the extension (cf32_le, ci16_le, ci8, cu8).")
@click.option("--id-bits", type=click.Choice(["20", "28"]), default=str(spec.A2_DEFAULT_ID_BITS),
              show_default=True, help="Platform-ID width used to split the message.")
@click.option("--pfa", type=float, default=None,
              help="Detector false-alarm probability per spectral bin (default 5e-8).")
@click.option("--polarity", type=click.Choice(["auto", "normal", "inverted"]), default="auto",
              show_default=True, help="Bit polarity: resolved from the sync word unless forced.")
@click.option("--all-bursts", is_flag=True, help="Also write detected bursts that did not decode, with the reason.")
@click.option("--formats", default="A2,VLD", show_default=True,
              help="Formats tried on every detected carrier: A2, VLD, A3 (PTT-A3/ZE, unconfirmed modulation).")
@click.option("--annotate", is_flag=True,
              help="Add one SigMF annotation per decoded burst to the capture's metadata.")
@click.option("--chunk-size", type=click.IntRange(1, 1 << 24), default=1 << 16, show_default=True,
              help="Samples read per chunk (the output does not depend on it).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def replay(path, output, samp_rate, center_freq, datatype, id_bits, pfa, polarity, all_bursts,
           formats, annotate, chunk_size, no_progress):
    """Decode the Argos bursts in a capture (SigMF, raw .cf32/.cs16/.cs8/.cu8, IQ WAV).

    Writes one JSON object per decoded burst; a progress bar and a one-line summary go to
    standard error. Runs the shipped flowgraph a2_receiver (see `argosneo run`).
    """
    from tqdm import tqdm

    from argosneo.detect.carrier import DEFAULT_PFA
    from argosneo.flowgraph import resolve_flowgraph
    from argosneo.flowgraph.runtime import Runtime
    from argosneo.flowgraph.schema import load_flowgraph
    from argosneo.io.reader import open_capture
    from argosneo.receiver import DecodedBurst

    # Open the capture here first: a bad input is reported in the capture's own words (not as
    # a flowgraph parameter problem), and --annotate needs to know what kind of file it is.
    with open_capture(path, samp_rate=samp_rate, center_freq=center_freq, datatype=datatype) as reader:
        info = reader.info
    fg = load_flowgraph(resolve_flowgraph(FLOWGRAPH), variables={
        "input": path, "output": "-" if output is None else output,
        "samp_rate": samp_rate, "center_freq": center_freq, "datatype": datatype,
        "id_bits": int(id_bits), "pfa": pfa or DEFAULT_PFA, "polarity": polarity,
        "all_bursts": bool(all_bursts), "chunk_size": chunk_size, "formats": formats})
    decoded: list[DecodedBurst] = []

    def keep_decoded(port, items):
        decoded.extend(b for b in items if isinstance(b, DecodedBurst))

    bar = tqdm(total=info.total_samples, unit="S", unit_scale=True, desc="replay",
               disable=no_progress or None, file=sys.stderr, leave=False)
    rt = Runtime(fg, mode="offline", progress=bar.update, taps={DECODER: keep_decoded})
    interrupts = []

    def on_sigint(signum, frame):
        interrupts.append(signum)
        if len(interrupts) > 1:
            raise KeyboardInterrupt
        rt.stop()    # what was read is decoded and written (held bursts too), then we stop

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        summary = rt.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        bar.close()
    detections = rt.blocks[DETECTOR].state().get("detections", 0)
    rejected = rt.blocks[DECODER].state().get("rejected", 0)
    seconds = summary.samples / summary.sample_rate
    rtf = summary.realtime_factor
    click.echo(
        f"argosneo replay: {len(decoded)} bursts decoded from {seconds:.1f} s of samples "
        f"({detections} carriers detected, {rejected} not decoded) "
        f"in {summary.seconds:.1f} s, {rtf:.1f}x real time", err=True)
    if annotate and decoded:
        _annotate(reader, decoded)
    if summary.interrupted:
        raise click.exceptions.Abort()


def _annotate(reader, bursts) -> None:
    from argosneo.io.writer import make_annotation, write_annotations

    if reader.kind != "sigmf":
        raise ArgosneoError("--annotate needs a SigMF recording (.sigmf-meta + .sigmf-data)")
    fs = reader.info.sample_rate
    notes = []
    for b in bursts:
        record = b.to_record()
        count = int(round(record["duration_s"] * fs))
        centre = b.frequency_hz
        notes.append(make_annotation(
            b.sample_start, count,
            label=f"{record['format']} {record['platform_id']}",
            comment=f"N={record['length_code']} C/N0={record['cn0_dbhz']} dB-Hz msg={record['message_hex']}",
            freq_lower_edge=None if centre is None else centre - 1600.0,
            freq_upper_edge=None if centre is None else centre + 1600.0,
            extra={"offset_hz": record["offset_hz"], "drift_hz_s": record["drift_hz_s"]},
        ))
    write_annotations(reader.files[0], notes, replace=True)
