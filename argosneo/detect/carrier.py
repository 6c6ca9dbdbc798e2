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
#: word is a new burst's carrier (a new carrier has 4× the power of a residual one at β = π/3,
#: so a new burst up to 3 dB weaker than the followed one is still seen).
NEW_CARRIER_JUMP = 2.0


@dataclass(frozen=True)
class CarrierDetection:
    """A new carrier: where (relative to the capture centre) and when it was first seen."""

    channel: int
    offset_hz: float            #: carrier frequency relative to the capture centre
    frame_start: int            #: channel-output index of the first frame it was seen in
    frame_length: int
    power_snr_db: float         #: peak bin power over the noise floor


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
        for j in range(-lo_bins, hi_bins + 1):
            b = j % n_bins
            p = power[ch, b]
            if p <= level:
                continue
            # the owned band's two edges are not neighbours of each other
            if j > -lo_bins and p < power[ch, (b - 1) % n_bins]:
                continue
            if j < hi_bins and p < power[ch, (b + 1) % n_bins]:
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
        self._pending = np.zeros((0, self.num_channels), dtype=np.complex64)
        self._next_frame_start = 0           # channel-output index of the next frame
        self._followed: list[list[float]] = []   # [offset_hz, last_seen, peak_power, first_seen, residual_powers]
        self.frames = 0
        self.detections = 0

    def set_pfa(self, pfa: float) -> None:
        if not 0.0 < pfa < 1.0:
            raise ValueError(f"pfa must be in (0, 1), got {pfa}")
        self.pfa = float(pfa)
        self.threshold = -math.log(self.pfa)

    @property
    def threshold_db(self) -> float:
        return 10 * math.log10(self.threshold)

    def reset(self, next_index: int = 0) -> None:
        self._pending = np.zeros((0, self.num_channels), dtype=np.complex64)
        self._next_frame_start = next_index
        self._followed.clear()

    def process(self, channels: np.ndarray) -> list[CarrierDetection]:
        """Feed channelizer output rows (n, channels); return carriers first seen in them."""
        data = channels if len(self._pending) == 0 else np.concatenate([self._pending, channels])
        n_frames = len(data) // self.fft_size
        found: list[CarrierDetection] = []
        if n_frames:
            used = n_frames * self.fft_size
            frames = data[:used].reshape(n_frames, self.fft_size, self.num_channels)
            h = self.owned_bins
            for f in range(n_frames):
                # (channels, samples) in single precision; only the owned bins are kept
                spectra = scipy.fft.fft(frames[f].T * self.window, axis=1, workers=1)
                owned = np.concatenate([spectra[:, : h + 1], spectra[:, spectra.shape[1] - h:]], axis=1)
                power = owned.real ** 2 + owned.imag ** 2
                found.extend(self._frame(power, self._next_frame_start + f * self.fft_size))
            self._next_frame_start += used
            self.frames += n_frames
        self._pending = data[n_frames * self.fft_size:].copy()
        return found

    def _frame(self, power: np.ndarray, frame_start: int) -> list[CarrierDetection]:
        """``power`` holds each channel's owned bins: bins ``0..h`` then ``−h..−1``."""
        h = self.owned_bins
        # noise floor: mean of the bins below 4× the mean (two passes drop the few bins a burst
        # holds; cheaper than a median and as robust here)
        mean = power.mean(axis=1, keepdims=True)
        quiet = power < 4.0 * mean
        floor = (power * quiet).sum(axis=1) / np.maximum(quiet.sum(axis=1), 1)
        # the truncated mean of an exponential below 4× its mean is 0.925× the mean
        floor = np.maximum(floor / QUIET_MEAN_FACTOR, 1e-30)
        max_peaks = 4096
        out_ch = np.empty(max_peaks, dtype=np.int64)
        out_bin = np.empty(max_peaks, dtype=np.int64)
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
            if followed is not None and not self._is_new_carrier(followed, offset, p, frame_start):
                if abs(followed[0] - offset) <= SAME_CARRIER_HZ:
                    followed[0] = offset
                    followed[1] = frame_start
                    followed[2] = max(followed[2], p)
                    if frame_start - followed[3] > SYNC_GUARD_S * self.channel_rate:
                        followed[4].append(p)                 # residual-line powers
                        del followed[4][:-8]
                continue
            if followed is not None:
                self._followed.remove(followed)
            self._followed.append([offset, frame_start, p, frame_start, []])
            new.append(CarrierDetection(ch, float(offset), frame_start, self.fft_size,
                                        10 * math.log10(snr)))
        self.detections += len(new)
        return new

    def _is_new_carrier(self, followed, offset: float, power: float, frame_start: int) -> bool:
        """A new burst's carrier at (nearly) the frequency of a carrier followed past its sync
        word: during the data only the residual carrier (cos²β ≈ 25 % of the power) is left,
        so a line well above the median residual line of the last frames (at least two frames
        of data) is another burst starting, not the same one continuing."""
        if len(followed[4]) < 2 or abs(followed[0] - offset) > SAME_CARRIER_HZ:
            return False
        return power > NEW_CARRIER_JUMP * float(np.median(followed[4]))

    def _match(self, offset: float):
        best = None
        for c in self._followed:
            distance = abs(c[0] - offset)
            if distance <= SIDEBAND_HZ:
                if best is None or distance < abs(best[0] - offset):
                    best = c
        return best


def default_pfa_threshold_db(pfa: float = DEFAULT_PFA) -> float:
    """Detection threshold (dB over the mean noise bin power) for a per-bin false-alarm rate."""
    return 10 * math.log10(-math.log(pfa))


__all__ = ["CarrierDetector", "CarrierDetection", "DEFAULT_PFA", "default_pfa_threshold_db",
           "spec"]
