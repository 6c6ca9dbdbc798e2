"""Small sample-stream processing blocks: frequency shift, gain, decimation, power meter.

All of them give the same output for any split of the input into chunks, keep the sample
index (and so the stream time) exact through rate changes, and — where a parameter is
reconfigurable — apply a change exactly between two samples without disturbing the signal
(the frequency shift stays phase-continuous).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math

import numpy as np

from argosneo.dsp.firdesign import firwin_lowpass
from argosneo.errors import FlowgraphError
from argosneo.flowgraph.block import Block, Param
from argosneo.flowgraph.registry import register_block
from argosneo.io.chunk import SampleChunk

_TWO_PI = 2.0 * math.pi


def _need_chunk(kind: str, item) -> SampleChunk:
    if not isinstance(item, SampleChunk):
        raise FlowgraphError(f"{kind}: takes sample chunks, got {type(item).__name__}")
    return item


@register_block
class FrequencyShift(Block):
    """Multiply by ``exp(i·2π·shift_hz·t)``: a signal at ``f`` comes out at ``f + shift_hz``.

    The phase runs on across chunks and across changes of ``shift_hz`` (no phase step at the
    change), and across lost samples (it advances by the gap), so the oscillator is a function
    of the sample index only.
    """

    kind = "frequency_shift"
    port_kinds = {"in": "samples", "out": "samples"}
    params = (
        Param("shift_hz", float, 0.0, "frequency added to the signal, Hz", reconfigurable=True),
    )

    def __init__(self, shift_hz=0.0):
        self.shift_hz = float(shift_hz)
        self._phase = 0.0     # oscillator phase at sample self._next (rad, in [0, 2π))
        self._next = None
        self._rate = None
        self._info_key = None
        self._info = None

    def _check(self, shift, rate) -> None:
        if abs(shift) >= rate / 2:
            raise FlowgraphError(f"frequency_shift: shift_hz {shift:g} is outside ±{rate / 2:g} Hz "
                                 f"(half the {rate:g} S/s rate)")

    def process(self, item, port="in"):
        c = _need_chunk(self.kind, item)
        rate = self._rate = c.info.sample_rate
        self._check(self.shift_hz, rate)
        if self._next is not None and c.first_sample != self._next:
            self._phase = (self._phase + _TWO_PI * self.shift_hz / rate * (c.first_sample - self._next)) % _TWO_PI
        n = len(c.samples)
        w = _TWO_PI * self.shift_hz / rate
        phi = self._phase + w * np.arange(n, dtype=np.float64)
        osc = np.empty(n, np.complex64)
        osc.real = np.cos(phi)
        osc.imag = np.sin(phi)
        out = c.samples * osc
        self._phase = (self._phase + w * n) % _TWO_PI
        self._next = c.end_sample
        key = (id(c.info), self.shift_hz)
        if key != self._info_key:
            cf = c.info.center_freq
            self._info = dataclasses.replace(c.info, center_freq=None if cf is None else cf - self.shift_hz)
            self._info_key = key
        return [("out", dataclasses.replace(c, samples=out, info=self._info))]

    def reconfigure(self, **changes):
        if set(changes) - {"shift_hz"}:
            raise FlowgraphError(f"frequency_shift: cannot change {', '.join(sorted(set(changes) - {'shift_hz'}))}")
        if "shift_hz" in changes:
            shift = float(changes["shift_hz"])
            if self._rate is not None:
                self._check(shift, self._rate)   # refuse now rather than fail at the next chunk
            self.shift_hz = shift

    def state(self):
        return {"shift_hz": self.shift_hz}


@register_block
class Gain(Block):
    """Scale the samples by ``gain_db`` decibels (amplitude ``10^(gain_db/20)``)."""

    kind = "gain"
    port_kinds = {"in": "samples", "out": "samples"}
    params = (
        Param("gain_db", float, 0.0, "gain, dB", minimum=-200.0, maximum=200.0, reconfigurable=True),
    )

    def __init__(self, gain_db=0.0):
        self.gain_db = float(gain_db)

    def process(self, item, port="in"):
        c = _need_chunk(self.kind, item)
        scale = np.float32(10.0 ** (self.gain_db / 20.0))
        return [("out", dataclasses.replace(c, samples=c.samples * scale))]

    def reconfigure(self, **changes):
        if set(changes) - {"gain_db"}:
            raise FlowgraphError("gain: only gain_db can change")
        self.gain_db = float(changes.get("gain_db", self.gain_db))

    def state(self):
        return {"gain_db": self.gain_db}


@register_block
class Decimate(Block):
    """Low-pass filter and keep every ``factor``-th sample, with no time shift.

    Output sample ``n`` is the linear-phase FIR centred on input sample ``n·factor`` (the
    filter looks ahead half its length), so output ``n`` sits exactly at stream time
    ``n·factor / rate_in`` = ``n / rate_out`` and sample indices stay exact. Samples before the
    block's first input are taken as zero. A gap in the input (lost samples) is filled with
    zeros when short, and restarts the filter when longer than the filter.
    """

    kind = "decimate"
    port_kinds = {"in": "samples", "out": "samples"}
    params = (
        Param("factor", int, required=True, doc="decimation factor", minimum=1, maximum=4096),
        Param("cutoff", float, 0.8, "passband edge as a fraction of the output Nyquist frequency",
              minimum=0.05, maximum=1.0),
        Param("taps_per_factor", int, 16, "filter length per unit of factor", minimum=2, maximum=256),
    )

    def __init__(self, factor, cutoff=0.8, taps_per_factor=16):
        self.factor = int(factor)
        d = self.factor
        if d == 1:
            self.taps = np.ones(1, np.float32)
        else:
            n = taps_per_factor * d + 1   # odd: a whole-sample centre
            self.taps = firwin_lowpass(n, cutoff / d, window=("kaiser", 8.0)).astype(np.float32)
        self.half = (len(self.taps) - 1) // 2
        self._buf = None          # pending input, buf[0] is stream sample self._buf_start
        self._buf_start = 0
        self._next_out = None     # index of the next output sample
        self._end = None          # stream index after the last input
        self._info = None
        self._info_in = None
        self._anchor = None       # (input index, datetime) of the latest time anchor
        self._pending_discontinuity = False

    @classmethod
    def output_rates(cls, params, input_rates):
        rate = input_rates.get("in")
        return {"out": None if rate is None else rate / params["factor"]}

    def _start(self, first: int) -> None:
        d, k = self.factor, self.half
        self._next_out = -(-first // d)
        self._buf_start = self._next_out * d - k
        # Zeros stand for the samples before the first input.
        self._buf = np.zeros(first - self._buf_start, np.complex64)
        self._end = first

    def _out_info(self, info):
        if info is not self._info_in:
            total = None if info.total_samples is None else -(-info.total_samples // self.factor)
            self._info = dataclasses.replace(info, sample_rate=info.sample_rate / self.factor, total_samples=total)
            self._info_in = info
        return self._info

    def _emit(self, last_input: int, info) -> list:
        """Outputs whose window ends at or before stream sample ``last_input``."""
        d, k, L = self.factor, self.half, len(self.taps)
        n_last = (last_input - k) // d
        count = n_last - self._next_out + 1
        if count <= 0:
            return []
        need = (count - 1) * d + L
        win = np.lib.stride_tricks.sliding_window_view(self._buf[:need], L)[::d]
        y = (win @ self.taps[::-1]).astype(np.complex64, copy=False)
        first = self._next_out
        self._next_out += count
        drop = count * d
        self._buf = self._buf[drop:]
        self._buf_start += drop
        anchor = None
        if self._pending_discontinuity and self._anchor is not None:
            idx, when = self._anchor
            anchor = when + _dt.timedelta(seconds=(first * d - idx) / self._info_in.sample_rate)
        out = SampleChunk(y, first, self._out_info(info), discontinuity=self._pending_discontinuity,
                          time_anchor=anchor)
        self._pending_discontinuity = False
        return [("out", out)]

    def process(self, item, port="in"):
        c = _need_chunk(self.kind, item)
        out = []
        if self._buf is None:
            self._start(c.first_sample)
        elif c.first_sample != self._end:
            gap = c.first_sample - self._end
            if gap < 0:
                raise FlowgraphError(f"decimate: input went back in time (sample {c.first_sample} after {self._end})")
            if gap <= len(self.taps):
                self._buf = np.concatenate((self._buf, np.zeros(gap, np.complex64)))
                self._end = c.first_sample
            else:
                out += self._finish(c.info)
                self._start(c.first_sample)
            self._pending_discontinuity = True
        if c.discontinuity:
            self._pending_discontinuity = True
        if c.time_anchor is not None:
            self._anchor = (c.first_sample, c.time_anchor)
        self._buf = np.concatenate((self._buf, c.samples)) if len(self._buf) else c.samples
        self._end = c.end_sample
        out += self._emit(self._end - 1, c.info)
        return out

    def _finish(self, info) -> list:
        """Emit every output up to the last input, padding the look-ahead with zeros."""
        if self._buf is None or self._info_in is None and info is None:
            return []
        self._buf = np.concatenate((self._buf, np.zeros(self.half, np.complex64)))
        out = self._emit(self._end - 1 + self.half, info)
        self._buf = None
        return out

    def flush(self):
        if self._buf is None:
            return []
        info = self._info_in
        if info is None:
            return []
        return self._finish(info)

    def state(self):
        return {"factor": self.factor, "next_output": self._next_out}


@register_block
class PowerMeter(Block):
    """Mean power over consecutive windows of ``window`` samples, as events.

    Windows are aligned to multiples of ``window`` in the block's own stream index, so the
    events do not depend on how the stream is chunked. Each event gives the window's first
    sample, its stream time (s) and UTC time when known, and the power in dB full scale.
    Windows below ``min_power_db`` are not reported (a simple energy detector).
    """

    kind = "power_meter"
    port_kinds = {"in": "samples", "out": "events"}
    outputs = ("out",)
    params = (
        Param("window", int, 4096, "samples per measurement", minimum=1, maximum=1 << 24),
        Param("min_power_db", float, -300.0, "report only windows at or above this power, dBFS",
              minimum=-300.0, maximum=100.0, reconfigurable=True),
    )

    def __init__(self, window=4096, min_power_db=-300.0):
        self.window = int(window)
        self.min_power_db = float(min_power_db)
        self._acc = 0.0
        self._count = 0
        self._win_start = None
        self._next = None
        self._info = None
        self.events = 0

    @classmethod
    def output_rates(cls, params, input_rates):
        return {"out": None}

    def _event(self):
        p = self._acc / self.window
        db = 10.0 * math.log10(p) if p > 0 else -300.0
        self._acc, self._count = 0.0, 0
        if db < self.min_power_db:
            return None
        rate = self._info.sample_rate
        when = self._info.time_of(self._win_start)
        self.events += 1
        return {"sample": int(self._win_start), "time_s": self._win_start / rate,
                "utc": None if when is None else when.isoformat().replace("+00:00", "Z"),
                "sample_rate": rate, "power_db": round(db, 6)}

    def process(self, item, port="in"):
        c = _need_chunk(self.kind, item)
        self._info = c.info
        w = self.window
        x = c.samples
        pos, idx = 0, c.first_sample
        events = []
        if self._next is not None and idx != self._next:
            self._acc, self._count, self._win_start = 0.0, 0, None   # gap: the open window is lost
        self._next = c.end_sample
        if self._win_start is None:
            self._win_start = idx - idx % w
            self._count = idx % w   # samples before the block's first input count as silence
        power = (x.real.astype(np.float64) ** 2 + x.imag.astype(np.float64) ** 2)
        while pos < len(x):
            take = min(w - self._count, len(x) - pos)
            self._acc += float(power[pos:pos + take].sum())
            self._count += take
            pos += take
            if self._count == w:
                ev = self._event()
                if ev is not None:
                    events.append(ev)
                self._win_start += w
        return [("out", events)] if events else []

    def reconfigure(self, **changes):
        if set(changes) - {"min_power_db"}:
            raise FlowgraphError("power_meter: only min_power_db can change while running")
        self.min_power_db = float(changes["min_power_db"])

    def state(self):
        return {"events": self.events, "min_power_db": self.min_power_db}
