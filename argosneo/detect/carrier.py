"""Burst detection from the unmodulated carrier that opens every Argos burst.

Every channel of the channelizer is cut into consecutive frames of ``fft_size`` samples
(≈ 65 ms, a little under half of the 160 ms carrier, so at least one frame lies wholly inside it);
each frame's Hann-windowed spectrum (≈ 15 Hz bins) is compared with the channel's noise floor
(median bin power / ln 2, robust against the few bins a burst occupies) and bins above
``threshold × floor`` that are local maxima become carrier peaks. Noise bin powers are
exponentially distributed, so the threshold sets the false-alarm probability per bin:
``pfa = exp(−threshold)``.

Only bins inside a channel's own half-spacing are examined: with a 2× oversampled channelizer
each frequency is seen by two channels, and this gives every frequency exactly one owner.

A peak close to a carrier already being followed is the same burst (its drift, its residual
carrier during the data, its modulation sidebands) and is not reported again; anything else is
reported once as a :class:`CarrierDetection`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
import scipy.fft

from argosneo import spec

#: E[x | x < 4·mean] / mean for exponentially distributed noise bin powers:
#: (1 − 5e^−4) / (1 − e^−4).
QUIET_MEAN_FACTOR = (1 - 5 * math.exp(-4.0)) / (1 - math.exp(-4.0))
#: Frame length aimed at (s): under half the carrier, so one frame always fits inside it.
FRAME_DURATION_S = 0.065
#: Default false-alarm probability per spectral bin (threshold = −ln pfa ≈ 12.3 dB).
DEFAULT_PFA = 5e-8
#: Peaks within this distance of a followed carrier are that carrier (drift over one frame,
#: frequency estimation spread) (Hz).
SAME_CARRIER_HZ = 120.0
#: Peaks within this distance of a carrier followed during its burst are its modulation
#: sidebands (95 % of an A2 burst's power lies within ±1.94 kHz; the sync word's fifteen 1 bits
#: put lines at ±400 Hz *stronger* than the carrier). A second burst this close would collide
#: with the first anyway (Hz).
SIDEBAND_HZ = 3000.0
#: A followed carrier is kept through its carrier and sync word (when the strong ±400 Hz lines
#: appear) even if missed in a frame (s) …
SYNC_GUARD_S = spec.A2_CARRIER_DURATION_S + spec.A2_SYNC_BITS / spec.A2_BIT_RATE + 0.1
#: … and afterwards while its residual carrier keeps being seen, plus this hold (s). Holding it
#: for a whole maximum-length burst instead would hide a short burst's neighbours in frequency.
FOLLOW_HOLD_S = 0.2
#: A line this much stronger than the median residual line of a carrier followed past its sync
#: word, at its frequency or among its sidebands, is a new burst's carrier (a new carrier has 4×
#: the power of a residual one at β = π/3, so a new burst up to 3 dB weaker than the followed one
#: is still seen).
NEW_CARRIER_JUMP = 2.0
#: A residual line this many times the detection threshold is not lost for two frames while its
#: burst lasts (a weak one's is, now and then: its burst goes on although the line is missed).
FADE_MARGIN = 4.0


@dataclass(frozen=True)
class CarrierDetection:
    """A new carrier: where (relative to the capture centre) and when it was first seen."""

    channel: int
    offset_hz: float            #: carrier frequency relative to the capture centre
    frame_start: int            #: channel-output index of the first frame it was seen in
    frame_length: int
    power_snr_db: float         #: peak bin power over the noise floor


@numba.njit(cache=True)
def _window_rows(data, src0, window, dst0, count, out):
    """``out[dst0 + i, k] = data[src0 + i, k] * window[dst0 + i]`` for ``i < count``: rows of
    every channel, windowed into the frame being filled, in the channelizer's own (sample,
    channel) layout, so the FFT then runs down the columns.

    Both parts are scaled by the real window, which is exactly numpy's complex × real product.
    (Transposing to one row per channel instead cost more than the column FFT saves: the
    transpose's writes are scattered, these are contiguous.)
    """
    n_ch = out.shape[1]
    for i in range(count):
        w = window[dst0 + i]
        src = src0 + i
        dst = dst0 + i
        for k in range(n_ch):
            v = data[src, k]
            out[dst, k] = np.complex64(complex(v.real * w, v.imag * w))


@numba.njit(cache=True)
def _pairwise_block(a, lo, n):
    """numpy's float32 sum of ``a[lo:lo+n]`` for ``n <= 128``: 8-way unrolled, then the rest."""
    if n < 8:
        res = np.float32(0.0)
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - (n % 8):
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True)
def _pairwise_sum(a, lo, n):
    """``a[lo:lo+n].sum()`` exactly as numpy sums a contiguous float32 row, so the noise floor
    is bit-for-bit numpy's: blocks of at most 128 (:func:`_pairwise_block`), longer runs split
    at ``n/2`` rounded down to a multiple of 8 and the halves added. numpy recurses; this walks
    the same tree with an explicit stack (Numba's cache cannot hold a recursive function)."""
    if n <= 128:
        return _pairwise_block(a, lo, n)
    st_lo = np.empty(64, np.int64)
    st_n = np.empty(64, np.int64)
    st_left = np.empty(64, np.float32)      # sum of the left half, once known
    st_stage = np.empty(64, np.int64)       # 0 new, 1 left half pending, 2 right half pending
    top = 0
    st_lo[0], st_n[0], st_stage[0] = lo, n, 0
    while True:
        m = st_n[top]
        if m > 128:
            half = m // 2
            half -= half % 8
            st_stage[top] = 1
            top += 1
            st_lo[top], st_n[top], st_stage[top] = st_lo[top - 1], half, 0
            continue
        res = _pairwise_block(a, st_lo[top], m)
        top -= 1
        while top >= 0:
            if st_stage[top] == 1:
                # left half done: remember it and go down the right half
                st_left[top] = res
                st_stage[top] = 2
                half = st_n[top] // 2
                half -= half % 8
                top += 1
                st_lo[top], st_n[top], st_stage[top] = st_lo[top - 1] + half, st_n[top - 1] - half, 0
                break
            res = st_left[top] + res
            top -= 1
        if top < 0:
            return res


@numba.njit(cache=True)
def _owned_power_floor(spectra, h, quiet_mean_factor, power, floor, scratch):
    """Power of each channel's owned bins and its noise floor (see :meth:`CarrierDetector._frame`).

    ``spectra`` is (fft_size, channels), one column per channel; ``power`` (channels, 2h+1)
    receives bins ``0..h`` then ``−h..−1``; ``floor`` the truncated-mean floor: the mean of the
    bins below 4× the mean, divided by ``quiet_mean_factor``. ``scratch`` is float32 of length
    2h+1.
    """
    n_fft, n_ch = spectra.shape
    n_own = 2 * h + 1
    # bin-major, so the spectra are read contiguously
    for j in range(n_own):
        b = j if j <= h else n_fft - h + (j - h - 1)
        src = spectra[b]
        for c in range(n_ch):
            v = src[c]
            power[c, j] = v.real * v.real + v.imag * v.imag
    for c in range(n_ch):
        row = power[c]
        mean = _pairwise_sum(row, 0, n_own) / np.float32(n_own)
        limit = np.float32(4.0) * mean
        count = 0
        for j in range(n_own):
            p = row[j]
            if p < limit:
                scratch[j] = p
                count += 1
            else:
                scratch[j] = np.float32(0.0)
        quiet_sum = _pairwise_sum(scratch, 0, n_own)
        f = np.float64(quiet_sum) / max(count, 1) / quiet_mean_factor
        floor[c] = max(f, 1e-30)


@numba.njit(cache=True)
def _peaks_kernel(power, floor, threshold, lo_bins, hi_bins, out_ch, out_bin):
    """Local maxima above ``threshold * floor[ch]`` within each channel's owned bins.

    ``power`` is (channels, bins) in FFT order, holding only the owned bins ``0..hi_bins`` and
    ``−lo_bins..−1``. Returns the number of peaks written.
    """
    n_ch, n_bins = power.shape
    count = 0
    for ch in range(n_ch):
        level = threshold * floor[ch]
        row = power[ch]
        for j in range(-lo_bins, hi_bins + 1):
            # almost every bin is below the level: test it before any neighbour arithmetic
            b = j if j >= 0 else j + n_bins
            p = row[b]
            if p <= level:
                continue
            # the owned band's two edges are not neighbours of each other
            if j > -lo_bins and p < row[b - 1 if b > 0 else n_bins - 1]:
                continue
            if j < hi_bins and p < row[b + 1 if b < n_bins - 1 else 0]:
                continue
            if count < out_ch.shape[0]:
                out_ch[count] = ch
                out_bin[count] = j
                count += 1
    return count


class CarrierDetector:
    """Streaming carrier detector over a channelizer's output (see the module docstring).

    Parameters
    ----------
    channel_offsets_hz : array
        Centre of every channel relative to the capture centre (FFT order).
    channel_rate : float
        Output rate of each channel (S/s).
    channel_spacing_hz : float
        Distance between channel centres; each channel owns ±spacing/2.
    pfa : float
        False-alarm probability per bin and frame.
    """

    def __init__(self, channel_offsets_hz, channel_rate: float, channel_spacing_hz: float,
                 *, pfa: float = DEFAULT_PFA):
        self.channel_offsets_hz = np.asarray(channel_offsets_hz, dtype=np.float64)
        self.num_channels = len(self.channel_offsets_hz)
        self.channel_rate = float(channel_rate)
        self.spacing = float(channel_spacing_hz)
        self.fft_size = 1 << max(4, int(round(math.log2(FRAME_DURATION_S * channel_rate))))
        self.bin_hz = self.channel_rate / self.fft_size
        self.owned_bins = int(math.floor(0.5 * self.spacing / self.bin_hz))
        self.window = np.hanning(self.fft_size).astype(np.float32)
        self.set_pfa(pfa)
        self._filled = 0                     # rows of the current frame windowed so far
        self._next_frame_start = 0           # channel-output index of the next frame
        self._followed: list[list[float]] = []   # [offset_hz, last_seen, peak_power, first_seen, residual_powers]
        self.frames = 0
        self.detections = 0
        # work buffers, kept across frames: fresh multi-megabyte temporaries every 55 ms cost
        # more in page faults than the arithmetic
        n_own = 2 * self.owned_bins + 1
        self._frame_buf = np.empty((self.fft_size, self.num_channels), np.complex64)
        self._power = np.empty((self.num_channels, n_own), np.float32)
        self._floor = np.empty(self.num_channels, np.float64)
        self._scratch = np.empty(n_own, np.float32)
        max_peaks = 4096
        self._out_ch = np.empty(max_peaks, dtype=np.int64)
        self._out_bin = np.empty(max_peaks, dtype=np.int64)

    def set_pfa(self, pfa: float) -> None:
        if not 0.0 < pfa < 1.0:
            raise ValueError(f"pfa must be in (0, 1), got {pfa}")
        self.pfa = float(pfa)
        self.threshold = -math.log(self.pfa)

    @property
    def threshold_db(self) -> float:
        return 10 * math.log10(self.threshold)

    def reset(self, next_index: int = 0) -> None:
        self._filled = 0
        self._next_frame_start = next_index
        self._followed.clear()

    def process(self, channels: np.ndarray) -> list[CarrierDetection]:
        """Feed channelizer output rows (n, channels); return carriers first seen in them.

        Rows are windowed straight into the frame being filled (no copy of the input is kept);
        each full frame is transformed and examined."""
        channels = np.ascontiguousarray(channels, dtype=np.complex64)
        found: list[CarrierDetection] = []
        pos, n = 0, len(channels)
        while pos < n:
            take = min(self.fft_size - self._filled, n - pos)
            _window_rows(channels, pos, self.window, self._filled, take, self._frame_buf)
            self._filled += take
            pos += take
            if self._filled == self.fft_size:
                found.extend(self._full_frame(self._next_frame_start))
                self._next_frame_start += self.fft_size
                self.frames += 1
                self._filled = 0
        return found

    def _full_frame(self, frame_start: int) -> list[CarrierDetection]:
        """Spectrum (in place), owned-bin power and noise floor of the windowed frame, then
        :meth:`_frame`."""
        spectra = scipy.fft.fft(self._frame_buf, axis=0, workers=1, overwrite_x=True)
        _owned_power_floor(spectra, self.owned_bins, QUIET_MEAN_FACTOR, self._power, self._floor,
                           self._scratch)
        return self._frame(self._power, frame_start, self._floor)

    def _frame(self, power: np.ndarray, frame_start: int, floor: np.ndarray) -> list[CarrierDetection]:
        """``power`` holds each channel's owned bins (bins ``0..h`` then ``−h..−1``), ``floor``
        each channel's noise floor: the mean of the bins below 4× the mean (two passes drop the
        few bins a burst holds; cheaper than a median and as robust here) over the truncated
        mean of an exponential below 4× its mean (0.925× the mean), see
        :func:`_owned_power_floor`."""
        h = self.owned_bins
        out_ch, out_bin = self._out_ch, self._out_bin
        count = _peaks_kernel(power, floor, self.threshold, h, h, out_ch, out_bin)
        # forget carriers past their sync word that have not been seen for a while
        rate = self.channel_rate
        self._followed = [c for c in self._followed
                          if frame_start - c[1] <= FOLLOW_HOLD_S * rate
                          or frame_start - c[3] <= SYNC_GUARD_S * rate]
        if count == 0:
            return []
        n_bins = power.shape[1]
        peaks = []
        for i in range(count):
            ch, j = int(out_ch[i]), int(out_bin[i])
            b = j % n_bins
            a, p, c = power[ch, (b - 1) % n_bins], power[ch, b], power[ch, (b + 1) % n_bins]
            denom = a - 2 * p + c
            inner = -h < j < h
            delta = 0.5 * (a - c) / denom if denom < 0 and inner else 0.0
            offset = self.channel_offsets_hz[ch] + (j + delta) * self.bin_hz
            peaks.append((p, offset, ch, p / floor[ch]))
        peaks.sort(key=lambda t: -t[0])   # strongest first, so sidebands find their carrier
        new = []
        for p, offset, ch, snr in peaks:
            followed = self._match(offset)
            if followed is not None and followed[1] == frame_start:
                continue     # a weaker peak of a carrier already updated from this frame
            if followed is not None and not self._is_new_carrier(
                    followed, offset, p, frame_start, p / snr):
                if abs(followed[0] - offset) <= SAME_CARRIER_HZ:
                    followed[0] = offset
                    followed[1] = frame_start
                    followed[2] = max(followed[2], p)
                    if frame_start - followed[3] > SYNC_GUARD_S * self.channel_rate:
                        followed[4].append(p)                 # residual-line powers
                        del followed[4][:-8]
                continue
            if followed is not None and (abs(followed[0] - offset) <= SAME_CARRIER_HZ
                                         or not self._explains(followed, 0.0, frame_start)):
                self._followed.remove(followed)     # replaced by the new one, or over
            self._followed.append([offset, frame_start, p, frame_start, []])
            new.append(CarrierDetection(ch, float(offset), frame_start, self.fft_size,
                                        10 * math.log10(snr)))
        self.detections += len(new)
        return new

    def _is_new_carrier(self, followed, offset: float, power: float, frame_start: int,
                        floor: float) -> bool:
        """Whether a peak near the followed carrier ``followed`` (the closest one) is a new
        burst's carrier.

        At (nearly) its frequency, once past its sync word: during the data only the residual
        carrier (cos²β ≈ 25 % of the power) is left, so a line well above the median residual
        line of the last frames (at least two frames of data) is another burst starting — just
        after the followed one ended, or the two would collide — not the same one continuing.
        So is any line there after two frames without the residual line, if that line stood
        ``FADE_MARGIN`` above the threshold (``floor``: the channel's noise floor): only a weak
        burst's residual line fades for a while and comes back.

        Farther away, among the sidebands: new unless some carrier followed within
        ``SIDEBAND_HZ`` can have put it there (:meth:`_explains`).
        """
        if abs(followed[0] - offset) <= SAME_CARRIER_HZ:
            if len(followed[4]) < 2:
                return False
            residual = float(np.median(followed[4]))
            if (frame_start - followed[1] > self.fft_size
                    and residual > FADE_MARGIN * self.threshold * floor):
                return True     # a residual line this far above the threshold does not fade
            return power > NEW_CARRIER_JUMP * residual
        return not any(abs(c[0] - offset) <= SIDEBAND_HZ and self._explains(c, power, frame_start)
                       for c in self._followed)

    def _explains(self, carrier, power: float, frame_start: int) -> bool:
        """Whether a line of ``power`` can be a sideband of the followed ``carrier``: always
        during its carrier and sync word (the sync word's lines are stronger than the carrier);
        afterwards only while its residual line is still seen (in this frame or the previous
        one: sidebands strong enough to be seen come with a residual line 12 dB above them) and
        the line is not well above that residual line (the data's sidebands stay below it:
        random bits spread them; even a run of equal bits puts only 1.2× its power at ±400 Hz)."""
        if frame_start - carrier[3] <= SYNC_GUARD_S * self.channel_rate:
            return True
        if frame_start - carrier[1] > self.fft_size:
            return False
        return len(carrier[4]) < 2 or power <= NEW_CARRIER_JUMP * float(np.median(carrier[4]))

    def _match(self, offset: float):
        best = None
        for c in self._followed:
            distance = abs(c[0] - offset)
            if distance <= SIDEBAND_HZ:
                if best is None or distance < abs(best[0] - offset):
                    best = c
        return best


__all__ = ["CarrierDetector", "CarrierDetection", "DEFAULT_PFA"]
