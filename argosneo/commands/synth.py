"""``argosneo synth``: write a synthetic Argos capture (PTT-A2, A4 VLD, PTT-A3/ZE; SigMF) with its
ground truth."""

from __future__ import annotations

import math
import re
from collections import defaultdict

import click

from argosneo import spec
from argosneo.errors import ScenarioError

_DATATYPES = ("cf32_le", "ci16_le", "ci8", "cu8")
#: Per-platform summary lines printed at most (the truth file lists everything).
_MAX_PLATFORM_LINES = 25
#: ``--format`` choices and the formats they draw from (one per platform).
#: ``mixed`` stays A2 + VLD (what the receiver decodes by default); ``all`` adds the Argos-3
#: formats, whose modulation model is unconfirmed (decode with ``replay --formats A2,VLD,A3``).
_FORMAT_CHOICES = {"A2": ("A2",), "VLD": ("VLD",), "A3": ("A3",), "ZE": ("ZE",),
                   "mixed": ("A2", "VLD"), "all": ("A2", "VLD", "A3", "ZE")}


def _parse_range(text: str | None, flag: str, *, integer: bool = False):
    """``"15"`` → (15, 15); ``"8,25"`` / ``"8:25"`` / ``"8..25"`` → (8, 25)."""
    if text is None:
        return None
    parts = [p for p in re.split(r"\s*(?:,|:|\.\.)\s*", str(text).strip()) if p != ""]
    if not 1 <= len(parts) <= 2:
        raise ScenarioError(f"{flag}: expected a value or LOW,HIGH, got {text!r}")
    try:
        vals = [int(p, 0) if integer else float(p) for p in parts]
    except ValueError:
        raise ScenarioError(f"{flag}: expected {'integers' if integer else 'numbers'}, got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise ScenarioError(f"{flag}: values must be finite, got {text!r}")
    lo, hi = vals[0], vals[-1]
    if hi < lo:
        raise ScenarioError(f"{flag}: LOW {lo} is above HIGH {hi}")
    return (lo, hi)


def _build_scenario(opts: dict):
    from argosneo.synth.scenario import CrowdSpec, Scenario

    rate = opts["rate"] if opts["rate"] is not None else 250e3
    duration = opts["duration"] if opts["duration"] is not None else 10.0
    n_blocks = _parse_range(opts["n_blocks"] or "1,8", "--n-blocks", integer=True)
    if not 1 <= n_blocks[0] <= n_blocks[1] <= spec.A2_MAX_BLOCKS:
        raise ScenarioError(f"--n-blocks: must be within 1..{spec.A2_MAX_BLOCKS}, got {opts['n_blocks']!r}")
    from argosneo.synth.scenario import Platform
    from argosneo.synth.vld import vld_burst_duration

    formats = _FORMAT_CHOICES[opts["format"]]
    longest = max(([spec.a2_burst_duration_s(n_blocks[1])] if "A2" in formats else [])
                  + ([vld_burst_duration(max(spec.A4_VLD_BLOCKS))] if "VLD" in formats else [])
                  + ([Platform(1, format="A3", n_blocks=n_blocks[1]).burst_duration_s] if "A3" in formats else [])
                  + ([Platform(1, format="ZE").burst_duration_s] if "ZE" in formats else []))
    if duration < longest:
        raise ScenarioError(f"--duration: {duration:g} s is shorter than one burst ({longest:g} s)")
    offset = opts["offset_range"] or (-spec.A2_BAND_HALF_WIDTH_HZ, spec.A2_BAND_HALF_WIDTH_HZ)
    if offset[1] < offset[0]:
        raise ScenarioError(f"--offset-range: LOW {offset[0]:g} is above HIGH {offset[1]:g}")
    if max(abs(offset[0]), abs(offset[1])) >= rate / 2:
        raise ScenarioError(f"--offset-range: [{offset[0]:g}, {offset[1]:g}] Hz does not fit in "
                            f"--rate {rate:g} S/s (±{rate / 2:g} Hz)")
    if opts["ebn0"] is not None and opts["cn0"] is not None:
        raise ScenarioError("--ebn0 and --cn0: give one of them")
    id_bits = {"20": (20,), "28": (28,), "mixed": (20, 28)}[opts["id_bits"]]
    crowd = CrowdSpec(
        count=opts["platforms"] if opts["platforms"] is not None else 3,
        offset_range_hz=offset,
        ebn0_db=_parse_range(opts["ebn0"] or "15", "--ebn0") if opts["cn0"] is None else None,
        cn0_dbhz=_parse_range(opts["cn0"], "--cn0"),
        drift_hz_s=_parse_range(opts["drift"] or "0", "--drift"),
        period_s=_parse_range(opts["period"] or "60", "--period"),
        n_blocks=n_blocks,
        id_bits=id_bits,
        formats=formats,
        # every platform transmits at least once inside the capture
        first_tx_s=(0.0, duration - longest),
    )
    return Scenario(
        sample_rate=rate,
        center_freq=opts["center_freq"] if opts["center_freq"] is not None else spec.A2_NOMINAL_CENTER_HZ,
        duration_s=duration,
        seed=opts["seed"] if opts["seed"] is not None else 1,
        datatype=opts["datatype"] or "cf32_le",
        crowd=crowd,
        avoid_collisions=not opts["allow_collisions"],
        add_noise=not opts["no_noise"],
        **({"start_time": opts["start_time"]} if opts["start_time"] else {}),
    )


def _apply_overrides(scenario, opts: dict):
    """Command-line capture settings override the scenario file's."""
    from dataclasses import replace

    changes = {}
    for opt, key in (("rate", "sample_rate"), ("center_freq", "center_freq"), ("duration", "duration_s"),
                     ("seed", "seed"), ("datatype", "datatype"), ("start_time", "start_time")):
        if opts[opt] is not None:
            changes[key] = opts[opt]
    if opts["no_noise"]:
        changes["add_noise"] = False
    if opts["allow_collisions"]:
        changes["avoid_collisions"] = False
    return replace(scenario, **changes) if changes else scenario


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n} B"


@click.command("synth")
@click.argument("out_base", type=click.Path(dir_okay=False))
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False),
              help="YAML scenario file (platform flags are then not allowed).")
@click.option("--rate", type=float, default=None, help="Sample rate, S/s [250e3].")
@click.option("--center-freq", type=float, default=None, help="Capture centre frequency, Hz [401.65e6].")
@click.option("--duration", type=float, default=None, help="Capture length, s [10].")
@click.option("--platforms", type=click.IntRange(0, 100000), default=None,
              help="Number of random platforms [3]; each transmits at least once.")
@click.option("--offset-range", type=(float, float), default=None, metavar="LOW HIGH",
              help="Carrier offsets from the centre, Hz [-30e3 30e3].")
@click.option("--ebn0", default=None, metavar="DB|LOW,HIGH", help="Eb/N0 in dB, fixed or a range [15].")
@click.option("--cn0", default=None, metavar="DBHZ|LOW,HIGH", help="C/N0 in dB-Hz instead of --ebn0.")
@click.option("--drift", default=None, metavar="HZ_S|LOW,HIGH", help="Frequency drift, Hz/s [0].")
@click.option("--period", default=None, metavar="S|LOW,HIGH", help="Repetition period, s [60] (±10 % jitter).")
@click.option("--n-blocks", default=None, metavar="N|LOW,HIGH", help="Message length N (1..8) [1,8].")
@click.option("--id-bits", type=click.Choice(["20", "28", "mixed"]), default="28", show_default=True,
              help="Platform ID width.")
@click.option("--format", "format", type=click.Choice(list(_FORMAT_CHOICES)), default="A2", show_default=True,
              help="What the platforms transmit: PTT-A2, A4 VLD (random coded blocks, short or "
                   "long), PTT-A3, PTT-ZE, mixed (A2 or VLD, drawn per platform) or all (A2, VLD, "
                   "A3 or ZE). A3/ZE: Eb per information bit (400 bit/s); modulation model unconfirmed.")
@click.option("--seed", type=click.IntRange(0, None), default=None, help="Random seed [1].")
@click.option("--datatype", type=click.Choice(_DATATYPES), default=None, help="Sample format [cf32_le].")
@click.option("--start-time", default=None, metavar="ISO", help="UTC time of sample 0 [2026-11-25T12:00:00Z].")
@click.option("--allow-collisions", is_flag=True, help="Let random bursts overlap in time and frequency.")
@click.option("--no-noise", is_flag=True, help="Bursts only (levels still relative to unit noise).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def synth(out_base, scenario_file, no_progress, **opts):
    """Write a synthetic Argos capture OUT_BASE.sigmf-meta/-data and OUT_BASE.truth.json.

    Without --scenario, random platforms are drawn from the flags; with it, the YAML file
    describes the platforms and --rate/--center-freq/--duration/--seed/--datatype/--start-time
    override its capture settings.
    """
    from argosneo.synth.emulator import write_capture
    from argosneo.synth.scenario import Scenario

    if scenario_file:
        flagged = [f"--{k.replace('_', '-')}" for k in
                   ("platforms", "offset_range", "ebn0", "cn0", "drift", "period", "n_blocks")
                   if opts[k] is not None]
        if opts["id_bits"] != "28":
            flagged.append("--id-bits")
        if opts["format"] != "A2":
            flagged.append("--format")
        if flagged:
            raise ScenarioError(f"{', '.join(flagged)}: cannot be combined with --scenario "
                                "(describe the platforms in the YAML file)")
        scenario = _apply_overrides(Scenario.from_yaml(scenario_file), opts)
    else:
        scenario = _build_scenario(opts)

    result = write_capture(scenario, out_base, progress=not no_progress)
    _print_summary(scenario, result)


def _print_summary(scenario, result) -> None:
    bursts = result.bursts
    size = result.data_path.stat().st_size if result.data_path.exists() else 0
    click.echo(f"wrote {result.data_path} ({scenario.datatype}, {scenario.sample_rate:g} S/s, "
               f"{scenario.duration_s:g} s, {_fmt_bytes(size)}), {result.meta_path.name}, "
               f"{result.truth_path.name}")
    platforms = {b.platform_index for b in bursts}
    extra = f", {result.dropped_bursts} dropped to avoid collisions" if result.dropped_bursts else ""
    click.echo(f"{len(bursts)} bursts from {len(platforms)} platforms{extra}; centre "
               f"{scenario.center_freq / 1e6:.6f} MHz, seed {scenario.seed}, sample scale "
               f"{result.sample_scale:.4g}")
    per = defaultdict(list)
    for b in bursts:
        per[b.platform_index].append(b)
    shown = sorted(per)[:_MAX_PLATFORM_LINES]
    for pi in shown:
        bs = per[pi]
        b = bs[0]
        times = ", ".join(f"{x.start_time_s:.3f}" for x in bs[:6]) + (" ..." if len(bs) > 6 else "")
        if b.format == "VLD":
            what = f"{'VLD':>10} {'short' if b.n_blocks == 1 else 'long ':9}"
        elif b.format == "A3":
            what = f"{b.platform_id_hex:>10} A3     N={b.n_blocks}"
        elif b.format == "ZE":
            what = f"{b.platform_id_hex:>10} ZE        "
        else:
            what = f"{b.platform_id_hex:>10} ({b.id_bits}-bit) N={b.n_blocks}"
        click.echo(f"  {what} "
                   f"offset {b.offset_hz:+10.1f} Hz drift {b.drift_hz_s:+6.1f} Hz/s "
                   f"Eb/N0 {b.ebn0_db:5.1f} dB: {len(bs)} burst{'s' if len(bs) != 1 else ''} at {times} s")
    if len(per) > len(shown):
        click.echo(f"  ... and {len(per) - len(shown)} more platforms (all bursts are in {result.truth_path.name})")
