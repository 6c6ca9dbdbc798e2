"""PTT-A3 / PTT-ZE burst demodulator (coherent, non-causal, over one burst window).

The waveform model is the UNCONFIRMED one of :mod:`argosneo.synth.a3` (82 ms carrier, then QPSK
at 400 symbols/s with I NRZ and Q Manchester); the coding chain is the verified one of
:mod:`argosneo.coding.a3`. Steps:

1. mix the detector's coarse carrier to 0 Hz, resample to ``SAMPLES_PER_SYMBOL`` per symbol;
2. carrier frequency and phase from the pure-carrier preamble (zero-padded FFT peak, then the
   phase of the derotated carrier);
3. symbol timing from the 30-bit sync: the Q half of the sync is Manchester-coded, so the
   magnitude of a complex correlation with its chips gives the timing whatever the residual
   phase (I carries no timing: it is all ones, like the carrier), and the phase of the sync's
   I half against that correlation gives the sign of Q (a conjugated capture flips it);
4. per-symbol matched filters: I = integral over the symbol, Q = first half − second half (the
   Manchester Q cancels in the I integral and the constant I cancels in the Q difference);
5. carrier phase: a quadratic phase model fitted to the decision-directed, wiped-off symbols,
   over a window grown step by step from the carrier to the burst end (each step predicts the
   next well enough that drift up to the spec's ±200 Hz/s is followed), with a short centred
   smoother for what the quadratic misses;
6. Viterbi decoding of every length hypothesis (ZE, A3 N = 1…8) and choice by likelihood ratio;
7. the chosen datagram is re-encoded and wiped off with no decision errors: the symbol timing is
   refined on the whole burst, the carrier is fitted again for the measurement (frequency at the
   carrier start, drift) and the burst is decoded again (twice).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from argosneo import spec
from argosneo import spec_a3 as s3
from argosneo.coding.a3 import (
    FORMATS,
    A3Decoded,
    conv_encode,
    datagram_length,
    decode_a3_symbols,
    permute_iq,
    sync_iq,
)
from argosneo.demodulate.a2 import (
    BurstWindow,
    DemodulationRejected,
    _cumulative,
    _resample_ratio,
    sample_cumulative,
)
from argosneo.dsp.convolve import correlate_valid
from argosneo.dsp.resample import resample_poly

__all__ = ["A3Demodulated", "A3Demodulator", "demodulate_a3", "BurstWindow", "DemodulationRejected"]

#: Working rate in samples per QPSK symbol (32 → 12 800 S/s, 16 samples per Q chip).
SAMPLES_PER_SYMBOL = 32
#: Half-width of the carrier search around the detector's coarse frequency (Hz).
CARRIER_SEARCH_HZ = 350.0
#: Part of the nominal preamble used for the first frequency estimate, relative to the coarse
#: carrier start (s): clear of a ±10 ms start error and of the ±2 ms preamble tolerance.
CARRIER_FFT_SPAN_S = (0.010, 0.072)
#: How far from coarse start + 82 ms the sync may be (s).
SYNC_SEARCH_HALF_WIDTH_S = 0.020
#: Largest number of hard sync-bit errors (of 30) accepted: at the coded-bit SNR of Eb/N0 = 3 dB
#: (≈8 % errors) a real sync has more than 8 errors with probability < 1e-3.
MAX_SYNC_BIT_ERRORS = 8
#: Carrier blocks (one symbol long) before the sync that enter the phase fit: 80 of the 82 ms.
CARRIER_BLOCKS = 32
#: Half-length (symbols) of the centred smoother on the wiped-off symbols for the residual phase.
PHASE_SMOOTHING_SYMBOLS = 6
#: Data-symbol counts at which the progressive phase fit stops and refits.
FIT_STEPS = (0, 9, 18, 36, 72, 144, 300)

_SYNC_I, _SYNC_Q = sync_iq()
_N_SYNC = _SYNC_I.size
_MAX_DATA = max(datagram_length(f, n) for f, n in FORMATS)


@dataclass
class A3Demodulated:
    """One demodulated and decoded A3/ZE burst (frequencies relative to the capture centre)."""

    format: str                     #: "A3" or "ZE"
    n_blocks: int                   #: N (0 for ZE)
    platform_id: int                #: 28-bit ID
    data_bits: np.ndarray           #: user data (24 + 32(N − 1) bits; empty for ZE)
    datagram: np.ndarray            #: all decoded information bits (length, ID, data, tail)
    length_code: int | None         #: decoded A3 length code (None for ZE)
    length_code_ok: bool
    tail_ok: bool                   #: the decoded tail is all zeros
    path_metric: float              #: Viterbi path metric of the chosen hypothesis
    score: float                    #: log-likelihood ratio that chose it
    code_bit_errors: int            #: hard code-bit decisions the Viterbi decoder corrected
    sync_bit_errors: int
    carrier_start_s: float          #: stream time of the carrier onset (sync − nominal 82 ms)
    modulation_start_s: float       #: stream time of the first sync symbol
    end_s: float                    #: stream time just after the last symbol
    offset_hz: float                #: carrier frequency at ``carrier_start_s``
    drift_hz_s: float
    ebn0_db: float                  #: Eb/N0 estimated from the final soft symbols
    q_polarity: int                 #: +1 if Q came out as modelled, −1 if inverted
    soft_i: np.ndarray = field(repr=False, default=None)
    soft_q: np.ndarray = field(repr=False, default=None)
    candidates: list = field(repr=False, default_factory=list)

    @property
    def data_hex(self) -> str:
        """User data as hex (``""`` for ZE)."""
        if self.data_bits.size == 0:
            return ""
        v = int("".join(str(int(b)) for b in self.data_bits), 2)
        return f"0x{v:0{math.ceil(self.data_bits.size / 4)}X}"


def _smooth(x: np.ndarray, half: int) -> np.ndarray:
    kernel = np.ones(2 * half + 1)
    return np.convolve(x, kernel, mode="same")


class A3Demodulator:
    """Demodulates one A3/ZE burst window at a time; stateless between bursts.

    Parameters
    ----------
    max_sync_bit_errors : int
        Reject the window when the sync's hard decisions have more errors.
    formats : sequence of (str, int)
        Length hypotheses to try (default: ZE and A3 N = 1…8).
    """

    def __init__(self, *, max_sync_bit_errors: int = MAX_SYNC_BIT_ERRORS, formats=FORMATS):
        self.max_sync_bit_errors = int(max_sync_bit_errors)
        self.formats = tuple(formats)
        self.work_rate = s3.A3_SYMBOL_RATE * SAMPLES_PER_SYMBOL
        self._resamplers: dict[float, tuple[int, int]] = {}

    # -- helpers -----------------------------------------------------------------------------

    def _to_work_rate(self, window: BurstWindow) -> np.ndarray:
        x = np.asarray(window.samples)
        t = np.arange(x.size) / window.sample_rate
        mixed = x * np.exp(-2j * np.pi * window.coarse_carrier_hz * t)
        ratio = self._resamplers.get(window.sample_rate)
        if ratio is None:
            try:
                ratio = _resample_ratio(window.sample_rate, self.work_rate)
            except ValueError as exc:
                raise DemodulationRejected(str(exc)) from None
            self._resamplers[window.sample_rate] = ratio
        up, down = ratio
        if up != down:
            mixed = resample_poly(mixed, up, down)
        return mixed.astype(np.complex128)

    def _carrier_estimate(self, y: np.ndarray, c0: float) -> tuple[float, float]:
        """Frequency (Hz) and phase (rad, at sample 0) of the preamble carrier."""
        fs = self.work_rate
        a = int(max(0, c0 + CARRIER_FFT_SPAN_S[0] * fs))
        b = int(min(y.size, c0 + CARRIER_FFT_SPAN_S[1] * fs))
        if b - a < 64:
            raise DemodulationRejected("window does not hold the A3 carrier preamble")
        seg = y[a:b]
        nfft = 1 << int(math.ceil(math.log2(16 * seg.size)))
        power = np.abs(np.fft.fft(seg * np.hanning(seg.size), nfft)) ** 2
        freqs = np.fft.fftfreq(nfft, 1 / fs)
        band = np.nonzero(np.abs(freqs) <= CARRIER_SEARCH_HZ)[0]
        k = band[int(np.argmax(power[band]))]
        f = freqs[k]
        p_a, p_b, p_c = power[k - 1], power[k], power[(k + 1) % nfft]
        denom = p_a - 2 * p_b + p_c
        if denom < 0:
            f += 0.5 * (p_a - p_c) / denom * fs / nfft
        n = np.arange(a, b)
        phase = float(np.angle(np.sum(seg * np.exp(-2j * np.pi * f * n / fs))))
        return float(f), phase

    def _derotate(self, y: np.ndarray, coeffs: np.ndarray, origin: float) -> np.ndarray:
        t = (np.arange(y.size) - origin) / self.work_rate
        return y * np.exp(-1j * np.polyval(coeffs, t))

    @staticmethod
    def _integrals(cum: np.ndarray, start: float, k_lo: int, k_hi: int):
        """Per-symbol I integral and Q (first half − second half) for symbols k_lo..k_hi−1."""
        sps = float(SAMPLES_PER_SYMBOL)
        edges = sample_cumulative(cum, start + sps * np.arange(k_lo, k_hi + 1))
        mids = sample_cumulative(cum, start + sps * (np.arange(k_lo, k_hi) + 0.5))
        r_i = np.diff(edges)
        r_q = (mids - edges[:-1]) - (edges[1:] - mids)
        return r_i, r_q

    # -- main entry --------------------------------------------------------------------------

    def demodulate(self, window: BurstWindow) -> A3Demodulated:
        """Demodulate and decode the A3/ZE burst in ``window``.

        Raises
        ------
        DemodulationRejected
            If the window cannot hold a burst, or the sync is not found.
        """
        fs = self.work_rate
        sps = SAMPLES_PER_SYMBOL
        y = self._to_work_rate(window)
        n = y.size
        c0 = (window.coarse_start_s - window.time_of_first) * fs
        if n < int((s3.A3_CARRIER_DURATION_S + (_N_SYNC + s3.ZE_INFO_BITS) / s3.A3_SYMBOL_RATE) * fs * 0.9):
            raise DemodulationRejected("window shorter than the shortest A3/ZE burst")

        # 2. carrier
        f0, ph0 = self._carrier_estimate(y, c0)
        coeffs = np.array([0.0, 2 * math.pi * f0, ph0])   # phase(t), t in s from work sample 0
        origin = 0.0

        # 3. sync timing and Q sign
        u = self._derotate(y, coeffs, origin)
        q_chips = (2.0 * _SYNC_Q - 1.0) * s3.A3_Q_ONE_FIRST_CHIP
        template = np.repeat(np.stack([q_chips, -q_chips], axis=1).reshape(-1), sps // 2)
        expected = c0 + s3.A3_CARRIER_DURATION_S * fs
        half = SYNC_SEARCH_HALF_WIDTH_S * fs
        lo = max(0, int(expected - half))
        hi = min(n - template.size, int(expected + half))
        if hi <= lo:
            raise DemodulationRejected("sync search range falls outside the window")
        # complex correlation: the carrier phase may already be off by a radian or more when the
        # frequency drifts, and |·| does not care; the Q sign then comes from the phase of the
        # sync's I half (all ones, constant over the sync, orthogonal to the Manchester template)
        seg = u[lo:hi + template.size]
        corr = correlate_valid(seg, template.astype(np.complex128))
        metric = np.abs(corr)
        k = int(np.argmax(metric))
        frac = 0.0
        if 0 < k < metric.size - 1:
            a, b, c = metric[k - 1], metric[k], metric[k + 1]
            denom = a - 2 * b + c
            frac = 0.5 * (a - c) / denom if denom < 0 else 0.0
        # a running-sum position p is the boundary before sample p: the first sync sample is p
        start = lo + k + frac
        i_ref = np.sum(seg[k:k + template.size]) * s3.A3_I_ONE_LEVEL
        q_sign = 1 if (corr[k] * np.conj(i_ref)).imag >= 0 else -1
        qs = q_sign * s3.A3_Q_ONE_FIRST_CHIP
        origin = start - s3.A3_CARRIER_DURATION_S * fs      # nominal carrier onset
        # re-express the carrier model with t measured from the carrier onset
        coeffs = np.array([0.0, 2 * math.pi * f0, ph0 + 2 * math.pi * f0 * origin / fs])

        n_avail = int(min(_MAX_DATA, math.floor((n - start) / sps) - _N_SYNC))
        if n_avail < s3.ZE_INFO_BITS:
            raise DemodulationRejected("window ends before the shortest A3/ZE burst could")
        k_first = -min(CARRIER_BLOCKS, int(math.floor(start / sps)))
        sync_dec = (2.0 * _SYNC_I - 1.0) * s3.A3_I_ONE_LEVEL, (2.0 * _SYNC_Q - 1.0)

        def soft_values(coeffs, k_hi):
            cum = _cumulative(self._derotate(y, coeffs, origin))
            r_i, r_q = self._integrals(cum, start, k_first, k_hi)
            return r_i, r_q

        def wiped(r_i, r_q, d_i, d_q):
            """Wipe decisions (±1 per symbol, carrier blocks first) off the integrals."""
            return r_i * d_i + (-1j * qs) * r_q * d_q

        def fit(coeffs, k_hi, decisions=None):
            """Refit the quadratic carrier phase on carrier + symbols below k_hi."""
            r_i, r_q = soft_values(coeffs, k_hi)
            n_c = -k_first
            if decisions is None:
                si = r_i.real * s3.A3_I_ONE_LEVEL
                sq = (r_q * qs).imag
                d_i = np.where(si >= 0, 1.0, -1.0)
                d_q = np.where(sq >= 0, 1.0, -1.0)
                d_i[n_c:n_c + _N_SYNC] = sync_dec[0]
                d_q[n_c:n_c + _N_SYNC] = sync_dec[1]
            else:
                d_i, d_q = decisions
                d_i, d_q = d_i[:r_i.size], d_q[:r_i.size]
            d_i = d_i.copy()
            d_q = d_q.copy()
            # carrier blocks: d_I = carrier level, no Q
            d_i[:n_c] = 1.0
            d_q[:n_c] = 0.0
            z = wiped(r_i, r_q, d_i * s3.A3_I_ONE_LEVEL, d_q)
            zs = _smooth(z, PHASE_SMOOTHING_SYMBOLS)
            psi = np.unwrap(np.angle(zs))
            kk = np.arange(k_first, k_hi)
            t = (start + sps * (kk + 0.5) - origin) / fs
            w = np.abs(zs)
            if t[-1] - t[0] > 0.08:
                delta = np.polyfit(t, psi, 2, w=w)
            else:
                delta = np.concatenate([[0.0], np.polyfit(t, psi, 1, w=w)])
            new = coeffs + delta
            new[0] = float(np.clip(new[0], -2 * math.pi * spec.MAX_DRIFT_HZ_S, 2 * math.pi * spec.MAX_DRIFT_HZ_S))
            return new

        # 5. progressive decision-directed carrier fit, stopping at the energy-estimated end
        end_sym = self._burst_end(soft_values(coeffs, _N_SYNC + n_avail), k_first, n_avail)
        for step in FIT_STEPS:
            k_hi = _N_SYNC + min(step, end_sym)
            coeffs = fit(coeffs, k_hi)
            if step >= end_sym:
                break
        coeffs = fit(coeffs, _N_SYNC + end_sym)

        # 6. decode every hypothesis
        def decode(coeffs, decisions=None):
            r_i, r_q = soft_values(coeffs, _N_SYNC + n_avail)
            # residual phase from the smoothed wiped-off symbols (sync known, data decided)
            n_c = -k_first
            si = r_i.real * s3.A3_I_ONE_LEVEL
            sq = (r_q * qs).imag
            if decisions is None:
                d_i = np.where(si >= 0, 1.0, -1.0)
                d_q = np.where(sq >= 0, 1.0, -1.0)
                d_i[n_c:n_c + _N_SYNC] = sync_dec[0]
                d_q[n_c:n_c + _N_SYNC] = sync_dec[1]
                d_i[:n_c], d_q[:n_c] = 1.0, 0.0
            else:
                d_i, d_q = decisions
            z = wiped(r_i, r_q, d_i * s3.A3_I_ONE_LEVEL, d_q)
            rot = np.exp(-1j * np.angle(_smooth(z, PHASE_SMOOTHING_SYMBOLS)))
            si = (r_i * rot).real * s3.A3_I_ONE_LEVEL
            sq = (r_q * rot * qs).imag
            return si[n_c:], sq[n_c:]

        si, sq = decode(coeffs)
        sync_errors = int(np.sum((si[:_N_SYNC] > 0) != (_SYNC_I > 0)) + np.sum((sq[:_N_SYNC] > 0) != (_SYNC_Q > 0)))
        if sync_errors > self.max_sync_bit_errors:
            raise DemodulationRejected(f"A3 sync has {sync_errors} bit errors")
        dec = decode_a3_symbols(si[_N_SYNC:], sq[_N_SYNC:], formats=self.formats)

        # 7. wipe the re-encoded burst off with no decision errors; refine the symbol timing on
        #    the whole burst (the sync alone is 15 symbols), refit the carrier and decode again
        for _ in range(2):
            decisions = self._decisions(dec, k_first, n_avail)
            n_c = -k_first
            d_i = decisions[0][n_c:] * s3.A3_I_ONE_LEVEL
            d_q = decisions[1][n_c:]
            offsets = np.linspace(-1.0, 1.0, 9)
            score = np.empty(offsets.size)
            base = start
            for j, off in enumerate(offsets):
                start = base + off
                si, sq = decode(coeffs, decisions)
                score[j] = float(np.sum(si * d_i) + np.sum(sq * d_q))
            j = int(np.argmax(score))
            start = base + offsets[j]
            if 0 < j < offsets.size - 1:
                a, b, c = score[j - 1], score[j], score[j + 1]
                denom = a - 2 * b + c
                if denom < 0:
                    start += 0.5 * (a - c) / denom * (offsets[1] - offsets[0])
            k_end = _N_SYNC + dec.n_symbols
            coeffs = fit(coeffs, k_end, decisions=(decisions[0][: k_end - k_first], decisions[1][: k_end - k_first]))
            si, sq = decode(coeffs, decisions)
            dec = decode_a3_symbols(si[_N_SYNC:], sq[_N_SYNC:], formats=self.formats)

        sync_errors = int(np.sum((si[:_N_SYNC] > 0) != (_SYNC_I > 0)) + np.sum((sq[:_N_SYNC] > 0) != (_SYNC_Q > 0)))
        used = np.concatenate([si[: _N_SYNC + dec.n_symbols], sq[: _N_SYNC + dec.n_symbols]])
        m2, m4 = float(np.mean(used ** 2)), float(np.mean(used ** 4))
        a2 = math.sqrt(max(1.5 * m2 * m2 - 0.5 * m4, 0.0))
        noise = max(m2 - a2, 1e-12 * max(a2, 1e-300))
        ebn0 = 10 * math.log10(a2 / noise) if a2 > 0 else float("-inf")

        to_stream = lambda p: window.time_of_first + (p - 0.5) / fs  # noqa: E731
        carrier_start = start - s3.A3_CARRIER_DURATION_S * fs
        t_cs = (carrier_start - origin) / fs
        f_rel = (2 * coeffs[0] * t_cs + coeffs[1]) / (2 * math.pi)
        return A3Demodulated(
            format=dec.format, n_blocks=dec.n_blocks, platform_id=dec.platform_id,
            data_bits=dec.data_bits, datagram=dec.datagram, length_code=dec.length_code,
            length_code_ok=dec.length_code_ok, tail_ok=dec.tail_ok, path_metric=dec.path_metric,
            score=dec.score, code_bit_errors=dec.code_bit_errors, sync_bit_errors=sync_errors,
            carrier_start_s=to_stream(carrier_start), modulation_start_s=to_stream(start),
            end_s=to_stream(start + sps * (_N_SYNC + dec.n_symbols)),
            offset_hz=window.baseband_offset_hz + window.coarse_carrier_hz + f_rel,
            drift_hz_s=coeffs[0] / math.pi, ebn0_db=ebn0, q_polarity=q_sign,
            soft_i=si[: _N_SYNC + dec.n_symbols].astype(np.float32),
            soft_q=sq[: _N_SYNC + dec.n_symbols].astype(np.float32),
            candidates=dec.candidates,
        )

    # -- stages ------------------------------------------------------------------------------

    @staticmethod
    def _decisions(dec: A3Decoded, k_first: int, n_avail: int):
        """±1 decisions per block (carrier, sync, re-encoded burst; zeros after it)."""
        code = conv_encode(dec.datagram)
        x, y = permute_iq(code[0::2], code[1::2])
        n_c = -k_first
        total = n_c + _N_SYNC + n_avail
        d_i = np.zeros(total)
        d_q = np.zeros(total)
        d_i[:n_c] = 1.0
        d_i[n_c:n_c + _N_SYNC] = 2.0 * _SYNC_I - 1.0
        d_q[n_c:n_c + _N_SYNC] = 2.0 * _SYNC_Q - 1.0
        m = dec.n_symbols
        d_i[n_c + _N_SYNC:n_c + _N_SYNC + m] = 2.0 * x - 1.0
        d_q[n_c + _N_SYNC:n_c + _N_SYNC + m] = 2.0 * y - 1.0
        return d_i, d_q

    def _burst_end(self, integrals, k_first: int, n_avail: int) -> int:
        """Data-symbol count (one of the hypothesis lengths) where the symbol energy steps down.

        The energy of the sync symbols is the signal level; the energy of the carrier blocks
        gives the same level, so the noise level comes from the split itself: for each candidate
        length the two-level (inside/outside) least-squares fit, and the best fit wins.
        """
        r_i, r_q = integrals
        e = (np.abs(r_i) ** 2 + np.abs(r_q) ** 2)[-k_first + _N_SYNC:]
        lengths = sorted({datagram_length(f, m) for f, m in self.formats if datagram_length(f, m) <= n_avail})
        if not lengths:
            return n_avail
        best, best_cost = lengths[-1], np.inf
        for L in lengths:
            inside, outside = e[:L], e[L:]
            cost = float(np.sum((inside - inside.mean()) ** 2))
            if outside.size:
                cost += float(np.sum((outside - outside.mean()) ** 2))
            if cost < best_cost:
                best, best_cost = L, cost
        return best


def demodulate_a3(window: BurstWindow, **kwargs) -> A3Demodulated:
    """Demodulate and decode one A3/ZE burst window (see :class:`A3Demodulator`)."""
    return A3Demodulator(**kwargs).demodulate(window)
