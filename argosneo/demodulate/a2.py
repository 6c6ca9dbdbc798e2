"""PTT-A2 burst demodulator: residual-carrier biphase-L phase modulation at 400 bit/s.

The demodulator works on one *burst window*: complex baseband samples that contain a whole
candidate burst (the detector's coarse carrier frequency and start time place the window). Because
the whole burst is available, estimation is non-causal (smoothers instead of loops), which is what
lets it approach the coherent matched-filter limit of ``argos-spec.md`` §2:

1. mix the coarse carrier to 0 Hz and resample to ``SAMPLES_PER_CHIP`` samples per chip;
2. carrier phase from the residual carrier (a centred moving average passes the carrier, which
   holds cos²β of the power, and rejects biphase-L sidebands, which have no DC component);
3. chip timing and polarity from a soft correlation with the 48 chips of the sync word (both
   signs: the biphase sign and the spectral polarity are not certain, spec §2);
4. biphase-L matched filter: bit = (first-chip integral − second-chip integral) of Im(signal),
   which cancels any residual phase error's common-mode term;
5. one decision-directed pass: the decided chips are wiped off so the *full* signal power
   refines the carrier phase (a 4× better phase reference than the residual carrier alone), then
   the bits are decided again;
6. measurement: carrier frequency and drift by a least-squares fit of the wiped-off phase over the
   whole burst; amplitude; noise density from the noise-only parts of the window; C/N0.
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass, field
from fractions import Fraction

import numba
import numpy as np
import scipy.fft

from argosneo import spec
from argosneo.demodulate import a2_kernels as kernels
from argosneo.demodulate.frames import A2_FRAME, VLD_FRAME, BiphaseFrameFormat
from argosneo.dsp.convolve import (
    correlate_valid,
    moving_average_same,
    welch_density,
)
from argosneo.dsp.firdesign import firwin_lowpass
from argosneo.dsp.resample import resample_poly
from argosneo.dsp.rotate import rotate, rotate_by_levels

#: Working rate inside the demodulator, in samples per chip (16 → 12 800 S/s for A2): wide enough
#: (±6.4 kHz) that the resampling filter keeps the biphase sidebands a chip matched filter uses.
SAMPLES_PER_CHIP = 16
#: Half-width of the band kept around the coarse carrier before demodulating (Hz, −6 dB): the
#: burst's sidebands (95 % of the power within ±1.94 kHz) plus the coarse carrier's error.
#: Without it a burst 3.5–4 kHz away (outside the 3 kHz collision guard) and 15 dB stronger
#: leaks through the sidelobes of the chip integrators (−20 … −30 dB there) and flips bits of a
#: weak burst. Measured: no loss at Eb/N0 8–9 dB; a cut-off at 2.7–2.9 kHz did worse than none
#: with a strong burst 3.1 kHz away, 2.5 kHz better than none (not understood).
WORK_BAND_HZ = 2500.0
#: Length of the FIR filter that keeps that band (taps, odd so it is centred; ≈ 330 Hz wide
#: transition at 12 800 S/s, > 50 dB stop-band).
WORK_BAND_TAPS = 129
#: Centred moving-average length that extracts the residual carrier (s). 20 ms is 8 bits: long
#: enough to average biphase sidebands away (≥ 28 dB at 400 Hz), short enough to follow
#: ±200 Hz/s drift with < 0.03 rad bias.
CARRIER_SMOOTHING_S = 0.020
#: Moving average used once the modulation is wiped off (full power, so it can be shorter).
WIPED_SMOOTHING_S = 0.020
#: Length of the leave-one-out phase reference in the final pass, after the fitted carrier
#: polynomial is removed (s).
FINAL_REFERENCE_S = 0.06
#: Shortest final phase reference, in bit periods: one bit either side of the bit decided (the
#: bit itself is left out of its reference, so the reference must be longer than one bit).
MIN_REFERENCE_BITS = 2.0
#: How far from the detector's coarse estimate the sync search may place the modulation start (s).
SYNC_SEARCH_HALF_WIDTH_S = 0.045
#: Largest number of sync-word bit errors accepted (the soft correlation already picked the
#: timing; this bound keeps noise from decoding: P(false) ≈ 1.8e-5 per tried position).
MAX_SYNC_BIT_ERRORS = 2
#: Signal-presence check through the burst: stretches of this many bits must keep this fraction
#: of the pure carrier's amplitude, averaged over coherent pieces of a few bits.
SIGNAL_CHECK_BITS = 20
SIGNAL_CHECK_PIECE_BITS = 4
SIGNAL_CHECK_FRACTION = 0.5
#: Measured Eb/N0 below which a sync match is taken for chance (dB): the theoretical A2 PER is
#: already ≈ 100 % at 3 dB, so no real decode is lost.
MIN_EBN0_DB = 3.0
#: Half-width of the carrier-line search around the detector's coarse frequency (Hz): coarse
#: error plus ±200 Hz/s of drift over a whole burst.
CARRIER_SEARCH_HZ = 350.0
#: Per-frame carrier-line SNR (linear, peak bin over mean noise bin) for a frame to enter the
#: frequency-track fit.
CARRIER_TRACK_MIN_SNR = 12.0


def biphase_chips(bits: np.ndarray) -> np.ndarray:
    """Chip signs (±1) of biphase-L bits: bit 1 → (+1, −1), bit 0 → (−1, +1) (spec §2)."""
    first = np.where(np.asarray(bits) > 0, 1.0, -1.0) * spec.A2_BIT_ONE_FIRST_CHIP_SIGN
    return np.stack([first, -first], axis=1).reshape(-1)


@dataclass
class BurstWindow:
    """Complex baseband samples holding one candidate burst.

    ``time_of_first`` is the stream time (s, input sample index / input rate) of
    ``samples[0]``; ``baseband_offset_hz`` is the frequency (relative to the capture centre) that
    sits at 0 Hz in ``samples``; ``coarse_carrier_hz`` is the detector's carrier estimate relative
    to the window's 0 Hz; ``coarse_start_s`` is its estimate of the carrier start (stream time).
    """

    samples: np.ndarray
    sample_rate: float
    time_of_first: float
    baseband_offset_hz: float
    coarse_carrier_hz: float
    coarse_start_s: float


@dataclass
class A2Demodulated:
    """What the demodulator measured on one burst (frequencies relative to the capture centre)."""

    carrier_start_s: float          #: stream time of the first carrier sample (modulation − 160 ms)
    modulation_start_s: float       #: stream time of the first sync chip
    offset_hz: float                #: carrier frequency at ``carrier_start_s``
    drift_hz_s: float
    amplitude: float                #: carrier amplitude (same unit as the input samples)
    noise_density: float            #: N0 (power per Hz, input units)
    cn0_dbhz: float
    beta_rad: float                 #: measured peak phase deviation
    polarity: int                   #: +1 if bits came out as transmitted, −1 if inverted
    sync_bit_errors: int
    length_code: int                #: the 4-bit code received (hard decisions)
    n_blocks: int                   #: N chosen (maximum-likelihood among the 8 valid codes)
    length_parity_ok: bool
    length_corrected: bool          #: hard length bits were not a valid code; ML picked N
    message_bits: np.ndarray        #: 20 + 32N bits after the length field
    soft_bits: np.ndarray = field(repr=False)   #: soft values of every bit after the carrier
    sync_metric: float = 0.0        #: normalised sync correlation (1 = noiseless)

    format: str = "A2"
    bit_rate: float = spec.A2_BIT_RATE
    header_bits: int = spec.A2_SYNC_BITS + spec.A2_LENGTH_FIELD_BITS

    @property
    def end_s(self) -> float:
        """Stream time just after the burst's last chip."""
        return self.modulation_start_s + (self.header_bits + len(self.message_bits)) / self.bit_rate


class DemodulationRejected(Exception):
    """The window does not hold a decodable A2 burst; ``str()`` says why."""


# --------------------------------------------------------------------------------------------
# kernels


@numba.njit(cache=True)
def _sample_cumulative_kernel(cumulative, positions, out):
    n = cumulative.shape[0] - 1
    for k in range(positions.shape[0]):
        pos = positions[k]
        if pos <= 0.0:
            out[k] = cumulative[0]
        elif pos >= n:
            out[k] = cumulative[n]
        else:
            i = int(pos)
            frac = pos - i
            out[k] = cumulative[i] * (1.0 - frac) + cumulative[i + 1] * frac


def sample_cumulative(cumulative: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Running sum ``cumulative`` (with a leading zero, see :func:`_cumulative`) read at
    fractional sample positions by linear interpolation.

    The integral of the signal from position ``a`` to ``b`` is then
    ``sample_cumulative(c, b) - sample_cumulative(c, a)``: fractional chip boundaries cost
    nothing extra, and positions outside the signal integrate zeros.
    """
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    out = np.empty(positions.shape[0], dtype=cumulative.dtype)
    _sample_cumulative_kernel(cumulative, positions, out)
    return out


def _cumulative(x: np.ndarray) -> np.ndarray:
    """Running sum with a leading zero, in double precision (one second of samples summed in
    float32 would lose the small chip integrals)."""
    out = np.empty(len(x) + 1, dtype=np.complex128 if np.iscomplexobj(x) else np.float64)
    out[0] = 0
    np.cumsum(x, out=out[1:])
    return out


def _centred_moving_average(x: np.ndarray, length: int) -> np.ndarray:
    length = max(1, int(length) | 1)  # odd, so it is centred on a sample
    if x.dtype != np.complex64:
        return moving_average_same(x, length)
    out = np.empty_like(x)
    kernels.moving_average_centred(np.ascontiguousarray(x), length, out)
    return out


def _resample_ratio(in_rate: float, out_rate: float) -> tuple[int, int]:
    ratio = Fraction(out_rate / in_rate).limit_denominator(2000)
    if abs(float(ratio) - out_rate / in_rate) > 1e-9 * out_rate / in_rate:
        raise ValueError(f"cannot resample {in_rate} S/s to {out_rate} S/s exactly")
    return ratio.numerator, ratio.denominator


def _modulation_phase_track(chips: np.ndarray, start: float, step: float, n: int) -> np.ndarray:
    """Chip signs (±1, 0 outside the burst) sampled at sample indices 0..n-1."""
    track = np.empty(n, dtype=np.float32)
    kernels.chip_levels(np.ascontiguousarray(chips, dtype=np.float64), float(start), float(step), track)
    return track


def _level_factors(step: float) -> np.ndarray:
    """``exp(−i·step·level)`` for the levels −1, 0, +1 (``rotate_by_levels``'s factors)."""
    return np.exp(-1j * step * np.array([-1.0, 0.0, 1.0])).astype(np.complex64)


def _wiped_cumulative(y: np.ndarray, track: np.ndarray, beta: float) -> np.ndarray:
    """``_cumulative(rotate_by_levels(y, track, beta))`` in one pass."""
    out = np.empty(len(y) + 1, dtype=np.complex128)
    kernels.rotate_levels_cumulative(y, track, _level_factors(beta), out)
    return out


_NO_WEIGHTS = np.empty(0, dtype=np.float64)


def _polyfit(x: np.ndarray, y: np.ndarray, deg: int, w: np.ndarray | None = None) -> np.ndarray:
    """``numpy.polyfit(x, y, deg, w=w)``'s coefficients (highest power first) from the normal
    equations of the centred abscissa (:func:`kernels.polyfit_normal`, agreeing with the SVD
    solution to ~1e-12 relative for these low degrees); a degenerate system goes through
    :func:`_polyfit_lstsq`, which warns as numpy does."""
    order = int(deg) + 1
    out = np.empty(order, dtype=np.float64)
    xx = np.ascontiguousarray(x, dtype=np.float64)
    yy = np.ascontiguousarray(y, dtype=np.float64)
    ww = _NO_WEIGHTS if w is None else np.ascontiguousarray(w, dtype=np.float64)
    if len(yy) == len(xx) and (w is None or len(ww) == len(xx)) and \
            kernels.polyfit_normal(xx, yy, ww, order - 1, out):
        return out
    return _polyfit_lstsq(x, y, deg, w)


def _polyfit_lstsq(x: np.ndarray, y: np.ndarray, deg: int, w: np.ndarray | None = None) -> np.ndarray:
    """``numpy.polyfit(x, y, deg, w=w)`` step for step (same scaling, same ``lstsq`` call, so
    the same coefficients), with the design matrix built by a kernel."""
    order = int(deg) + 1
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y) + 0.0
    rcond = len(x) * np.finfo(x.dtype).eps
    lhs = np.empty((len(x), order), dtype=np.float64)
    kernels.vander_decreasing(np.ascontiguousarray(x), lhs)
    rhs = y
    if w is not None:
        w = np.asarray(w) + 0.0
        lhs *= w[:, np.newaxis]
        rhs *= w
    scale = np.sqrt((lhs * lhs).sum(axis=0))
    lhs /= scale
    c, _, rank, _ = np.linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if rank != order:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=2)
    return c


def _rotate_polynomial(x: np.ndarray, coeffs, t0: float, dt: float) -> np.ndarray:
    """``rotate(x, np.polyval(coeffs, t0 + dt·arange(len(x))))`` for a polynomial of degree
    ≤ 2, by the phase recurrence of :func:`kernels.rotate_quadratic`."""
    c = [0.0] * (3 - len(coeffs)) + [float(v) for v in coeffs]
    x = np.ascontiguousarray(x, dtype=np.complex64)
    out = np.empty_like(x)
    kernels.rotate_quadratic(x, c[0], c[1], c[2], float(t0), float(dt), out)
    return out


#: Per-thread scratch buffers of the carrier track's short-time spectra (a few MB that would
#: otherwise be mapped and faulted in again for every burst window).
_SCRATCH = threading.local()


def _spectra_buffer(n_frames: int, nfft: int) -> np.ndarray:
    buf = getattr(_SCRATCH, "spectra", None)
    if buf is None or buf.shape[1] != nfft or buf.shape[0] < n_frames:
        buf = _SCRATCH.spectra = np.empty((max(n_frames, 1), nfft), dtype=np.complex64)
    return buf[:n_frames]


# --------------------------------------------------------------------------------------------


class A2Demodulator:
    """Demodulates one A2 burst window at a time. Stateless between bursts (the burst window
    carries all the context), so one instance may serve a whole bank of detections."""

    frame_format: BiphaseFrameFormat = A2_FRAME

    def __init__(self, *, max_sync_bit_errors: int = MAX_SYNC_BIT_ERRORS,
                 polarity: int | None = None, frame_format: BiphaseFrameFormat | None = None):
        if frame_format is not None:
            self.frame_format = frame_format
        self.max_sync_bit_errors = max_sync_bit_errors
        self.forced_polarity = polarity
        self.work_rate = self.frame_format.chip_rate * SAMPLES_PER_CHIP
        self._sync_bits = self.frame_format.sync_bits
        self._sync_chips = biphase_chips(self._sync_bits)
        self._resamplers: dict[float, tuple[int, int]] = {}
        self._band_filter = firwin_lowpass(WORK_BAND_TAPS, WORK_BAND_HZ, fs=self.work_rate).astype(np.float32)
        self._band_filter_spectra: dict[int, np.ndarray] = {}
        self._carrier_grid: dict[int, tuple] = {}

    # -- helpers -----------------------------------------------------------------------------

    def _to_work_rate(self, window: BurstWindow) -> np.ndarray:
        mixed = _rotate_polynomial(window.samples, (0.0, 2 * np.pi * window.coarse_carrier_hz, 0.0),
                                   0.0, 1.0 / window.sample_rate)
        ratio = self._resamplers.get(window.sample_rate)
        if ratio is None:
            ratio = self._resamplers[window.sample_rate] = _resample_ratio(window.sample_rate, self.work_rate)
        up, down = ratio
        if up != down:
            mixed = resample_poly(mixed, up, down)
        # centred (odd, symmetric taps): no delay
        return self._band_limit(mixed.astype(np.complex64, copy=False))

    def _band_limit(self, x: np.ndarray) -> np.ndarray:
        """``fft_convolve_same(x, band_filter)`` as complex64, reusing the filter's spectrum
        (the same FFT product and inverse as ``argosneo.dsp.convolve``)."""
        h = self._band_filter
        n = len(x) + len(h) - 1
        nfft = scipy.fft.next_fast_len(n)
        spectrum = self._band_filter_spectra.get(nfft)
        if spectrum is None:
            spectrum = self._band_filter_spectra[nfft] = scipy.fft.fft(h, nfft)
        full = scipy.fft.ifft(scipy.fft.fft(x, nfft) * spectrum)[:n]
        first = (len(h) - 1) // 2
        return full[first:first + len(x)].astype(np.complex64)

    @staticmethod
    def _bit_statistics_at(y_cum, reference_cum, half_window, starts, n_bits):
        """Soft biphase-L statistics (polarity +1) of ``n_bits`` bits for each first-chip
        position in ``starts``: one row per start.

        Each bit gets its own carrier-phase reference: the sum of the reference signal over
        ±``half_window`` around the bit *minus the bit itself*. Leaving the bit out keeps its own
        noise (and, decision-directed, its own possibly wrong decision) from leaning the phase
        reference towards it.
        """
        starts = np.ascontiguousarray(starts, dtype=np.float64)
        out = np.empty((len(starts), int(n_bits)), dtype=np.float64)
        kernels.biphase_statistics(y_cum, reference_cum, float(half_window), starts, int(n_bits),
                                   float(SAMPLES_PER_CHIP), out)
        return out

    @classmethod
    def _bit_statistics(cls, y_cum, reference_cum, half_window, start, n_bits, polarity):
        """Soft biphase-L statistics of ``n_bits`` bits whose first chip starts at ``start``
        (see :meth:`_bit_statistics_at`), signed by ``polarity``."""
        return polarity * cls._bit_statistics_at(y_cum, reference_cum, half_window, [start], n_bits)[0]

    # -- main entry --------------------------------------------------------------------------

    def demodulate(self, window: BurstWindow) -> A2Demodulated:
        fs = self.work_rate
        spc = float(SAMPLES_PER_CHIP)
        y = self._to_work_rate(window)
        n = len(y)
        fmt = self.frame_format
        if n < int(fmt.duration_s(fmt.min_bits) * fs):
            raise DemodulationRejected(f"window shorter than the shortest {fmt.name} burst")

        # 2a. carrier frequency track (offset + drift) from the residual-carrier line, so the
        #     moving averages below see a carrier within a few hertz of 0 Hz at every instant
        track_f0, track_drift = self._carrier_track(y)
        y = _rotate_polynomial(y, (np.pi * track_drift, 2 * np.pi * track_f0, 0.0), 0.0, 1.0 / fs)

        # 2b. residual carrier → carrier phase; carrier start from the carrier-line power step
        z = _centred_moving_average(y, round(CARRIER_SMOOTHING_S * fs))
        u = np.empty_like(y)
        if not kernels.rotate_by_reference(y, z, u):
            u = rotate(y, np.unwrap(np.angle(z)))
        carrier_start = self._carrier_start(z, (window.coarse_start_s - window.time_of_first) * fs)

        # 3. sync search around carrier start + 160 ms
        expected = carrier_start + fmt.carrier_s * fs
        half = SYNC_SEARCH_HALF_WIDTH_S * fs
        lo = max(0, int(expected - half))
        hi = min(n - len(self._sync_chips) * SAMPLES_PER_CHIP, int(expected + half))
        if hi <= lo:
            raise DemodulationRejected("sync search range falls outside the window")
        template = np.repeat(self._sync_chips, SAMPLES_PER_CHIP).astype(np.float32)
        s = u.imag.astype(np.float32)
        segment = s[lo:hi + len(template)]
        corr = correlate_valid(segment, template)
        if self.forced_polarity is not None:
            metric = corr * self.forced_polarity
        else:
            metric = np.abs(corr)
        k = int(np.argmax(metric))
        if 0 < k < len(metric) - 1:
            a, b, c = metric[k - 1], metric[k], metric[k + 1]
            denom = a - 2 * b + c
            frac = 0.5 * (a - c) / denom if denom < 0 else 0.0
        else:
            frac = 0.0
        start = lo + k + frac
        polarity = 1 if corr[k] >= 0 else -1
        if self.forced_polarity is not None:
            polarity = self.forced_polarity

        # 4.+5. bits with a per-bit carrier-phase reference, first from the residual carrier,
        #       then twice decision-directed from the wiped-off signal (full power)
        n_max_bits = fmt.max_bits
        y_cum = _cumulative(y)
        reference_cum = y_cum
        half_window = 0.5 * CARRIER_SMOOTHING_S * fs
        start, polarity = self._resolve_chip_ambiguity(y_cum, half_window, start, polarity)
        start, soft = self._refine_timing(y_cum, reference_cum, half_window, start, n_max_bits, polarity)
        beta = spec.A2_PHASE_DEVIATION_RAD
        for _ in range(2):
            n_bits_now, _, _ = self._frame_length(soft)
            bits = (soft[:n_bits_now] > 0).astype(np.int8)
            track = _modulation_phase_track(biphase_chips(bits) * polarity, start, spc, n)
            beta = self._estimate_beta(u, track)
            reference_cum = _wiped_cumulative(y, track, beta)
            half_window = 0.5 * WIPED_SMOOTHING_S * fs
            start, soft = self._refine_timing(y_cum, reference_cum, half_window, start, n_max_bits,
                                              polarity)

        # 6. measurement: carrier phase polynomial fitted to the wiped-off burst
        n_bits_now, _, _ = self._frame_length(soft)
        track = _modulation_phase_track(biphase_chips((soft[:n_bits_now] > 0).astype(np.int8)) * polarity,
                                        start, spc, n)
        beta = self._estimate_beta(u, track)
        carrier_start = start - fmt.carrier_s * fs
        end = start + 2 * n_bits_now * spc
        coeffs, amplitude = self._fit_carrier_phase(y, track, beta, carrier_start, end)
        f_rel, drift = coeffs[1] / (2 * math.pi), coeffs[0] / math.pi
        n0 = self._noise_density(y, carrier_start, end)

        # 7. final decisions on the signal with the fitted carrier removed: the reference only
        #    has to follow what the polynomial missed. Its length trades phase noise against
        #    following fast oscillator moves (a real transmitter slews ~30 Hz in its last bits):
        #    aim for ~0.1 rad of noise, σ² = 1 / (2·C/N0·T). Iterate until the decisions (whose
        #    wipe-off feeds the reference) stop changing.
        y_fit = _rotate_polynomial(y, coeffs, -carrier_start / fs, 1.0 / fs)
        y_fit_cum = _cumulative(y_fit)
        cn0_linear = amplitude ** 2 / n0 if n0 > 0 and math.isfinite(n0) else 0.0
        reference_s = (float(np.clip(50.0 / cn0_linear, MIN_REFERENCE_BITS / fmt.bit_rate, FINAL_REFERENCE_S))
                       if cn0_linear > 0 else FINAL_REFERENCE_S)
        previous = None
        for _ in range(4):
            soft = self._bit_statistics(y_fit_cum, _wiped_cumulative(y_fit, track, beta),
                                        0.5 * reference_s * fs, start, n_max_bits, polarity)
            n_bits_now, _, _ = self._frame_length(soft)
            decisions = (soft[:n_bits_now] > 0).astype(np.int8)
            if previous is not None and np.array_equal(decisions, previous):
                break
            previous = decisions
            track = _modulation_phase_track(biphase_chips(decisions) * polarity, start, spc, n)

        n_bits_total, n_blocks, length_info = self._frame_length(soft)
        hard = (soft > 0).astype(np.int8)
        sync_errors = int(np.sum(hard[: fmt.sync_bits_count] != self._sync_bits))
        if sync_errors > self.max_sync_bit_errors:
            raise DemodulationRejected(f"sync word has {sync_errors} bit errors")
        header = fmt.header_bits
        message = hard[header:n_bits_total].astype(np.uint8)
        self._check_signal_to_the_end(y_fit, hard[:n_bits_total], polarity, beta, start,
                                      carrier_start)
        sync_soft = soft[: fmt.sync_bits_count] * (2.0 * self._sync_bits - 1)
        sync_metric = float(np.mean(sync_soft) / (np.sqrt(np.mean(soft[:n_bits_total] ** 2)) + 1e-30))

        # a position p in running-sum coordinates is the boundary before sample p, i.e. half a
        # sample before that sample's time
        to_stream = lambda idx: window.time_of_first + (idx - 0.5) / fs  # noqa: E731
        cn0 = 10 * math.log10(max(amplitude**2, 1e-300) / max(n0, 1e-300))
        # a carrier this weak cannot carry a decodable burst (the theoretical PER at 3 dB is
        # ~100 %): a sync match on it is chance, not a burst
        ebn0_db = cn0 - 10 * math.log10(fmt.bit_rate)
        if math.isfinite(n0) and ebn0_db < MIN_EBN0_DB:
            raise DemodulationRejected(f"too weak for a burst (Eb/N0 {ebn0_db:.1f} dB)")
        track_at_start = track_f0 + track_drift * carrier_start / fs
        return A2Demodulated(
            carrier_start_s=to_stream(carrier_start),
            modulation_start_s=to_stream(start),
            offset_hz=window.baseband_offset_hz + window.coarse_carrier_hz + track_at_start + f_rel,
            drift_hz_s=track_drift + drift,
            amplitude=amplitude,
            noise_density=n0,
            cn0_dbhz=cn0,
            beta_rad=beta,
            polarity=polarity,
            sync_bit_errors=sync_errors,
            n_blocks=n_blocks,
            message_bits=message,
            soft_bits=soft[:n_bits_total].astype(np.float32),
            sync_metric=sync_metric,
            format=fmt.name,
            bit_rate=fmt.bit_rate,
            header_bits=fmt.header_bits,
            **length_info,
        )

    # -- stages ------------------------------------------------------------------------------

    def _check_signal_to_the_end(self, y_fit, bits, polarity, beta, start, carrier_start):
        """Reject a burst whose signal is gone before the end its length field announces.

        A2 has no message check: a transmitter that announces more blocks than it sends, or a
        burst cut by a retune or a fade, would otherwise come out as a message ending in noise
        bits. With the modulation wiped off, the signal is a carrier of constant amplitude; each
        ``SIGNAL_CHECK_BITS`` stretch must keep at least ``SIGNAL_CHECK_FRACTION`` of the pure
        carrier's amplitude. Amplitudes are averaged over short coherent pieces so a real
        oscillator slewing at the end of a burst (tens of Hz) does not count as a loss.
        """
        spb = 2 * SAMPLES_PER_CHIP
        n = len(y_fit)
        track = _modulation_phase_track(biphase_chips(bits) * polarity, start, float(SAMPLES_PER_CHIP), n)
        wiped = rotate_by_levels(y_fit, track, beta)
        piece = SIGNAL_CHECK_PIECE_BITS * spb

        def level(a, b):
            a, b = int(max(0, a)), int(min(n, b))
            k = (b - a) // piece
            if k < 1:
                return None
            parts = wiped[a:a + k * piece].reshape(k, piece)
            return float(np.mean(np.abs(parts.mean(axis=1))))

        reference = level(carrier_start + 0.1 * (start - carrier_start), start)
        if not reference:
            return
        stretch = SIGNAL_CHECK_BITS * spb
        for a in np.arange(start, start + len(bits) * spb - stretch + 1, stretch):
            present = level(a, a + stretch)
            if present is not None and present < SIGNAL_CHECK_FRACTION * reference:
                bit = int((a - start) // spb)
                raise DemodulationRejected(
                    f"signal lost before the announced end (from bit {bit} of {len(bits)}: "
                    f"{present / reference:.0%} of the carrier level)")

    def _resolve_chip_ambiguity(self, y_cum, half_window, start, polarity):
        """Pick between the correlation peak and its neighbours one chip away.

        Fifteen 1 bits shifted by one chip look like fifteen 0 bits, so the chip correlation has
        a near-twin peak one chip off with the opposite sign. Scoring each candidate on the 24
        sync *bits* (biphase statistics) tells them apart: only the right alignment also matches
        the format-sync bits.
        """
        spc = float(SAMPLES_PER_CHIP)
        signs = (2.0 * self._sync_bits - 1)
        n_sync = self.frame_format.sync_bits_count
        known = self.frame_format.min_bits
        best = (-np.inf, start, polarity)
        shifts = (-spc, 0.0, spc)
        rows = self._bit_statistics_at(y_cum, y_cum, half_window, [start + shift for shift in shifts],
                                       known)
        for shift, row in zip(shifts, rows):
            for pol in ((self.forced_polarity,) if self.forced_polarity else (1, -1)):
                soft = pol * row
                # the sync bits are known; after them the bits are not, but only the right
                # alignment has opposite chips in every bit (a one-chip slip pairs chips of
                # neighbouring bits, which are equal half the time), hence the |soft| term
                score = float(np.sum(soft[:n_sync] * signs) + np.sum(np.abs(soft[n_sync:])))
                if score > best[0]:
                    best = (score, start + shift, pol)
        return best[1], best[2]

    def _refine_timing(self, y_cum, reference_cum, half_window, start, n_bits, polarity):
        """Chip timing that maximises the energy of the biphase statistics over the sync, length
        field and the shortest message, within ±0.75 sample of ``start``."""
        known = self.frame_format.min_bits
        offsets = np.linspace(-0.75, 0.75, 7)
        energy = np.empty(len(offsets))
        rows = self._bit_statistics_at(y_cum, reference_cum, half_window, start + offsets, known)
        for i, soft in enumerate(rows):
            energy[i] = np.sum(soft * soft)
        k = int(np.argmax(energy))
        best = start + offsets[k]
        if 0 < k < len(offsets) - 1:
            a, b, c = energy[k - 1], energy[k], energy[k + 1]
            denom = a - 2 * b + c
            if denom < 0:
                best = start + offsets[k] + 0.5 * (a - c) / denom * (offsets[1] - offsets[0])
        return best, self._bit_statistics(y_cum, reference_cum, half_window, best, n_bits, polarity)

    def _carrier_track(self, y: np.ndarray) -> tuple[float, float]:
        """Offset (Hz at the window start) and drift (Hz/s) of the carrier line.

        Short-time spectra (40 ms frames, hop 20 ms) give the carrier-line peak within
        ±``CARRIER_SEARCH_HZ`` in every frame; a power-weighted straight-line fit of those peaks
        over the frames where the line stands clear of the noise is the track. Biphase-L puts no
        energy at the carrier, so the line is the residual carrier alone (cos²β of the power).
        """
        fs = self.work_rate
        frame = int(0.04 * fs)
        hop, nfft = frame // 2, 8 * frame
        n_frames = (len(y) - frame) // hop + 1
        grid = self._carrier_grid.get(frame)
        if grid is None:
            freqs = np.fft.fftfreq(nfft, 1 / fs)
            search = np.abs(freqs) <= CARRIER_SEARCH_HZ
            grid = self._carrier_grid[frame] = (
                np.hanning(frame).astype(np.float32),
                np.nonzero(search)[0],
                freqs[search],
                # the floor from the band the work filter keeps (outside it the spectrum is ~0)
                np.nonzero(np.abs(freqs) < 0.9 * WORK_BAND_HZ)[0],
            )
        taper, band_bins, band_freqs, floor_bins = grid
        # zero-padded frames transformed in place (what scipy does with a padded copy)
        spectra = _spectra_buffer(n_frames, nfft)
        kernels.windowed_frames(np.ascontiguousarray(y, dtype=np.complex64), taper, hop, spectra)
        spectra = scipy.fft.fft(spectra, axis=1, workers=1, overwrite_x=True)
        peak = np.empty(n_frames, dtype=np.int64)
        peak_power, a, c, floor = (np.empty(n_frames, dtype=np.float32) for _ in range(4))
        kernels.carrier_line_peaks(spectra, band_bins, floor_bins, peak, peak_power, a, c, floor)
        snr = peak_power / (floor / math.log(2.0))
        centres = (hop * np.arange(n_frames) + frame / 2) / fs
        peak_f = band_freqs[peak]
        # parabolic refinement of each peak on the zero-padded grid
        inner = (peak > 0) & (peak < len(band_bins) - 1)
        b = peak_power
        denom = a - 2 * b + c
        delta = np.where(inner & (denom < 0), 0.5 * (a - c) / np.where(denom < 0, denom, -1), 0.0)
        peak_f += delta * (fs / nfft)
        use = snr > CARRIER_TRACK_MIN_SNR
        if np.count_nonzero(use) < 2:
            best = int(np.argmax(snr))
            return float(peak_f[best]), 0.0
        weights = snr[use]
        coeffs = _polyfit(centres[use], peak_f[use], 1, w=np.sqrt(weights))
        # one pass of outlier rejection: frames far off the line are noise peaks
        resid = np.abs(peak_f - np.polyval(coeffs, centres))
        keep = use & (resid < 25.0)
        if np.count_nonzero(keep) >= 2 and np.ptp(centres[keep]) > 0.05:
            coeffs = _polyfit(centres[keep], peak_f[keep], 1, w=np.sqrt(snr[keep]))
        else:
            coeffs = np.array([0.0, np.median(peak_f[use])])
        drift = float(np.clip(coeffs[0], -2 * spec.MAX_DRIFT_HZ_S, 2 * spec.MAX_DRIFT_HZ_S))
        return float(coeffs[1]), drift

    def _carrier_start(self, z: np.ndarray, coarse: float) -> float:
        """Sample index where the carrier line's power steps up (half-way crossing of the
        160 ms plateau), searched around the detector's coarse start."""
        p = np.abs(z) ** 2
        n = len(p)
        plateau = float(np.max(p))
        noise = float(np.median(p[: max(8, int(coarse) - 64)])) if coarse > 200 else float(np.min(p))
        # the part before the coarse start may hold the carrier itself (the carrier can start up
        # to a frame before the frame that found it, and the window may begin just before it
        # when an earlier neighbour's tail was cut off): a "noise" level above the residual
        # carrier of the data (cos²β of the plateau) would put the crossing inside the carrier
        noise = min(noise, math.cos(spec.A2_PHASE_DEVIATION_RAD) ** 2 * plateau)
        level = 0.5 * (plateau + noise)
        above = np.nonzero(p > level)[0]
        if len(above) == 0:
            return coarse
        first = int(above[0])
        # the centred average spreads the edge over its length: the half-power (of amplitude
        # squared) crossing of a linear amplitude ramp sits 0.21 of the length after the edge
        return max(0.0, min(float(n - 1), first - 0.207 * CARRIER_SMOOTHING_S * self.work_rate))

    def _frame_length(self, soft: np.ndarray):
        """Over-air bit count, blocks and length-field checks (maximum likelihood among the
        format's valid codes)."""
        return self.frame_format.frame_length(soft)

    @staticmethod
    def _estimate_beta(u: np.ndarray, track: np.ndarray) -> float:
        """β from E[Im·m] / E[Re] over the modulated part (Im = A sin β·m, Re = A cos β)."""
        on = track != 0
        if not np.any(on):
            return spec.A2_PHASE_DEVIATION_RAD
        im = float(np.mean(u.imag[on] * track[on]))
        re = float(np.mean(u.real[on]))
        return float(np.clip(math.atan2(im, re), 0.3, 1.5))

    def _fit_carrier_phase(self, y, track, beta, carrier_start, end):
        """Least-squares quadratic carrier phase (rad, in seconds from ``carrier_start``) over
        the burst after wiping the modulation off, and the carrier amplitude under it."""
        fs = self.work_rate
        n = len(y)
        a = int(max(0, math.ceil(carrier_start)))
        b = int(min(n, math.floor(end)))
        wiped = rotate_by_levels(y, track, beta)
        guard = int(0.003 * fs)
        seg = slice(a + guard, b - guard)
        t = (np.arange(n, dtype=np.float64) - carrier_start) / fs
        t0, dt = -carrier_start / fs, 1.0 / fs
        # first fit: 20 ms averages unwrap without cycle slips even near the sensitivity limit
        smooth = _centred_moving_average(wiped, round(0.020 * fs))
        coeffs = _polyfit(t[seg], np.unwrap(np.angle(smooth[seg])), 2)
        # second fit on what the first left: small residual phase, no unwrapping needed
        residual = _rotate_polynomial(wiped, coeffs, t0, dt)
        smooth = _centred_moving_average(residual, round(0.004 * fs))
        coeffs = coeffs + _polyfit(t[seg], np.angle(smooth[seg]), 2)
        if b > a:
            c2, c1, c0 = (float(c) for c in coeffs)
            total = kernels.rotated_sum_quadratic(wiped[a:b], c2, c1, c0, t0 + a * dt, dt)
            amplitude = abs(total) / (b - a)
        else:
            amplitude = float("nan")  # the mean of nothing, as numpy gives it
        return coeffs, amplitude

    def _noise_density(self, y, carrier_start, end):
        """N0 from the noise-only parts of the window (before the carrier, after the burst),
        measured within ±2 kHz where the resampling filter is flat."""
        fs = self.work_rate
        a, b = int(max(0, carrier_start)), int(min(len(y), end))
        guard = int(0.02 * fs)
        pieces = [y[: max(0, a - guard)], y[min(len(y), b + guard):]]
        pieces = [p for p in pieces if len(p) >= 256]
        if not pieces:
            return float("nan")
        total, count = 0.0, 0
        for p in pieces:
            f, pxx = welch_density(p, fs, 256)
            band = np.abs(f) < 2000.0
            total += float(np.sum(pxx[band])) * len(p)
            count += int(np.sum(band)) * len(p)
        return total / count


class VLDDemodulator(A2Demodulator):
    """A4 VLD: the same residual-carrier biphase-L demodulation at 200 bit/s (400 chips/s),
    sync 0xAC5353, 2-bit length (research notes §2.3)."""

    frame_format = VLD_FRAME
