"""The transmitter emulator (PTT-A2, A4 VLD, PTT-A3 and PTT-ZE): schedule every burst of a scenario, render any span of samples, write
SigMF captures with a ground-truth file.

Everything random is drawn from the scenario seed, in advance (:meth:`Emulator.schedule`), so a
capture is a pure function of its scenario. Noise comes in fixed blocks of
:data:`NOISE_BLOCK_SAMPLES` samples, block ``b`` drawn from its own generator seeded by
``(seed, b)``; bursts are computed from absolute sample indices. Hence
``render(a, n)`` returns the same samples however the capture is cut into chunks.

Sample units: :meth:`Emulator.render` returns *physical* samples (noise of variance
``scenario.noise_variance``, bursts of their truth amplitude). :func:`write_capture` multiplies
them by :attr:`Emulator.sample_scale` before writing, which is 1 for ``cf32_le`` and, for integer
formats, puts the RMS of each component (noise plus the strongest set of simultaneous bursts) at
1/5 of full scale for 8-bit formats and 1/10 for ``ci16_le`` (5σ / 10σ of headroom before
clipping, so about one component in 1.7 million clips in 8-bit files; cu8 noise then spans ~25 LSB
rms, whose quantisation noise is 39 dB below the thermal noise). Eb/N0 is a ratio, so the scale does not change it; it is written to the truth file.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from argosneo import spec
from argosneo import spec_a3 as s3
from argosneo.coding import a3 as a3_coding
from argosneo.errors import ScenarioError
from argosneo.io.writer import sigmf_datetime
from argosneo.synth import a2, vld
from argosneo.synth.a3 import render_a3_burst
from argosneo.synth.scenario import A3_FORMATS, Platform, Scenario, ebn0_to_cn0

__all__ = [
    "BurstTruth",
    "Emulator",
    "SynthResult",
    "synthesize",
    "write_capture",
    "truth_path_for",
    "load_truth",
    "NOISE_BLOCK_SAMPLES",
    "ANNOTATION_HALF_WIDTH_HZ",
]

#: Noise is generated in blocks of this many samples, each from its own seeded generator.
NOISE_BLOCK_SAMPLES = 1 << 16
#: Half-width of the SigMF annotation frequency box around the carrier (Hz): 95 % of an A2
#: burst's power lies within ±1.94 kHz; ±1.6 kHz holds the carrier and the main data lobes.
ANNOTATION_HALF_WIDTH_HZ = 1.6e3
#: Per-component RMS (fraction of full scale) targeted for integer datatypes (see module doc).
_INTEGER_TARGET_RMS = {"cu8": 0.2, "ci8": 0.2, "ci16_le": 0.1}
#: Attempts to re-place a colliding crowd burst inside its jitter window before dropping it.
_COLLISION_TRIES = 50

# random stream identifiers under the scenario seed (see scenario._STREAM_CROWD = 1)
_STREAM_NOISE = 2
_STREAM_SCHEDULE = 3


@dataclass
class BurstTruth:
    """What was transmitted in one burst (the receiver's expected answer).

    Sample positions are absolute indices in the capture. The burst starts (carrier onset) at
    the fractional position ``start_sample_exact``; ``start_sample = ceil(start_sample_exact)``
    is the first sample carrying it and ``start_frac = start_sample - start_sample_exact``
    (in [0, 1)) how far before that sample it began. ``end_sample`` is exclusive.
    Frequencies: ``offset_hz`` is the carrier at the burst start relative to the capture centre,
    ``frequency_hz`` the same in absolute terms; the carrier at time t into the burst is
    ``offset_hz + drift_hz_s · t``. ``amplitude`` is in physical units (noise variance
    ``noise_variance`` of the scenario); multiply by the capture's ``sample_scale`` for file
    full-scale units.

    ``format`` is ``"A2"`` or ``"VLD"``. For VLD, ``bits`` is the over-air stream (sync, 2-bit
    length field, coded blocks), ``length_code`` the 2-bit field, ``platform_id`` is ``None``
    unless the blocks are the known-answer stream (which encodes 0x1234567), and the
    receiver-comparable fields are :attr:`over_air_hex`, :attr:`over_air_tail_bits` and
    :attr:`blocks_hex`; Eb/N0 uses Eb = power / 200 bit/s.

    For ``"A3"`` and ``"ZE"``, ``bits`` is the over-air stream (30 sync bits, then the permuted
    rate-1/2 code bits, even positions on I), ``datagram`` the information bits before coding
    (A3: length code · ID · data · tail zeros; ZE: ID · tail zeros), ``n_blocks`` is N (0 for
    ZE), ``length_code`` the 4-bit code (``None`` for ZE), ``id_bits`` 28, and :attr:`data_hex`
    is in the receiver's form (no prefix, ``""`` for ZE); Eb/N0 uses Eb = power / 400
    information bit/s.
    """

    index: int
    platform_index: int
    platform_id: int
    id_bits: int
    n_blocks: int
    length_code: int
    start_sample: int
    start_sample_exact: float
    start_frac: float
    end_sample: int
    start_time_s: float
    start_time_utc: _dt.datetime
    duration_s: float
    offset_hz: float
    frequency_hz: float
    drift_hz_s: float
    ebn0_db: float
    cn0_dbhz: float
    amplitude: float
    phase0_rad: float
    beta: float
    bits: np.ndarray = field(repr=False)
    format: str = "A2"
    datagram: np.ndarray | None = field(default=None, repr=False)

    @property
    def sample_count(self) -> int:
        return self.end_sample - self.start_sample

    @property
    def header_bits(self) -> int:
        """Sync + length field bits before the message."""
        if self.format == "VLD":
            return spec.A4_VLD_SYNC_BITS + spec.A4_VLD_LENGTH_BITS
        if self.format in A3_FORMATS:
            return s3.A3_SYNC_BITS
        return spec.A2_SYNC_BITS + spec.A2_LENGTH_FIELD_BITS

    @property
    def message_bits(self) -> np.ndarray:
        """A2: platform ID + data; VLD: the coded blocks (everything after sync and length);
        A3/ZE: the datagram (information bits before coding, tail included)."""
        if self.format in A3_FORMATS:
            return self.datagram
        return self.bits[self.header_bits:]

    @property
    def over_air_hex(self) -> str:
        """Whole hex digits (no prefix) of the over-air stream after the carrier, as in the
        receiver's VLD records."""
        return vld.hex_and_tail(self.bits)[0]

    @property
    def over_air_tail_bits(self) -> str:
        """The last ``len(bits) % 4`` over-air bits as a '0'/'1' string."""
        return vld.hex_and_tail(self.bits)[1]

    @property
    def blocks_hex(self) -> list[str]:
        """VLD: each 45-bit coded block as hex (no prefix, zero-padded to 12 digits)."""
        n = spec.A4_VLD_CODED_BLOCK_BITS
        m = self.message_bits
        return [format(a2.bits_to_int(m[i:i + n]), f"0{(n + 3) // 4}X") for i in range(0, m.size, n)]

    @property
    def message_hex(self) -> str:
        return a2.bits_to_hex(self.message_bits)

    @property
    def data_bits(self) -> np.ndarray:
        """A2: data after the ID; A3: the user data; ZE: none."""
        if self.format == "A3":
            lo = s3.A3_LENGTH_FIELD_BITS + s3.A3_ID_BITS
            return self.datagram[lo:lo + s3.a3_user_bits(self.n_blocks)]
        if self.format == "ZE":
            return self.datagram[:0]
        return self.message_bits[self.id_bits:]

    @property
    def data_hex(self) -> str:
        """A2: ``0x``-prefixed hex; A3/ZE: as the receiver writes it (no prefix, ``""`` for ZE)."""
        if self.format in A3_FORMATS:
            d = self.data_bits
            return "" if d.size == 0 else a2.bits_to_hex(d)[2:]
        return a2.bits_to_hex(self.data_bits)

    @property
    def platform_id_hex(self) -> str | None:
        if self.platform_id is None:
            return None
        return f"0x{self.platform_id:0{math.ceil(self.id_bits / 4)}X}"

    @property
    def bits_hex(self) -> str:
        return a2.bits_to_hex(self.bits)

    @property
    def end_time_s(self) -> float:
        return self.start_time_s + self.duration_s

    def offset_at(self, t_s: float) -> float:
        """Carrier offset (Hz, relative to the centre) ``t_s`` seconds after the burst start."""
        return self.offset_hz + self.drift_hz_s * t_s

    def to_dict(self) -> dict:
        """JSON-ready form (the truth file's ``bursts`` entries)."""
        is_vld = self.format == "VLD"
        d = {
            "index": self.index, "format": self.format, "platform_index": self.platform_index,
            "platform_id": self.platform_id_hex, "id_bits": self.id_bits,
            "n_blocks": self.n_blocks,
            "length_code": (None if self.length_code is None
                            else format(self.length_code, "02b" if is_vld else "04b")),
            "start_sample": self.start_sample, "start_sample_exact": self.start_sample_exact,
            "start_frac": self.start_frac, "end_sample": self.end_sample,
            "start_time_s": self.start_time_s, "start_time_utc": sigmf_datetime(self.start_time_utc),
            "duration_s": self.duration_s, "offset_hz": self.offset_hz,
            "frequency_hz": self.frequency_hz, "drift_hz_s": self.drift_hz_s,
            "ebn0_db": self.ebn0_db, "cn0_dbhz": self.cn0_dbhz, "amplitude": self.amplitude,
            "phase0_rad": self.phase0_rad, "beta": self.beta,
            "message_hex": self.message_hex, "data_hex": None if is_vld else self.data_hex,
            "bits": "".join("1" if b else "0" for b in self.bits),
        }
        if is_vld:
            d.update(over_air_hex=self.over_air_hex, over_air_tail_bits=self.over_air_tail_bits,
                     blocks_hex=self.blocks_hex)
        if self.datagram is not None:
            d["datagram"] = "".join("1" if b else "0" for b in self.datagram)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BurstTruth":
        """Inverse of :meth:`to_dict`."""
        when = _dt.datetime.fromisoformat(d["start_time_utc"].replace("Z", "+00:00"))
        return cls(
            index=int(d["index"]), platform_index=int(d["platform_index"]),
            platform_id=None if d["platform_id"] is None else int(d["platform_id"], 16),
            id_bits=int(d["id_bits"]),
            n_blocks=int(d["n_blocks"]),
            length_code=None if d["length_code"] is None else int(d["length_code"], 2),
            start_sample=int(d["start_sample"]), start_sample_exact=float(d["start_sample_exact"]),
            start_frac=float(d["start_frac"]), end_sample=int(d["end_sample"]),
            start_time_s=float(d["start_time_s"]), start_time_utc=when,
            duration_s=float(d["duration_s"]), offset_hz=float(d["offset_hz"]),
            frequency_hz=float(d["frequency_hz"]), drift_hz_s=float(d["drift_hz_s"]),
            ebn0_db=float(d["ebn0_db"]), cn0_dbhz=float(d["cn0_dbhz"]),
            amplitude=float(d["amplitude"]), phase0_rad=float(d["phase0_rad"]),
            beta=float(d["beta"]), bits=np.array([c == "1" for c in d["bits"]], dtype=np.uint8),
            format=d.get("format", "A2"),
            datagram=(None if d.get("datagram") is None
                      else np.array([c == "1" for c in d["datagram"]], dtype=np.uint8)),
        )


class Emulator:
    """Renders a :class:`~argosneo.synth.scenario.Scenario` as complex baseband samples.

    Parameters
    ----------
    scenario : Scenario
        What to synthesise.

    Examples
    --------
    >>> emu = Emulator(Scenario(duration_s=2, platforms=[Platform(0x1234567, first_tx_s=0.5)]))
    >>> [b.platform_id_hex for b in emu.schedule()]
    ['0x1234567']
    >>> x = emu.render(0, 1000)          # complex64, physical units
    """

    def __init__(self, scenario: Scenario):
        if not isinstance(scenario, Scenario):
            raise ScenarioError(f"Emulator needs a Scenario, got {type(scenario).__name__}")
        self.scenario = scenario
        self.platforms: list[Platform] = scenario.all_platforms()
        self._bursts: list[BurstTruth] | None = None
        self.dropped_bursts = 0

    # --- schedule ----------------------------------------------------------------------------

    def schedule(self) -> list[BurstTruth]:
        """Every burst of the capture, in time order (computed once, from the seed).

        Only bursts lying entirely inside ``[0, duration_s)`` are transmitted. With
        ``avoid_collisions``, explicit platforms are placed first as given, then each crowd burst
        that overlaps an already placed burst in time within ``collision_guard_hz`` (over the
        frequency span its drift covers) is redrawn inside its jitter window, and dropped after
        50 failed attempts (counted in :attr:`dropped_bursts`).
        """
        if self._bursts is None:
            self._bursts = self._make_schedule()
        return self._bursts

    def _make_schedule(self) -> list[BurstTruth]:
        sc = self.scenario
        fs = sc.sample_rate
        placed: list[tuple] = []        # (start_s, platform index, bits, phase0)
        # arrays of placed bursts for vectorised collision tests
        cap = 1024
        t0s, t1s, f0s, f1s = (np.empty(cap) for _ in range(4))
        n_placed = 0
        self.dropped_bursts = 0
        guard = sc.collision_guard_hz

        def collides(t0, t1, f_lo, f_hi) -> bool:
            if n_placed == 0:
                return False
            hit = ((t0s[:n_placed] < t1) & (t1s[:n_placed] > t0)
                   & (f0s[:n_placed] < f_hi + guard) & (f1s[:n_placed] > f_lo - guard))
            return bool(hit.any())

        for pi, p in enumerate(self.platforms):
            # one stream per platform: adding a platform does not change the others' bursts
            rng = np.random.default_rng([sc.seed, _STREAM_SCHEDULE, pi])
            dur = p.burst_duration_s
            f_end = p.offset_hz + p.drift_hz_s * dur
            f_lo, f_hi = min(p.offset_hz, f_end), max(p.offset_hz, f_end)
            is_vld = p.format == "VLD"
            n_data = p.data_bit_count
            random_data = p.data == "random" and not (is_vld and p.vld_blocks == "known_answer")
            first_given = p.first_tx_s is not None
            first = p.first_tx_s if first_given else float(rng.uniform(0.0, p.period_s))
            k = 0
            while True:
                nominal = first + k * p.period_s
                if nominal - p.jitter_s >= sc.duration_s:
                    break
                # fixed draw order per burst (data, phase, time) keeps bursts reproducible
                # (for VLD the "data" are the coded blocks, random or the known answer)
                data = rng.integers(0, 2, n_data, dtype=np.uint8) if random_data else p.data
                phase0 = float(rng.uniform(0.0, 2.0 * math.pi))
                jittered = p.jitter_s > 0 and not (k == 0 and first_given)
                start = nominal + (float(rng.uniform(-p.jitter_s, p.jitter_s)) if jittered else 0.0)
                ok = 0.0 <= start and start + dur <= sc.duration_s
                if ok and sc.avoid_collisions and p.from_crowd and collides(start, start + dur, f_lo, f_hi):
                    # re-place inside the jitter window (also for a first burst, whose time was
                    # drawn anyway for crowd platforms); bursts that cannot fit are dropped
                    ok = False
                    for _ in range(_COLLISION_TRIES if p.jitter_s > 0 else 0):
                        start = nominal + float(rng.uniform(-p.jitter_s, p.jitter_s))
                        if (0.0 <= start and start + dur <= sc.duration_s
                                and not collides(start, start + dur, f_lo, f_hi)):
                            ok = True
                            break
                    if not ok:
                        self.dropped_bursts += 1
                if ok:
                    if n_placed == cap:
                        cap *= 2
                        t0s, t1s, f0s, f1s = (np.resize(a, cap) for a in (t0s, t1s, f0s, f1s))
                    t0s[n_placed], t1s[n_placed] = start, start + dur
                    f0s[n_placed], f1s[n_placed] = f_lo, f_hi
                    n_placed += 1
                    datagram = None
                    if is_vld:
                        coded = data if random_data else vld.vld_known_answer_blocks(p.n_blocks)
                        bits = vld.vld_frame_bits(coded, p.n_blocks)
                    elif p.format == "A3":
                        datagram = a3_coding.a3_datagram(p.platform_id, data, p.n_blocks)
                        bits = a3_coding.over_air_bits(datagram)
                    elif p.format == "ZE":
                        datagram = a3_coding.ze_datagram(p.platform_id)
                        bits = a3_coding.over_air_bits(datagram)
                    else:
                        bits = a2.a2_frame_bits(p.platform_id, p.id_bits, data, p.n_blocks)
                    placed.append((start, pi, bits, phase0, datagram))
                k += 1

        placed.sort(key=lambda x: (x[0], x[1]))
        bursts = []
        for idx, (start, pi, bits, phase0, datagram) in enumerate(placed):
            p = self.platforms[pi]
            exact = start * fs
            first_n = math.ceil(exact)
            is_vld = p.format == "VLD"
            dur = p.burst_duration_s
            ebn0 = p.level_ebn0_db
            pid = p.platform_id
            if is_vld and p.vld_blocks != "known_answer":
                pid = None      # random coded blocks encode no ID
            if is_vld:
                length_code = vld.vld_length_field(p.n_blocks)
            elif p.format == "A3":
                length_code = s3.A3_LENGTH_CODES[p.n_blocks - 1]
            elif p.format == "ZE":
                length_code = None
            else:
                length_code = a2.a2_length_code(p.n_blocks)
            bursts.append(BurstTruth(
                index=idx, platform_index=pi, platform_id=pid, id_bits=p.id_bits,
                n_blocks=p.n_blocks,
                length_code=length_code,
                start_sample=first_n, start_sample_exact=exact, start_frac=first_n - exact,
                end_sample=math.ceil(exact + dur * fs),
                start_time_s=start, start_time_utc=sc.start_time + _dt.timedelta(seconds=start),
                duration_s=dur, offset_hz=p.offset_hz, frequency_hz=sc.center_freq + p.offset_hz,
                drift_hz_s=p.drift_hz_s, ebn0_db=ebn0, cn0_dbhz=ebn0_to_cn0(ebn0, p.format),
                amplitude=sc.amplitude_for(ebn0, p.format), phase0_rad=phase0, beta=p.beta, bits=bits,
                format=p.format, datagram=datagram,
            ))
        self._starts = np.array([b.start_sample for b in bursts], dtype=np.int64)
        self._ends = np.array([b.end_sample for b in bursts], dtype=np.int64)
        return bursts

    # --- rendering ---------------------------------------------------------------------------

    @property
    def total_samples(self) -> int:
        return self.scenario.total_samples

    def max_signal_power(self) -> float:
        """Largest total power of simultaneous bursts (physical units), for integer scaling."""
        bursts = self.schedule()
        events = sorted([(b.start_sample, b.amplitude ** 2) for b in bursts]
                        + [(b.end_sample, -b.amplitude ** 2) for b in bursts])
        best = cur = 0.0
        for _, dp in events:
            cur += dp
            best = max(best, cur)
        return best

    @property
    def sample_scale(self) -> float:
        """Factor from physical samples to file full-scale units for the scenario's datatype."""
        target = _INTEGER_TARGET_RMS.get(self.scenario.datatype)
        if target is None:
            return 1.0
        power = self.max_signal_power() + (self.scenario.noise_variance if self.scenario.add_noise else 0.0)
        if power <= 0.0:
            return 1.0
        return target / math.sqrt(power / 2.0)

    def noise(self, start_sample: int, count: int) -> np.ndarray:
        """The capture's noise samples ``start_sample … start_sample + count − 1`` (complex64)."""
        out = np.empty(count, dtype=np.complex64)
        B = NOISE_BLOCK_SAMPLES
        scale = np.float32(math.sqrt(self.scenario.noise_variance / 2.0))
        pos = start_sample
        end = start_sample + count
        while pos < end:
            blk = pos // B
            b0 = blk * B
            gen = np.random.Generator(np.random.PCG64([self.scenario.seed, _STREAM_NOISE, int(blk)]))
            lo, hi = pos - b0, min(end, b0 + B) - b0
            # draw the whole block so that a sample's value never depends on the chunking
            z = gen.standard_normal(2 * B, dtype=np.float32)[2 * lo:2 * hi]
            z *= scale
            out[pos - start_sample:pos - start_sample + hi - lo] = z.view(np.complex64)
            pos = b0 + hi
        return out

    def bursts_in(self, start_sample: int, count: int) -> list[BurstTruth]:
        """Bursts with at least one sample in ``[start_sample, start_sample + count)``."""
        bursts = self.schedule()
        if not bursts:
            return []
        stop = int(np.searchsorted(self._starts, start_sample + count, side="left"))
        idx = np.flatnonzero(self._ends[:stop] > start_sample)
        return [bursts[i] for i in idx]

    def render(self, start_sample: int, count: int, *, noise: bool | None = None) -> np.ndarray:
        """Samples ``start_sample … start_sample + count − 1`` of the capture.

        Parameters
        ----------
        start_sample : int
            First absolute sample index (>= 0).
        count : int
            Number of samples (may run past the capture end: the noise just continues).
        noise : bool, optional
            Override the scenario's ``add_noise``.

        Returns
        -------
        numpy.ndarray
            complex64, physical units. Identical for any way of cutting a span into chunks.
        """
        start_sample, count = int(start_sample), int(count)
        if start_sample < 0 or count < 0:
            raise ScenarioError(f"render span must be non-negative, got start {start_sample} count {count}")
        add_noise = self.scenario.add_noise if noise is None else bool(noise)
        acc = np.zeros(count, dtype=np.complex128)
        sc = self.scenario
        for b in self.bursts_in(start_sample, count):
            if b.format in A3_FORMATS:
                # own pulse shaping (spec_a3.A3_TRANSITION_FRACTION); beta does not apply to QPSK
                render_a3_burst(
                    acc, start_sample, sample_rate=sc.sample_rate, start_sample=b.start_sample_exact,
                    bits=b.bits, offset_hz=b.offset_hz, drift_hz_s=b.drift_hz_s, phase0=b.phase0_rad,
                    amplitude=b.amplitude)
                continue
            render = vld.render_vld_burst if b.format == "VLD" else a2.render_a2_burst
            render(
                acc, start_sample, sample_rate=sc.sample_rate, start_sample=b.start_sample_exact,
                bits=b.bits, offset_hz=b.offset_hz, drift_hz_s=b.drift_hz_s, phase0=b.phase0_rad,
                amplitude=b.amplitude, beta=b.beta, transition_fraction=sc.transition_fraction,
            )
        if add_noise:
            acc += self.noise(start_sample, count)
        return acc.astype(np.complex64)

    def chunks(self, chunk_samples: int = 1 << 18):
        """Yield ``(first_sample, samples)`` covering the whole capture in order."""
        total = self.total_samples
        for pos in range(0, total, int(chunk_samples)):
            n = min(int(chunk_samples), total - pos)
            yield pos, self.render(pos, n)

    # --- truth ---------------------------------------------------------------------------------

    def truth_dict(self, *, datatype: str | None = None, files: dict | None = None) -> dict:
        """The ground-truth document written next to a capture."""
        sc = self.scenario
        scale = self.sample_scale
        return {
            "format": "argosneo-synth-truth",
            "version": 1,
            "scenario": sc.to_dict(),
            "capture": {
                **(files or {}),
                "datatype": datatype or sc.datatype,
                "sample_rate": sc.sample_rate,
                "center_freq": sc.center_freq,
                "start_time": sigmf_datetime(sc.start_time),
                "total_samples": self.total_samples,
                "sample_scale": scale,
                "noise_variance": sc.noise_variance if sc.add_noise else 0.0,
                "noise_variance_full_scale": (sc.noise_variance if sc.add_noise else 0.0) * scale ** 2,
                "level_reference_noise_variance": sc.noise_variance,
                "units": "amplitude and noise_variance are physical; file samples = physical x sample_scale",
                "calibration": "Eb = amplitude^2 / R (R = 400 bit/s for A2, 200 bit/s for VLD: over-air "
                               "bit rates; 400 bit/s for A3 and ZE: information bit rate, one bit per "
                               "QPSK symbol of the rate-1/2 code); "
                               "N0 = noise_variance / sample_rate; C/N0 = Eb/N0 + 10 log10(R)",
                "bit_one_first_chip_sign": spec.A2_BIT_ONE_FIRST_CHIP_SIGN,
                "transition_fraction": sc.transition_fraction,
            },
            "platforms": [p.to_dict() for p in self.platforms],
            "dropped_bursts": self.dropped_bursts,
            "bursts": [b.to_dict() for b in self.schedule()],
        }


def synthesize(scenario: Scenario) -> tuple[np.ndarray, list[BurstTruth]]:
    """Render a whole (short) scenario in memory.

    Parameters
    ----------
    scenario : Scenario
        What to synthesise.

    Returns
    -------
    samples : numpy.ndarray
        complex64, ``scenario.total_samples`` long, physical units (noise variance
        ``scenario.noise_variance``).
    truths : list of BurstTruth
        The bursts, in time order.
    """
    emu = Emulator(scenario)
    truths = emu.schedule()
    return emu.render(0, emu.total_samples), truths


def truth_path_for(path_base) -> Path:
    """``<base>.truth.json`` for a capture base name (or its ``.sigmf-meta``/``.sigmf-data``)."""
    p = Path(path_base)
    if p.suffix.lower() in (".sigmf-meta", ".sigmf-data"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".truth.json")


def load_truth(path) -> tuple[dict, list[BurstTruth]]:
    """Read a truth file (or the truth file of a capture base name).

    Returns
    -------
    doc : dict
        The whole document (``scenario``, ``capture``, ``platforms``...).
    bursts : list of BurstTruth
    """
    p = Path(path)
    if not p.name.endswith(".truth.json"):
        p = truth_path_for(p)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such truth file") from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{p}: cannot read truth file: {exc}") from None
    return doc, [BurstTruth.from_dict(b) for b in doc.get("bursts", [])]


@dataclass
class SynthResult:
    """What :func:`write_capture` wrote."""

    meta_path: Path
    data_path: Path
    truth_path: Path
    bursts: list[BurstTruth]
    sample_scale: float
    total_samples: int
    dropped_bursts: int


def write_capture(
    scenario: Scenario,
    path_base,
    progress: bool = True,
    *,
    chunk_samples: int = 1 << 18,
    author: str | None = None,
) -> SynthResult:
    """Synthesise a scenario into a SigMF recording plus ``<base>.truth.json``.

    Samples are rendered and written chunk by chunk (memory stays bounded for hour-long
    captures). One SigMF annotation per burst: label ``A2 <platform_id>``, ``VLD short|long
    <over-air hex>``, ``A3 <platform_id>`` or ``ZE <platform_id>``, frequency edges
    ±1.6 kHz around the carrier (widened by the drift over the burst), comment with N and Eb/N0.

    Parameters
    ----------
    scenario : Scenario
        What to synthesise (its ``datatype`` selects the sample format).
    path_base : str or path-like
        Recording base name (``.sigmf-meta``/``.sigmf-data`` are appended).
    progress : bool
        Show a tqdm progress bar on stderr.
    chunk_samples : int
        Samples rendered per chunk.
    author : str, optional
        SigMF ``core:author``.

    Returns
    -------
    SynthResult
    """
    from tqdm import tqdm

    from argosneo.io.writer import SigMFWriter

    emu = Emulator(scenario)
    bursts = emu.schedule()
    scale = emu.sample_scale
    sc = scenario
    total = emu.total_samples
    desc = sc.description or (
        f"argosneo synthetic Argos capture ({', '.join(sorted({b.format for b in bursts})) or 'no bursts'}): {len(bursts)} bursts from {len(emu.platforms)} platforms, "
        f"seed {sc.seed}")
    with SigMFWriter(
        path_base, sample_rate=sc.sample_rate, center_freq=sc.center_freq, datatype=sc.datatype,
        start_time=sc.start_time, description=desc, author=author,
        extra_global={"synthetic": True, "seed": sc.seed, "sample_scale": scale,
                      "noise_variance_full_scale": (sc.noise_variance if sc.add_noise else 0.0) * scale ** 2},
    ) as writer:
        with tqdm(total=total, unit="S", unit_scale=True, file=sys.stderr, disable=not progress,
                  desc="synth", leave=False) as bar:
            for _, x in emu.chunks(chunk_samples):
                if scale != 1.0:
                    x *= np.float32(scale)
                writer.write(x)
                bar.update(x.size)
        for b in bursts:
            f_start = b.frequency_hz
            f_end = f_start + b.drift_hz_s * b.duration_s
            levels = (f"Eb/N0={b.ebn0_db:.1f} dB C/N0={b.cn0_dbhz:.1f} dB-Hz offset={b.offset_hz:+.1f} Hz "
                      f"drift={b.drift_hz_s:+.1f} Hz/s")
            if b.format in A3_FORMATS:
                label = f"{b.format} {b.platform_id_hex}"
                what = (f"PTT-A3 N={b.n_blocks} data={b.data_hex}" if b.format == "A3"
                        else "PTT-ZE (ID only)")
                comment = (f"{what} {levels} (Eb per information bit, 400 bit/s; "
                           f"modulation model UNCONFIRMED)")
            elif b.format == "VLD":
                kind = "short" if b.n_blocks == 1 else "long"
                label = f"VLD {kind} {b.over_air_hex}+{b.over_air_tail_bits}"
                comment = f"A4 VLD {kind} ({b.n_blocks} coded block(s)) {levels} blocks={','.join(b.blocks_hex)}"
            else:
                label = f"A2 {b.platform_id_hex}"
                comment = f"PTT-A2 N={b.n_blocks} ({b.id_bits}-bit ID) {levels} message={b.message_hex}"
            writer.add_annotation(
                b.start_sample, b.sample_count,
                label=label,
                comment=comment,
                freq_lower_edge=min(f_start, f_end) - ANNOTATION_HALF_WIDTH_HZ,
                freq_upper_edge=max(f_start, f_end) + ANNOTATION_HALF_WIDTH_HZ,
                extra={"burst_index": b.index, "format": b.format, "platform_id": b.platform_id_hex, "n_blocks": b.n_blocks,
                       "ebn0_db": b.ebn0_db, "offset_hz": b.offset_hz, "drift_hz_s": b.drift_hz_s,
                       "start_sample_exact": b.start_sample_exact},
            )
    truth_path = truth_path_for(path_base)
    doc = emu.truth_dict(files={"meta": writer.meta_path.name, "data": writer.data_path.name})
    tmp = truth_path.with_name(truth_path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    tmp.replace(truth_path)
    return SynthResult(meta_path=writer.meta_path, data_path=writer.data_path, truth_path=truth_path,
                       bursts=bursts, sample_scale=scale, total_samples=total,
                       dropped_bursts=emu.dropped_bursts)
