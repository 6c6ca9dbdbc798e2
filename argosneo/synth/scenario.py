"""Emulator scenarios: the capture (rate, centre, duration, noise) and the platforms in it
(PTT-A2, A4 VLD, PTT-A3 and PTT-ZE transmitters).

A scenario is built in Python (:class:`Scenario`, :class:`Platform`, :class:`CrowdSpec`) or read
from YAML with :meth:`Scenario.from_yaml`::

    sample_rate: 250e3            # S/s
    center_freq: 401.65e6         # Hz
    duration_s: 5
    start_time: 2026-11-25T12:00:00Z
    seed: 1
    noise: unit                   # complex white noise of variance 1; a number = variance; none
    datatype: cu8                 # cf32_le, ci16_le, ci8, cu8
    avoid_collisions: true
    platforms:
      - platform_id: 0x1234567
        format: A2                # A2 (default), VLD, A3 or ZE
        id_bits: 28
        n_blocks: 2
        data: random              # or an integer / "0x..." / a list of bits
        period_s: 60
        jitter_s: 0
        first_tx_s: 0.5           # omitted: uniform in [0, period)
        offset_hz: 12e3
        drift_hz_s: 0
        ebn0_db: 20               # or cn0_dbhz
      - format: VLD               # A4 VLD: no platform_id needed (the block code is unknown)
        n_blocks: 3               # 1 = short, 3 = long
        vld_blocks: known_answer  # the CNES example stream (ID 0x1234567), or random
        offset_hz: -20e3
      - platform_id: 0x1234567    # PTT-A3: 28-bit ID, data 24 + 32·(N − 1) bits
        format: A3
        n_blocks: 2
        data: random
      - platform_id: 0x7654321    # PTT-ZE: ID only (no n_blocks, no data)
        format: ZE
    crowd:                        # many random platforms, drawn from the seed
      count: 200
      offset_range_hz: [-100e3, 100e3]
      ebn0_db: [8, 25]
      drift_hz_s: [-50, 50]
      period_s: [45, 90]
      n_blocks: [1, 8]
      id_bits: 28
      formats: [A2, VLD, A3, ZE]  # format drawn per platform (default A2 only)

Numbers may be written in YAML as ``250e3`` (PyYAML reads that as a string; it is accepted).

Level calibration (``argos-spec.md`` §2): ``Eb = burst power / R`` with R the format's bit rate:
the over-air bit rate for A2 (400 bit/s) and A4 VLD (200 bit/s), the *information* bit rate for
A3 and ZE (400 bit/s: 400 QPSK symbols/s, each carrying two rate-1/2 code bits, i.e. one
information bit; the over-air code-bit rate is 800 bit/s), and ``N0 = complex noise variance per sample /
sample_rate``, so a burst of amplitude A has ``Eb/N0 = A²·fs / (R·σ²)`` and
``C/N0 = Eb/N0 + 10·log10(R)`` dB-Hz (a VLD burst at the same Eb/N0 as an A2 burst has half its
power). With ``noise: none`` the levels are computed against a unit-variance reference but no
noise is added.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from argosneo import spec
from argosneo import spec_a3 as s3
from argosneo.errors import ScenarioError
from argosneo.synth import a2, vld
from argosneo.synth.a3 import a3_burst_duration

__all__ = ["Platform", "CrowdSpec", "Scenario", "DEFAULT_START_TIME", "ebn0_to_cn0", "cn0_to_ebn0",
           "FORMATS", "A3_FORMATS", "format_bit_rate", "a3_over_air_bit_count"]

#: Formats the emulator transmits.
FORMATS = ("A2", "VLD", "A3", "ZE")
#: Bit rate defining Eb per format: over-air for A2/VLD, information bits for A3/ZE (one per
#: QPSK symbol of the rate-1/2 code).
_BIT_RATES = {"A2": spec.A2_BIT_RATE, "VLD": spec.A4_VLD_BIT_RATE,
              "A3": s3.A3_SYMBOL_RATE, "ZE": s3.A3_SYMBOL_RATE}
#: Argos-3 formats (28-bit ID, convolutional code, QPSK; modulation model UNCONFIRMED).
A3_FORMATS = ("A3", "ZE")

#: Default UTC time of sample 0 (fixed so that scenarios are reproducible).
DEFAULT_START_TIME = _dt.datetime(2026, 11, 25, 12, 0, 0, tzinfo=_dt.timezone.utc)

#: Datatypes the emulator can write (see ``argosneo.io.datatypes.WRITE_DATATYPES``).
SYNTH_DATATYPES = ("cf32_le", "ci16_le", "ci8", "cu8")

# Independent random streams derived from the seed (never reorder: it changes every capture).
_STREAM_CROWD = 1


def format_bit_rate(fmt: str) -> float:
    """Bit rate (bit/s) that defines Eb for a format: 400 for ``"A2"`` (over-air), 200 for
    ``"VLD"`` (over-air), 400 for ``"A3"``/``"ZE"`` (information bits = QPSK symbols)."""
    return _BIT_RATES[fmt]


def ebn0_to_cn0(ebn0_db: float, fmt: str = "A2") -> float:
    """C/N0 (dB-Hz) of a burst at ``ebn0_db`` (Eb = total power / the format's bit rate)."""
    return float(ebn0_db) + 10.0 * math.log10(_BIT_RATES[fmt])


def cn0_to_ebn0(cn0_dbhz: float, fmt: str = "A2") -> float:
    """Eb/N0 (dB) of a burst of format ``fmt`` at ``cn0_dbhz``."""
    return float(cn0_dbhz) - 10.0 * math.log10(_BIT_RATES[fmt])


def a3_over_air_bit_count(fmt: str, n_blocks: int = 0) -> int:
    """Over-air bits (sync + code bits) of a ZE burst or an A3 burst of N blocks."""
    from argosneo.coding.a3 import datagram_length

    return s3.A3_SYNC_BITS + 2 * datagram_length(fmt, n_blocks)


def _format(value, key: str = "format") -> str:
    if not isinstance(value, str) or value.strip().upper() not in FORMATS:
        raise ScenarioError(f"{key}: must be one of {', '.join(FORMATS)}, got {value!r}")
    return value.strip().upper()


# --- value checking (messages name the key; the caller prefixes the path) ----------------------


def _num(value, key: str, *, lo: float | None = None, hi: float | None = None,
         lo_open: bool = False, allow_none: bool = False) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or value is None:
        raise ScenarioError(f"{key}: must be a number, got {value!r}")
    if isinstance(value, str):
        try:
            value = float(value.strip().replace("_", ""))
        except ValueError:
            raise ScenarioError(f"{key}: must be a number, got {value!r}") from None
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{key}: must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ScenarioError(f"{key}: must be finite, got {value!r}")
    if lo is not None and (x < lo or (lo_open and x == lo)):
        raise ScenarioError(f"{key}: must be {'>' if lo_open else '>='} {lo:g}, got {x:g}")
    if hi is not None and x > hi:
        raise ScenarioError(f"{key}: must be <= {hi:g}, got {x:g}")
    return x


def _int(value, key: str, *, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, str):
        try:
            value = int(value.strip().replace("_", ""), 0)
        except ValueError:
            raise ScenarioError(f"{key}: must be an integer, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise ScenarioError(f"{key}: must be an integer, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ScenarioError(f"{key}: must be an integer, got {value!r}")
    v = int(value)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        rng = f"{lo}..{hi}" if lo is not None and hi is not None else (f">= {lo}" if lo is not None else f"<= {hi}")
        raise ScenarioError(f"{key}: must be {rng}, got {v}")
    return v


def _range(value, key: str, *, lo: float | None = None, hi: float | None = None,
           lo_open: bool = False) -> tuple[float, float]:
    """A scalar (fixed value) or a ``[low, high]`` pair."""
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ScenarioError(f"{key}: must be a number or a [low, high] pair, got {value!r}")
        a = _num(value[0], key, lo=lo, hi=hi, lo_open=lo_open)
        b = _num(value[1], key, lo=lo, hi=hi, lo_open=lo_open)
        if b < a:
            raise ScenarioError(f"{key}: low {a:g} is above high {b:g}")
        return (a, b)
    x = _num(value, key, lo=lo, hi=hi, lo_open=lo_open)
    return (x, x)


def _int_range(value, key: str, *, lo: int, hi: int) -> tuple[int, int]:
    if isinstance(value, (list, tuple)):
        if len(value) != 2:
            raise ScenarioError(f"{key}: must be an integer or a [low, high] pair, got {value!r}")
        a, b = _int(value[0], key, lo=lo, hi=hi), _int(value[1], key, lo=lo, hi=hi)
        if b < a:
            raise ScenarioError(f"{key}: low {a} is above high {b}")
        return (a, b)
    x = _int(value, key, lo=lo, hi=hi)
    return (x, x)


def _datetime(value, key: str) -> _dt.datetime:
    if isinstance(value, _dt.datetime):
        when = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            when = _dt.datetime.fromisoformat(text)
        except ValueError:
            raise ScenarioError(f"{key}: not an ISO 8601 time, got {value!r} (e.g. 2026-11-25T12:00:00Z)") from None
    elif isinstance(value, _dt.date):
        when = _dt.datetime(value.year, value.month, value.day)
    else:
        raise ScenarioError(f"{key}: must be an ISO 8601 UTC time, got {value!r}")
    if when.tzinfo is None:
        return when.replace(tzinfo=_dt.timezone.utc)
    return when.astimezone(_dt.timezone.utc)


def _check_keys(d, allowed, where: str) -> None:
    if not isinstance(d, dict):
        raise ScenarioError(f"{where or 'scenario'}: must be a mapping, got {type(d).__name__}")
    for k in d:
        if k not in allowed:
            name = f"{where}.{k}" if where else str(k)
            raise ScenarioError(f"{name}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _prefixed(where: str, exc: ScenarioError) -> ScenarioError:
    return ScenarioError(f"{where}.{exc}" if where else str(exc))


# --- platforms ----------------------------------------------------------------------------------


@dataclass
class Platform:
    """One transmitter: PTT-A2, A4 VLD, PTT-A3 or PTT-ZE.

    Parameters
    ----------
    platform_id : int
        Platform ID (``< 2**id_bits``). Required for A2, A3 and ZE. For VLD it is only a label: the VLD
        block code is unknown, so no ID can be encoded (defaults to 0x1234567 with
        ``vld_blocks='known_answer'``, whose stream encodes that ID, and must then equal it;
        0 with ``'random'``).
    id_bits : {20, 28}
        ID width (A2; A3 and ZE always use 28).
    n_blocks : int
        A2: N (1…8), the message is ``20 + 32·N`` bits. VLD: 1 (short) or 3 (long) coded blocks.
        A3: N (1…8), ``24 + 32·(N − 1)`` user-data bits. ZE: no length (normalised to 0).
    data : 'random', int, bytes or sequence of 0/1
        A2 sensor data (``20 + 32·N − id_bits`` bits) or A3 user data (``24 + 32·(N − 1)``
        bits); ``'random'`` draws new data for every burst. Normalised to ``'random'`` or an
        int. Must stay ``'random'`` for VLD and ZE (ZE carries the ID only).
    period_s : float
        Repetition period (s).
    jitter_s : float
        Each burst is moved by a uniform draw in ``[−jitter_s, +jitter_s]`` (not the first one
        when ``first_tx_s`` is given).
    first_tx_s : float, optional
        Nominal time of the first burst (s from the capture start); default uniform in
        ``[0, period_s)``.
    offset_hz : float
        Carrier frequency at each burst start, relative to the capture centre (Hz).
    drift_hz_s : float
        Frequency drift through each burst (Hz/s).
    ebn0_db, cn0_dbhz : float, optional
        Level: give one (default Eb/N0 20 dB).
    beta : float
        Peak phase deviation (rad).
    name : str, optional
        Free label.
    from_crowd : bool
        Set for platforms generated from a :class:`CrowdSpec` (those are the ones moved to avoid
        collisions).
    format : {'A2', 'VLD', 'A3', 'ZE'}
        What the platform transmits: PTT-A2 (400 bit/s) or A4 VLD (200 bit/s, same modulation),
        or the Argos-3 formats PTT-A3 / PTT-ZE (K = 7 rate-1/2 coded QPSK at 400 symbols/s after
        an 82 ms carrier, :mod:`argosneo.synth.a3`; Eb = power / 400 information bit/s).
    vld_blocks : {'random', 'known_answer'}, optional
        VLD only (default ``'random'``): where the 45-bit coded blocks come from.
        ``'known_answer'`` sends the CNES example stream for ID 0x1234567 (the block
        0x0E328E76517B, once or three times); ``'random'`` draws 45 random coded bits per block
        for every burst — since the real block code is unknown, these are not a valid encoding
        of any message, but they go through the demodulator and deframer like real ones.
    """

    platform_id: int | None = None
    id_bits: int = spec.A2_DEFAULT_ID_BITS
    n_blocks: int = 1
    data: object = "random"
    period_s: float = 60.0
    jitter_s: float = 0.0
    first_tx_s: float | None = None
    offset_hz: float = 0.0
    drift_hz_s: float = 0.0
    ebn0_db: float | None = None
    cn0_dbhz: float | None = None
    beta: float = spec.A2_PHASE_DEVIATION_RAD
    name: str | None = None
    from_crowd: bool = False
    format: str = "A2"
    vld_blocks: str | None = None

    def __post_init__(self):
        self.format = _format(self.format)
        self.id_bits = _int(self.id_bits, "id_bits")
        if self.id_bits not in spec.A2_ID_BITS_CHOICES:
            raise ScenarioError(f"id_bits: must be one of {spec.A2_ID_BITS_CHOICES}, got {self.id_bits}")
        is_random = isinstance(self.data, str) and self.data.strip().lower() == "random"
        if self.format == "VLD":
            self._check_vld(is_random)
            is_random = True
        elif self.format in A3_FORMATS:
            self._check_a3(is_random)
            is_random = is_random or self.format == "ZE"
        else:
            if self.vld_blocks is not None:
                raise ScenarioError("vld_blocks: only for format VLD")
            if self.platform_id is None:
                raise ScenarioError("platform_id: missing (every A2 platform needs an ID)")
            self.platform_id = _int(self.platform_id, "platform_id", lo=0, hi=(1 << self.id_bits) - 1)
            self.n_blocks = _int(self.n_blocks, "n_blocks", lo=1, hi=spec.A2_MAX_BLOCKS)
        if is_random:
            self.data = "random"
        else:
            try:
                bits = a2.a2_data_bits(self.data, self.data_bit_count)
            except ScenarioError as exc:
                raise ScenarioError(f"data: {exc}") from None
            self.data = a2.bits_to_int(bits)
        self.period_s = _num(self.period_s, "period_s", lo=0.0, lo_open=True)
        self.jitter_s = _num(self.jitter_s, "jitter_s", lo=0.0)
        self.first_tx_s = _num(self.first_tx_s, "first_tx_s", allow_none=True)
        self.offset_hz = _num(self.offset_hz, "offset_hz")
        self.drift_hz_s = _num(self.drift_hz_s, "drift_hz_s")
        if self.ebn0_db is not None and self.cn0_dbhz is not None:
            raise ScenarioError("ebn0_db: give either ebn0_db or cn0_dbhz, not both")
        self.ebn0_db = _num(self.ebn0_db, "ebn0_db", lo=-50, hi=150, allow_none=True)
        self.cn0_dbhz = _num(self.cn0_dbhz, "cn0_dbhz", lo=-50, hi=200, allow_none=True)
        if self.ebn0_db is None and self.cn0_dbhz is None:
            self.ebn0_db = 20.0
        self.beta = _num(self.beta, "beta", lo=0.0, hi=math.pi)
        self.name = None if self.name is None else str(self.name)
        self.from_crowd = bool(self.from_crowd)

    def _check_vld(self, data_is_random: bool) -> None:
        if not data_is_random:
            raise ScenarioError("data: not used by format VLD (the block code is unknown; set vld_blocks)")
        src = "random" if self.vld_blocks is None else self.vld_blocks
        if not isinstance(src, str) or src.strip().lower() not in vld.VLD_BLOCK_SOURCES:
            raise ScenarioError(f"vld_blocks: must be one of {', '.join(vld.VLD_BLOCK_SOURCES)}, got {src!r}")
        self.vld_blocks = src.strip().lower()
        self.n_blocks = _int(self.n_blocks, "n_blocks")
        if self.n_blocks not in spec.A4_VLD_BLOCKS:
            raise ScenarioError(f"n_blocks: VLD must be 1 (short) or 3 (long), got {self.n_blocks}")
        known = self.vld_blocks == "known_answer"
        if self.platform_id is None:
            self.platform_id = vld.VLD_KNOWN_ANSWER_ID if known else 0
        self.platform_id = _int(self.platform_id, "platform_id", lo=0, hi=(1 << self.id_bits) - 1)
        if known and self.platform_id != vld.VLD_KNOWN_ANSWER_ID:
            raise ScenarioError(f"platform_id: the VLD known-answer stream encodes "
                                f"{vld.VLD_KNOWN_ANSWER_ID:#x}, got {self.platform_id:#x}")

    def _check_a3(self, data_is_random: bool) -> None:
        if self.vld_blocks is not None:
            raise ScenarioError("vld_blocks: only for format VLD")
        if self.id_bits != s3.A3_ID_BITS:
            raise ScenarioError(f"id_bits: {self.format} IDs are {s3.A3_ID_BITS} bits, got {self.id_bits}")
        if self.platform_id is None:
            raise ScenarioError(f"platform_id: missing (every {self.format} platform needs an ID)")
        self.platform_id = _int(self.platform_id, "platform_id", lo=0, hi=(1 << s3.A3_ID_BITS) - 1)
        if self.format == "ZE":
            if not data_is_random:
                raise ScenarioError("data: not used by format ZE (it sends the platform ID only)")
            n = _int(self.n_blocks, "n_blocks")
            # the dataclass default (1) is accepted so that a ZE entry needs no n_blocks
            if n not in (0, 1):
                raise ScenarioError(f"n_blocks: ZE has no length (ID only), got {n}")
            self.n_blocks = 0
        else:
            self.n_blocks = _int(self.n_blocks, "n_blocks", lo=1, hi=s3.A3_MAX_BLOCKS)

    @property
    def data_bit_count(self) -> int:
        """Data bits per burst: A2 sensor data, A3 user data, 0 for ZE, the coded bits for VLD."""
        if self.format == "VLD":
            return spec.A4_VLD_CODED_BLOCK_BITS * self.n_blocks
        if self.format == "A3":
            return s3.a3_user_bits(self.n_blocks)
        if self.format == "ZE":
            return 0
        return a2.a2_data_bit_count(self.id_bits, self.n_blocks)

    @property
    def bit_rate(self) -> float:
        """Bit rate (bit/s) defining Eb: over-air for A2/VLD, information bits for A3/ZE."""
        return _BIT_RATES[self.format]

    @property
    def level_ebn0_db(self) -> float:
        """The platform's Eb/N0 (dB, Eb = power / the format's bit rate), whichever way its level
        was given."""
        return self.ebn0_db if self.ebn0_db is not None else cn0_to_ebn0(self.cn0_dbhz, self.format)

    @property
    def burst_duration_s(self) -> float:
        """Duration of each of this platform's bursts (s)."""
        if self.format == "VLD":
            return vld.vld_burst_duration(self.n_blocks)
        if self.format in A3_FORMATS:
            return a3_burst_duration(a3_over_air_bit_count(self.format, self.n_blocks))
        return spec.a2_burst_duration_s(self.n_blocks)

    @property
    def id_hex(self) -> str:
        """Platform ID as hex, one digit per 4 bits of the ID width (``0x1234567``)."""
        return f"0x{self.platform_id:0{math.ceil(self.id_bits / 4)}X}"

    def to_dict(self) -> dict:
        """YAML/JSON-ready description (inverse of the ``platforms:`` entries)."""
        d = {"format": self.format} if self.format != "A2" else {}
        if self.format == "VLD":
            d.update({"platform_id": self.id_hex, "n_blocks": self.n_blocks, "vld_blocks": self.vld_blocks})
        elif self.format == "ZE":
            d["platform_id"] = self.id_hex
        elif self.format == "A3":
            d.update({
                "platform_id": self.id_hex, "n_blocks": self.n_blocks,
                "data": self.data if self.data == "random" else
                a2.bits_to_hex(a2.int_to_bits(self.data, self.data_bit_count)),
            })
        else:
            d.update({
                "platform_id": self.id_hex, "id_bits": self.id_bits, "n_blocks": self.n_blocks,
                "data": self.data if self.data == "random" else
                a2.bits_to_hex(a2.int_to_bits(self.data, a2.a2_data_bit_count(self.id_bits, self.n_blocks))),
            })
        d.update({
            "period_s": self.period_s, "jitter_s": self.jitter_s, "first_tx_s": self.first_tx_s,
            "offset_hz": self.offset_hz, "drift_hz_s": self.drift_hz_s,
        })
        if self.cn0_dbhz is not None:
            d["cn0_dbhz"] = self.cn0_dbhz
        else:
            d["ebn0_db"] = self.ebn0_db
        d["beta"] = self.beta
        if self.name is not None:
            d["name"] = self.name
        if self.from_crowd:
            d["from_crowd"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "platform") -> "Platform":
        """Build from a ``platforms:`` entry; errors name ``<where>.<key>``."""
        allowed = {f.name for f in fields(cls)} - {"from_crowd"}
        _check_keys(d, allowed, where)
        fmt = str(d.get("format", "A2")).strip().upper()
        if "platform_id" not in d and fmt != "VLD":
            raise ScenarioError(f"{where}.platform_id: missing (every {fmt} platform needs an ID)")
        try:
            return cls(**d)
        except ScenarioError as exc:
            raise _prefixed(where, exc) from None


@dataclass
class CrowdSpec:
    """A population of random platforms, drawn reproducibly from the scenario seed.

    Every range is ``(low, high)`` (uniform draw, one value per platform); ``n_blocks`` draws
    integers in ``[low, high]`` inclusive, ``id_bits`` picks uniformly from its choices, and so
    does ``formats`` (``"A2"``, ``"VLD"``, ``"A3"``, ``"ZE"``; a VLD platform is short or long
    with equal odds, with random coded blocks, and ignores ``n_blocks``/``id_bits``; A3 draws N
    from ``n_blocks`` and ZE has none; both always use 28-bit IDs).
    ``first_tx_s`` defaults to uniform in ``[0, period)``. ``jitter_fraction`` gives each
    platform ``jitter_s = fraction · period`` (Argos transmitters use ±10 %).
    """

    count: int
    offset_range_hz: tuple[float, float] = (-spec.A2_BAND_HALF_WIDTH_HZ, spec.A2_BAND_HALF_WIDTH_HZ)
    ebn0_db: tuple[float, float] | None = None
    cn0_dbhz: tuple[float, float] | None = None
    drift_hz_s: tuple[float, float] = (0.0, 0.0)
    period_s: tuple[float, float] = (60.0, 90.0)
    jitter_fraction: float = 0.1
    first_tx_s: tuple[float, float] | None = None
    n_blocks: tuple[int, int] = (1, spec.A2_MAX_BLOCKS)
    id_bits: tuple[int, ...] = (spec.A2_DEFAULT_ID_BITS,)
    beta: tuple[float, float] = (spec.A2_PHASE_DEVIATION_RAD, spec.A2_PHASE_DEVIATION_RAD)
    formats: tuple[str, ...] = ("A2",)

    def __post_init__(self):
        fmts = self.formats if isinstance(self.formats, (list, tuple)) else (self.formats,)
        if not fmts:
            raise ScenarioError("formats: needs at least one choice")
        self.formats = tuple(dict.fromkeys(_format(f, "formats") for f in fmts))
        self.count = _int(self.count, "count", lo=0, hi=1_000_000)
        self.offset_range_hz = _range(self.offset_range_hz, "offset_range_hz")
        if self.ebn0_db is not None and self.cn0_dbhz is not None:
            raise ScenarioError("ebn0_db: give either ebn0_db or cn0_dbhz, not both")
        if self.ebn0_db is None and self.cn0_dbhz is None:
            self.ebn0_db = (20.0, 20.0)
        self.ebn0_db = None if self.ebn0_db is None else _range(self.ebn0_db, "ebn0_db", lo=-50, hi=150)
        self.cn0_dbhz = None if self.cn0_dbhz is None else _range(self.cn0_dbhz, "cn0_dbhz", lo=-50, hi=200)
        self.drift_hz_s = _range(self.drift_hz_s, "drift_hz_s")
        self.period_s = _range(self.period_s, "period_s", lo=0.0, lo_open=True)
        self.jitter_fraction = _num(self.jitter_fraction, "jitter_fraction", lo=0.0, hi=0.5)
        self.first_tx_s = None if self.first_tx_s is None else _range(self.first_tx_s, "first_tx_s")
        self.n_blocks = _int_range(self.n_blocks, "n_blocks", lo=1, hi=spec.A2_MAX_BLOCKS)
        ids = self.id_bits if isinstance(self.id_bits, (list, tuple)) else (self.id_bits,)
        if not ids:
            raise ScenarioError("id_bits: needs at least one choice")
        ids = tuple(_int(v, "id_bits") for v in ids)
        for v in ids:
            if v not in spec.A2_ID_BITS_CHOICES:
                raise ScenarioError(f"id_bits: must be chosen from {spec.A2_ID_BITS_CHOICES}, got {v}")
        self.id_bits = ids
        self.beta = _range(self.beta, "beta", lo=0.0, hi=math.pi)

    def expand(self, seed: int, taken_ids: set[tuple[int, int]] = frozenset()) -> list[Platform]:
        """Draw the platforms (same seed → same platforms).

        Parameters
        ----------
        seed : int
            Scenario seed.
        taken_ids : set of (platform_id, id_bits)
            IDs already used by explicit platforms; crowd IDs avoid them and each other.

        Returns
        -------
        list of Platform
            ``count`` platforms with ``from_crowd=True``.
        """
        rng = np.random.default_rng([int(seed), _STREAM_CROWD])
        used = set(taken_ids)
        out = []
        for i in range(self.count):
            # a format is drawn only when there is a choice, so A2-only crowds keep their draws
            fmt = self.formats[int(rng.integers(len(self.formats)))] if len(self.formats) > 1 else self.formats[0]
            id_bits = int(self.id_bits[rng.integers(len(self.id_bits))])
            if fmt in A3_FORMATS:
                id_bits = s3.A3_ID_BITS     # drawn anyway: the draw sequence stays the same
            while True:
                pid = int(rng.integers(1, 1 << id_bits))
                if (pid, id_bits) not in used:
                    break
            used.add((pid, id_bits))
            period = float(rng.uniform(*self.period_s))
            level = float(rng.uniform(*(self.ebn0_db or self.cn0_dbhz)))
            first = float(rng.uniform(*self.first_tx_s)) if self.first_tx_s else float(rng.uniform(0.0, period))
            if fmt == "VLD":
                n_blocks = spec.A4_VLD_BLOCKS[int(rng.integers(len(spec.A4_VLD_BLOCKS)))]
            elif fmt == "ZE":
                n_blocks = 0
            else:
                n_blocks = int(rng.integers(self.n_blocks[0], self.n_blocks[1] + 1))
            out.append(Platform(
                platform_id=pid, id_bits=id_bits, n_blocks=n_blocks, format=fmt,
                vld_blocks="random" if fmt == "VLD" else None,
                data="random", period_s=period, jitter_s=self.jitter_fraction * period,
                first_tx_s=first, offset_hz=float(rng.uniform(*self.offset_range_hz)),
                drift_hz_s=float(rng.uniform(*self.drift_hz_s)),
                ebn0_db=level if self.ebn0_db else None, cn0_dbhz=None if self.ebn0_db else level,
                beta=float(rng.uniform(*self.beta)), name=f"crowd{i}", from_crowd=True,
            ))
        return out

    def to_dict(self) -> dict:
        d = {
            "count": self.count, "offset_range_hz": list(self.offset_range_hz),
            "drift_hz_s": list(self.drift_hz_s), "period_s": list(self.period_s),
            "jitter_fraction": self.jitter_fraction, "n_blocks": list(self.n_blocks),
            "id_bits": list(self.id_bits), "beta": list(self.beta),
        }
        if self.formats != ("A2",):
            d["formats"] = list(self.formats)
        if self.cn0_dbhz is not None:
            d["cn0_dbhz"] = list(self.cn0_dbhz)
        else:
            d["ebn0_db"] = list(self.ebn0_db)
        if self.first_tx_s is not None:
            d["first_tx_s"] = list(self.first_tx_s)
        return d

    @classmethod
    def from_dict(cls, d: dict, where: str = "crowd") -> "CrowdSpec":
        _check_keys(d, {f.name for f in fields(cls)}, where)
        if "count" not in d:
            raise ScenarioError(f"{where}.count: missing")
        try:
            return cls(**d)
        except ScenarioError as exc:
            raise _prefixed(where, exc) from None


# --- scenario -----------------------------------------------------------------------------------


@dataclass
class Scenario:
    """A capture to synthesise.

    Parameters
    ----------
    sample_rate : float
        Samples per second.
    center_freq : float
        Capture centre frequency (Hz); platform offsets are relative to it.
    duration_s : float
        Capture length (s). Only bursts that fit entirely inside it are transmitted.
    noise_variance : float
        Complex white Gaussian noise variance per sample, E|n|² (> 0).
    add_noise : bool
        False renders the bursts alone (levels still computed against ``noise_variance``).
    seed : int
        Seed of every random draw (crowd, burst times, data, phases, noise).
    start_time : datetime.datetime
        UTC time of sample 0.
    platforms : list of Platform
        Explicitly placed platforms.
    crowd : CrowdSpec, optional
        Random platforms added to ``platforms``.
    avoid_collisions : bool
        Move (redraw within the jitter window) or drop crowd bursts that overlap another burst
        in time within ``collision_guard_hz`` in frequency.
    collision_guard_hz : float
        Frequency separation below which two simultaneous bursts collide (Hz).
    datatype : str
        On-disk sample format for :func:`argosneo.synth.emulator.write_capture`.
    transition_fraction : float
        Chip transition fraction of the waveform model.
    description : str
        Free text for the SigMF ``core:description``.
    """

    sample_rate: float = 250e3
    center_freq: float = spec.A2_NOMINAL_CENTER_HZ
    duration_s: float = 10.0
    noise_variance: float = 1.0
    add_noise: bool = True
    seed: int = 1
    start_time: _dt.datetime = DEFAULT_START_TIME
    platforms: list[Platform] = field(default_factory=list)
    crowd: CrowdSpec | None = None
    avoid_collisions: bool = False
    collision_guard_hz: float = 3e3
    datatype: str = "cf32_le"
    transition_fraction: float = spec.A2_CHIP_TRANSITION_FRACTION
    description: str = ""

    def __post_init__(self):
        self.sample_rate = _num(self.sample_rate, "sample_rate", lo=0.0, lo_open=True)
        self.center_freq = _num(self.center_freq, "center_freq")
        self.duration_s = _num(self.duration_s, "duration_s", lo=0.0, lo_open=True)
        self.noise_variance = _num(self.noise_variance, "noise", lo=0.0, lo_open=True)
        self.add_noise = bool(self.add_noise)
        self.seed = _int(self.seed, "seed", lo=0)
        self.start_time = _datetime(self.start_time, "start_time")
        if not isinstance(self.platforms, (list, tuple)):
            raise ScenarioError("platforms: must be a list")
        for i, p in enumerate(self.platforms):
            if not isinstance(p, Platform):
                raise ScenarioError(f"platforms[{i}]: must be a Platform, got {type(p).__name__}")
        self.platforms = list(self.platforms)
        if self.crowd is not None and not isinstance(self.crowd, CrowdSpec):
            raise ScenarioError(f"crowd: must be a CrowdSpec, got {type(self.crowd).__name__}")
        self.avoid_collisions = bool(self.avoid_collisions)
        self.collision_guard_hz = _num(self.collision_guard_hz, "collision_guard_hz", lo=0.0)
        dt = str(self.datatype).strip().lower()
        dt = {"cf32": "cf32_le", "ci16": "ci16_le", "cs16": "ci16_le", "cs8": "ci8"}.get(dt, dt)
        if dt not in SYNTH_DATATYPES:
            raise ScenarioError(f"datatype: must be one of {', '.join(SYNTH_DATATYPES)}, got {self.datatype!r}")
        self.datatype = dt
        self.transition_fraction = _num(self.transition_fraction, "transition_fraction", lo=0.0, hi=0.99)
        self.description = str(self.description or "")
        nyquist = self.sample_rate / 2
        for i, p in enumerate(self.platforms):
            if abs(p.offset_hz) >= nyquist:
                raise ScenarioError(
                    f"platforms[{i}].offset_hz: {p.offset_hz:g} Hz is outside the capture (±{nyquist:g} Hz)")
        if self.crowd is not None:
            lo, hi = self.crowd.offset_range_hz
            if max(abs(lo), abs(hi)) >= nyquist:
                raise ScenarioError(
                    f"crowd.offset_range_hz: [{lo:g}, {hi:g}] Hz reaches outside the capture (±{nyquist:g} Hz)")
        self._expanded: list[Platform] | None = None

    @property
    def total_samples(self) -> int:
        """Number of samples in the capture: ``round(duration_s · sample_rate)``."""
        return int(round(self.duration_s * self.sample_rate))

    def all_platforms(self) -> list[Platform]:
        """Explicit platforms followed by the crowd (drawn from the seed; cached)."""
        if self._expanded is None:
            crowd = []
            if self.crowd is not None:
                taken = {(p.platform_id, p.id_bits) for p in self.platforms}
                crowd = self.crowd.expand(self.seed, taken)
            self._expanded = list(self.platforms) + crowd
        return self._expanded

    def amplitude_for(self, ebn0_db: float, fmt: str = "A2") -> float:
        """Burst amplitude giving ``ebn0_db`` against this scenario's noise (Eb = A²/R with R the
        format's bit rate, N0 = σ²/fs)."""
        ebn0 = 10.0 ** (float(ebn0_db) / 10.0)
        return math.sqrt(ebn0 * _BIT_RATES[_format(fmt)] * self.noise_variance / self.sample_rate)

    # --- (de)serialisation ---------------------------------------------------------------------

    _KEYS = ("sample_rate", "center_freq", "duration_s", "noise", "seed", "start_time", "platforms",
             "crowd", "avoid_collisions", "collision_guard_hz", "datatype", "transition_fraction",
             "description")

    def to_dict(self) -> dict:
        """YAML/JSON-ready description that :meth:`from_dict` reads back to an equal scenario."""
        d = {
            "sample_rate": self.sample_rate, "center_freq": self.center_freq,
            "duration_s": self.duration_s,
            "noise": self.noise_variance if self.add_noise else "none",
            "seed": self.seed,
            "start_time": self.start_time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "datatype": self.datatype, "avoid_collisions": self.avoid_collisions,
            "collision_guard_hz": self.collision_guard_hz,
            "transition_fraction": self.transition_fraction,
            "platforms": [p.to_dict() for p in self.platforms],
        }
        if self.crowd is not None:
            d["crowd"] = self.crowd.to_dict()
        if self.description:
            d["description"] = self.description
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str | None = None) -> "Scenario":
        """Build a scenario from a mapping (the YAML layout in the module docstring).

        Parameters
        ----------
        d : dict
            Scenario mapping.
        source : str, optional
            Name prefixed to error messages (the YAML file).

        Raises
        ------
        ScenarioError
            Naming the offending key, e.g. ``platforms[1].n_blocks: must be 1..8, got 9``.
        """
        try:
            return cls._from_dict(d)
        except ScenarioError as exc:
            if source:
                raise ScenarioError(f"{source}: {exc}") from None
            raise

    @classmethod
    def _from_dict(cls, d) -> "Scenario":
        if d is None:
            d = {}
        _check_keys(d, set(cls._KEYS), "")
        kw = {k: d[k] for k in ("sample_rate", "center_freq", "duration_s", "seed", "start_time",
                                 "avoid_collisions", "collision_guard_hz", "datatype",
                                 "transition_fraction", "description") if k in d}
        for key in ("avoid_collisions",):
            if key in kw and not isinstance(kw[key], bool):
                raise ScenarioError(f"{key}: must be true or false, got {kw[key]!r}")
        noise = d.get("noise", "unit")
        if isinstance(noise, str) and noise.strip().lower() in ("unit", "none", "off"):
            kw["noise_variance"] = 1.0
            kw["add_noise"] = noise.strip().lower() == "unit"
        elif noise is False or noise is None:
            kw["noise_variance"], kw["add_noise"] = 1.0, False
        else:
            kw["noise_variance"] = _num(noise, "noise", lo=0.0, lo_open=True)
        plats = d.get("platforms") or []
        if not isinstance(plats, list):
            raise ScenarioError("platforms: must be a list of platform mappings")
        kw["platforms"] = [Platform.from_dict(p, f"platforms[{i}]") for i, p in enumerate(plats)]
        if d.get("crowd") is not None:
            kw["crowd"] = CrowdSpec.from_dict(d["crowd"], "crowd")
        return cls(**kw)

    @classmethod
    def from_yaml(cls, path) -> "Scenario":
        """Read a YAML scenario file.

        Raises
        ------
        ScenarioError
            If the file cannot be read, is not YAML, or any value is invalid (the message names
            the file and the key).
        """
        import yaml

        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ScenarioError(f"{path}: no such scenario file") from None
        except OSError as exc:
            raise ScenarioError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            d = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise ScenarioError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', None) or exc}") from None
        return cls.from_dict(d, source=str(path))

    def to_yaml(self) -> str:
        """The scenario as YAML text (round-trips through :meth:`from_yaml`)."""
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False)
