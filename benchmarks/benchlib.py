"""Shared machinery of the receiver benchmarks (``bench_per``, ``bench_accuracy``, ``bench_crowd``,
``bench_replay``): test-capture generation with the emulator, running the receiver in memory or
as ``argosneo replay`` in a child process (wall time and peak RSS), matching decoded bursts to the
emulator's ground truth, theory curves and result files.

Matching rule (the same in every benchmark): a decoded burst matches a transmitted one when its
first carrier sample is within ``TIME_TOL_S`` of the true start and its carrier frequency (at the
burst start) within ``FREQ_TOL_HZ`` of the true one; each transmitted burst takes at most one
decode (closest first). A transmitted burst is *correct* when its decode has the right length N
and exactly the transmitted message bits (platform ID + data). A decode matching nothing is a
*false decode*; a second decode of an already matched burst is a *duplicate*.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "benchmarks" / "results"
PYTHON = Path(sys.executable)

#: Largest start-time difference for a decode to match a transmitted burst (s).
TIME_TOL_S = 5e-3
#: Largest carrier-frequency difference for a decode to match a transmitted burst (Hz).
FREQ_TOL_HZ = 50.0
#: A rejected detection explains a transmitted burst when the frame that saw it starts at most
#: this long before the burst (s) and lies before its end, within this frequency (Hz).
REJECTED_EARLY_S = 0.2
REJECTED_FREQ_TOL_HZ = 300.0
#: Noise variance of in-memory captures: per-component RMS 0.2 of full scale, as in the
#: emulator's 8-bit files, so levels in dBFS look like a real capture's.
NOISE_VARIANCE = 2 * 0.2 ** 2
#: Frame outcome names, in the order they are reported.
OUTCOMES = ("ok", "wrong_bits", "wrong_length", "rejected", "missed")


# --- environment --------------------------------------------------------------------------------


def machine_info() -> dict:
    """CPU model, core count, versions, date and git commit of the run."""
    model = platform.processor() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    import numba
    import scipy

    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu_model": model, "cpus": os.cpu_count(), "python": platform.python_version(),
        "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
        "git_commit": commit, "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
    }


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON (numpy scalars become numbers)."""
    def plain(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"not JSON serialisable: {type(o).__name__}")

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, default=plain) + "\n", encoding="utf-8")


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion ``k / n`` (``(nan, nan)`` for n = 0)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


# --- theory -------------------------------------------------------------------------------------


def theory_per(ebn0_db, n_blocks=range(1, 9)):
    """Theoretical PER averaged over a mix of lengths (equal weight per entry of ``n_blocks``)."""
    from argosneo import spec

    ebn0_db = np.asarray(ebn0_db, dtype=float)
    return np.mean([spec.a2_theoretical_per(ebn0_db, int(n)) for n in n_blocks], axis=0)


def crossing(x, y, level: float) -> float | None:
    """First ``x`` where a decreasing curve ``y(x)`` falls through ``level``, interpolating
    ``log10 y`` linearly between the bracketing points (None when it does not cross)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    for i in range(len(x) - 1):
        if y[i] >= level > y[i + 1]:
            if y[i + 1] <= 0:
                # log interpolation needs a positive value; 0 errors out of n is below any level
                return float(x[i] + (x[i + 1] - x[i]) * (y[i] - level) / (y[i] - y[i + 1]))
            a, b = math.log10(y[i]), math.log10(y[i + 1])
            return float(x[i] + (x[i + 1] - x[i]) * (a - math.log10(level)) / (a - b))
    return None


def theory_crossing(level: float, n_blocks=range(1, 9)) -> float:
    """Eb/N0 (dB) where the theoretical PER of the length mix equals ``level``."""
    grid = np.arange(0.0, 20.0, 0.005)
    return crossing(grid, theory_per(grid, n_blocks), level)


# --- test captures ------------------------------------------------------------------------------


def slotted_scenario(*, ebn0_db: float, bursts: int, seed: int, sample_rate: float = 250e3,
                     offset_range_hz: float = 100e3, drift_hz_s: float = 50.0, per_slot: int = 4,
                     min_separation_hz: float = 15e3, n_blocks=(1, 8), slot_s: float = 1.25):
    """A scenario of ``bursts`` bursts at one Eb/N0 that never collide.

    Time is cut into ``slot_s`` slots (longer than the longest burst plus a gap); each slot
    holds ``per_slot`` bursts that start at a random time in its first 0.1 s, at random carrier
    offsets in ±``offset_range_hz`` at least ``min_separation_hz`` apart, with a random drift in
    ±``drift_hz_s`` and a random length N in ``n_blocks``. Every burst is its own platform (one
    transmission), so all draws are explicit here and the emulator only renders.

    Returns
    -------
    argosneo.synth.Scenario
    """
    from argosneo.synth import Platform, Scenario

    rng = np.random.default_rng([seed, 7919])
    plats = []
    n_slots = math.ceil(bursts / per_slot)
    pid_used = set()
    for s in range(n_slots):
        k = min(per_slot, bursts - s * per_slot)
        offs: list[float] = []
        while len(offs) < k:
            f = float(rng.uniform(-offset_range_hz, offset_range_hz))
            if all(abs(f - g) >= min_separation_hz for g in offs):
                offs.append(f)
        for f in offs:
            while True:
                pid = int(rng.integers(1, 1 << 28))
                if pid not in pid_used:
                    pid_used.add(pid)
                    break
            plats.append(Platform(
                platform_id=pid, id_bits=28, n_blocks=int(rng.integers(n_blocks[0], n_blocks[1] + 1)),
                data="random", period_s=1e6, jitter_s=0.0,
                first_tx_s=0.05 + s * slot_s + float(rng.uniform(0.0, 0.1)), offset_hz=f,
                drift_hz_s=float(rng.uniform(-drift_hz_s, drift_hz_s)), ebn0_db=float(ebn0_db)))
    return Scenario(sample_rate=sample_rate, duration_s=0.05 + n_slots * slot_s + 0.2,
                    noise_variance=NOISE_VARIANCE, seed=seed, platforms=plats)


def run_receiver_in_memory(scenario, *, chunk_samples: int = 1 << 16, keep_rejected: bool = True,
                           receiver_kwargs: dict | None = None):
    """Render a scenario chunk by chunk and feed it to :class:`argosneo.receiver.A2Receiver`.

    Returns
    -------
    records : list of dict
        ``to_record()`` of every decoded burst plus, with ``keep_rejected``, every rejected one;
        each gets ``"_kind"`` = ``"decoded"`` or ``"rejected"``.
    truths : list of BurstTruth
    info : dict
        ``stats`` of the receiver, ``channel_offsets_hz``, ``seconds`` of receiver time,
        ``samples``.
    """
    from argosneo.io.chunk import SampleChunk, StreamInfo
    from argosneo.receiver import A2Receiver, DecodedBurst
    from argosneo.synth import Emulator

    emu = Emulator(scenario)
    truths = emu.schedule()
    sinfo = StreamInfo(sample_rate=scenario.sample_rate, center_freq=scenario.center_freq,
                       start_time=scenario.start_time, total_samples=emu.total_samples)
    rx = A2Receiver(sinfo, keep_rejected=keep_rejected, **(receiver_kwargs or {}))
    records = []
    busy = 0.0

    def take(bursts):
        for b in bursts:
            rec = b.to_record()
            rec["_kind"] = "decoded" if isinstance(b, DecodedBurst) else "rejected"
            records.append(rec)

    for pos, x in emu.chunks(chunk_samples):
        t0 = time.perf_counter()
        take(rx.process(SampleChunk(x, pos, sinfo)))
        busy += time.perf_counter() - t0
    t0 = time.perf_counter()
    take(rx.flush())
    busy += time.perf_counter() - t0
    return records, truths, {
        "stats": _stats_dict(rx.stats), "channel_offsets_hz": np.asarray(rx.channel_offsets_hz, float),
        "channel_rate": float(rx.channel_rate), "seconds": busy, "samples": emu.total_samples,
    }


def _stats_dict(stats) -> dict:
    import dataclasses

    return dataclasses.asdict(stats) if dataclasses.is_dataclass(stats) else dict(stats)


# --- matching -----------------------------------------------------------------------------------


def _hex_int(value) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value), 16)
    except ValueError:
        return None


@dataclass
class Outcome:
    """What happened to one transmitted burst."""

    truth: object                  #: BurstTruth
    outcome: str                   #: one of OUTCOMES
    record: dict | None = None     #: the matched decode (or rejected record)
    reason: str = ""               #: rejection reason, for ``rejected``
    bit_errors: int | None = None  #: message bit errors when the length is right
    time_error_s: float | None = None
    freq_error_hz: float | None = None


@dataclass
class Matching:
    """Result of :func:`match`."""

    outcomes: list[Outcome]
    false_decodes: list[dict] = field(default_factory=list)
    duplicates: list[dict] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(o.outcome == outcome for o in self.outcomes)

    def rejected_reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.outcomes:
            if o.outcome == "rejected":
                out[o.reason] = out.get(o.reason, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def summary(self) -> dict:
        n = len(self.outcomes)
        s = {k: self.count(k) for k in OUTCOMES}
        s.update(bursts=n, false_decodes=len(self.false_decodes), duplicates=len(self.duplicates),
                 rejected_reasons=self.rejected_reasons())
        return s


def _reason(rec: dict) -> str:
    r = str(rec.get("reason") or rec.get("rejected") or "unknown")
    # keep reasons countable: numbers inside a reason ("sync word has 5 bit errors") vary
    return " ".join("#" if any(c.isdigit() for c in w) else w for w in r.split())


def classify_records(records, truths, sample_rate: float, grade) -> tuple[list[str], int]:
    """Outcome per truth and the number of decoded records that match no burst, for formats
    scored by their own rule: each truth takes the first unused decoded record within
    ``TIME_TOL_S`` (+ 2 samples) and ``FREQ_TOL_HZ``, and ``grade(record, truth)`` names the
    outcome of that pair; a truth without one is ``"rejected"`` when a rejected record lies
    within ``REJECTED_FREQ_TOL_HZ``, else ``"missed"``."""
    used = set()
    outcomes = []
    for t in truths:
        def near(r, tol_hz):
            return (abs(r["sample_start"] - t.start_sample) <= TIME_TOL_S * sample_rate + 2
                    and abs(r["offset_hz"] - t.offset_hz) <= tol_hz)
        dec = [i for i, r in enumerate(records) if r["_kind"] == "decoded" and i not in used
               and near(r, FREQ_TOL_HZ)]
        if dec:
            used.add(dec[0])
            outcomes.append(grade(records[dec[0]], t))
            continue
        rej = [r for r in records if r["_kind"] == "rejected" and near(r, REJECTED_FREQ_TOL_HZ)]
        outcomes.append("rejected" if rej else "missed")
    false = sum(1 for i, r in enumerate(records) if r["_kind"] == "decoded" and i not in used)
    return outcomes, false


def match(records, truths, sample_rate: float, *, time_tol_s: float = TIME_TOL_S,
          freq_tol_hz: float = FREQ_TOL_HZ) -> Matching:
    """Match receiver records to the ground truth (rule in the module docstring).

    Parameters
    ----------
    records : list of dict
        ``to_record()`` dicts (``sample_start``, ``offset_hz``, ``length_code``,
        ``message_hex``...). A record with ``"_kind": "rejected"`` is a burst the receiver
        found but could not decode; it only explains a miss.
    truths : list of BurstTruth
    sample_rate : float
        Capture rate (to turn sample differences into seconds).

    Returns
    -------
    Matching
    """
    truths = list(truths)
    starts = np.array([t.start_sample_exact for t in truths], float)
    order = np.argsort(starts)
    s_sorted = starts[order]
    tol = time_tol_s * sample_rate

    def candidates(rec):
        s = float(rec["sample_start"])
        lo, hi = np.searchsorted(s_sorted, [s - tol - 1, s + tol + 1])
        out = []
        for j in order[lo:hi]:
            t = truths[j]
            dt = (s - t.start_sample_exact) / sample_rate
            df = float(rec["offset_hz"]) - t.offset_hz
            if abs(dt) <= time_tol_s and abs(df) <= freq_tol_hz:
                out.append((abs(dt) / time_tol_s + abs(df) / freq_tol_hz, int(j), dt, df))
        return out

    decoded = [r for r in records if r.get("_kind", "decoded") == "decoded"]
    rejected = [r for r in records if r.get("_kind") == "rejected"]
    pairs = []
    false_decodes = []
    for i, rec in enumerate(decoded):
        c = candidates(rec)
        if not c:
            false_decodes.append(rec)
        pairs += [(d, i, j, dt, df) for d, j, dt, df in c]
    pairs.sort()
    truth_taken: dict[int, tuple] = {}
    rec_taken: set[int] = set()
    for d, i, j, dt, df in pairs:
        if i in rec_taken or j in truth_taken:
            continue
        truth_taken[j] = (i, dt, df)
        rec_taken.add(i)
    duplicates = [decoded[i] for i in range(len(decoded))
                  if i not in rec_taken and candidates(decoded[i])]

    # a rejected record carries the detector's view: the start of the spectral frame that saw
    # the carrier (anywhere inside it) and a coarse frequency; it explains a miss it overlaps
    ends = np.array([t.end_sample for t in truths], float)
    rej_for: dict[int, dict] = {}
    for rec in rejected:
        s = float(rec["sample_start"])
        f = float(rec["offset_hz"])
        c = [(abs(f - truths[j].offset_hz), int(j)) for j in range(len(truths))
             if starts[j] - REJECTED_EARLY_S * sample_rate <= s <= ends[j]
             and abs(f - truths[j].offset_hz) <= REJECTED_FREQ_TOL_HZ]
        if c:
            rej_for.setdefault(min(c)[1], rec)

    outcomes = []
    for j, t in enumerate(truths):
        if j in truth_taken:
            i, dt, df = truth_taken[j]
            rec = decoded[i]
            n_rx = int(rec.get("length_code"))
            if n_rx != t.n_blocks:
                outcomes.append(Outcome(t, "wrong_length", rec, time_error_s=dt, freq_error_hz=df))
                continue
            got, want = _hex_int(rec.get("message_hex")), int(t.message_hex, 16)
            errors = bin(got ^ want).count("1") if got is not None else len(t.message_bits)
            outcomes.append(Outcome(t, "ok" if errors == 0 else "wrong_bits", rec, bit_errors=errors,
                                    time_error_s=dt, freq_error_hz=df))
        elif j in rej_for:
            outcomes.append(Outcome(t, "rejected", rej_for[j], reason=_reason(rej_for[j])))
        else:
            outcomes.append(Outcome(t, "missed"))
    return Matching(outcomes, false_decodes, duplicates)


def channel_position(offset_hz, channel_offsets_hz) -> np.ndarray:
    """Distance of each offset from its nearest channel centre, in channel spacings (0…0.5)."""
    c = np.sort(np.asarray(channel_offsets_hz, float))
    spacing = float(np.median(np.diff(c))) if c.size > 1 else 1.0
    off = np.asarray(offset_hz, float)
    d = np.min(np.abs(off[:, None] - c[None, :]), axis=1) if c.size else np.zeros_like(off)
    return d / spacing


#: A transmitted burst has a *close neighbour* when another burst within this frequency distance
#: (Hz) ends less than ``NEIGHBOUR_BEFORE_S`` before it starts or starts less than
#: ``NEIGHBOUR_AFTER_S`` after it starts (the span of the receiver's burst window: look-back,
#: longest burst, tail). Used to explain failures in crowded captures.
NEIGHBOUR_HZ = 3.5e3
NEIGHBOUR_BEFORE_S = 0.35
NEIGHBOUR_AFTER_S = 1.1


def close_neighbours(truths) -> list[list]:
    """For every burst, its close neighbours as ``[df_hz, start_s, end_s]`` relative to it."""
    truths = list(truths)
    st = np.array([t.start_time_s for t in truths])
    en = np.array([t.end_time_s for t in truths])
    fr = np.array([t.offset_hz for t in truths])
    out = []
    for i, t in enumerate(truths):
        sel = ((np.abs(fr - t.offset_hz) < NEIGHBOUR_HZ) & (st < t.start_time_s + NEIGHBOUR_AFTER_S)
               & (en > t.start_time_s - NEIGHBOUR_BEFORE_S))
        sel[i] = False
        out.append([[round(float(fr[j] - t.offset_hz), 1), round(float(st[j] - t.start_time_s), 3),
                     round(float(en[j] - t.start_time_s), 3)] for j in np.flatnonzero(sel)])
    return out


def neighbour_breakdown(outcomes) -> dict:
    """Failures split by whether the burst had a close neighbour (see :func:`close_neighbours`)."""
    nb = close_neighbours([o.truth for o in outcomes])
    with_nb = [o for o, n in zip(outcomes, nb) if n]
    without = [o for o, n in zip(outcomes, nb) if not n]
    return {"with_neighbour": {"bursts": len(with_nb), "failed": sum(o.outcome != "ok" for o in with_nb)},
            "without_neighbour": {"bursts": len(without), "failed": sum(o.outcome != "ok" for o in without)},
            "rule": f"another burst within {NEIGHBOUR_HZ:g} Hz ending < {NEIGHBOUR_BEFORE_S:g} s before "
                    f"the start or starting < {NEIGHBOUR_AFTER_S:g} s after it"}, nb


def truth_records(truths) -> list[dict]:
    """Records a perfect receiver would produce for ``truths`` (harness self-test)."""
    return [{"_kind": "decoded", "sample_start": t.start_sample, "offset_hz": t.offset_hz,
             "length_code": t.n_blocks, "message_hex": t.message_hex, "cn0_dbhz": t.cn0_dbhz,
             "drift_hz_s": t.drift_hz_s} for t in truths]


# --- replay in a child process --------------------------------------------------------------------


def replay_command(capture: Path, *, samp_rate: float | None = None, extra=()) -> list[str]:
    """``argosneo replay`` command line for ``capture`` (JSON records on stdout)."""
    exe = PYTHON.parent / "argosneo"
    cmd = ([str(exe)] if exe.exists() else [str(PYTHON), "-m", "argosneo.cli"]) + ["replay", str(capture)]
    if samp_rate:
        cmd += ["--samp-rate", f"{samp_rate:g}"]
    return cmd + list(extra)


@dataclass
class ChildRun:
    """Wall time, CPU time, peak RSS and output of one child process."""

    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout_path: Path
    stderr: str


def run_child(cmd, *, stdout_path: Path, cpu: int | None = 0, threads: int = 1,
              nice: int = 0, timeout: float | None = None) -> ChildRun:
    """Run ``cmd`` (pinned to ``cpu`` with ``taskset`` when given, Numba/BLAS limited to
    ``threads``), stdout to a file; peak RSS from ``wait4`` of that very child."""
    env = dict(os.environ)
    for k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(threads)
    env.setdefault("PYTHONPATH", str(ROOT))
    full = list(map(str, cmd))
    if cpu is not None and shutil.which("taskset"):
        full = ["taskset", "-c", str(cpu)] + full
    if nice and shutil.which("nice"):
        full = ["nice", "-n", str(nice)] + full
    with open(stdout_path, "wb") as out, open(str(stdout_path) + ".err", "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(full, stdout=out, stderr=err, env=env, cwd=str(ROOT))
        deadline = None if timeout is None else t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if deadline is not None and time.perf_counter() > deadline:
                proc.kill()
            time.sleep(0.02)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = Path(str(stdout_path) + ".err").read_text(errors="replace")
    # Linux reports ru_maxrss in KiB
    return ChildRun(proc.returncode, wall, ru.ru_utime, ru.ru_stime, ru.ru_maxrss / 1024.0,
                    Path(stdout_path), stderr)


def read_records(path: Path) -> list[dict]:
    """JSON records, one per line (other lines, e.g. a summary, are skipped)."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as fp:
        for line in fp:
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            if "sample_start" in rec and "offset_hz" in rec:
                rejected = rec.get("decoded") is False or "reason" in rec
                rec.setdefault("_kind", "rejected" if rejected else "decoded")
                out.append(rec)
    return out


# --- plotting -----------------------------------------------------------------------------------


def pyplot():
    """matplotlib.pyplot with the non-interactive backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
