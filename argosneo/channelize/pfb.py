"""Streaming polyphase analysis channelizer (polyphase filter bank + FFT).

Definition
----------
``M`` channels (even ``M >= 2``), decimation ``D = M`` (``oversample=1``, critically sampled) or
``D = M/2`` (``oversample=2``, the receiver's default: a burst near a channel edge is still whole
in one channel). With the prototype low-pass ``h[j]``, ``j = 0 … L−1``, ``L = M·taps_per_branch``,
``sum(h) = 1``, output ``n`` of channel ``k`` is exactly (up to float32 rounding)::

    y_k[n] = Σ_j h[j] · x[n·D − j] · exp(−i·2π·k·(n·D − j)/M),      x[m] = 0 for m < 0

i.e. channel ``k`` is mixed to DC with a phase referenced to the absolute input sample index,
low-pass filtered and every ``D``-th sample is kept starting at input index 0. Channel ``k`` is
centred at ``k·fs/M`` for ``k < M/2`` and at ``(k−M)·fs/M`` otherwise (FFT order,
:func:`channel_offsets_hz`); the channel rate is ``fs/D`` (:func:`channel_rate`). The output is
phase-continuous: a tone at channel ``k``'s centre gives a constant in channel ``k``, any tone a
clean tone at ``fs/D``.

Timing: output ``n`` is computed from inputs up to index ``n·D``; a linear-phase prototype
delays the signal by ``(L−1)/2`` input samples, so the signal seen in output ``n`` left the
input at ``input_index = n·D − (L−1)/2`` (:meth:`PolyphaseChannelizer.input_index_of_output`).

Algorithm
---------
Writing ``W = exp(−i2π/M)`` and splitting ``j = p + r·M``::

    y_k[n] = W^(k·n·D) · Σ_p v_n[p] · W^(−k·p),   v_n[p] = Σ_r h[p + rM] · x[nD − p − rM]

The kernel computes the branch sums in reversed order ``u_n[q] = v_n[M−1−q]`` so that both the
input window and the (pre-reversed) taps are read forwards and the complex×real products
vectorise over the interleaved float32 view of the samples. Since
``Σ_p v[p] W^(−kp) = W^k Σ_q u[q] W^(kq)``, the per-channel phase ``W^(k(nD+1))`` is a circular
shift by ``s_n = (n·D + 1) mod M`` of ``u_n`` before a forward FFT (for ``D = M/2`` this is the
usual oversampled-PFB phase correction: ``s_n`` alternates between 1 and ``1 + M/2``). All frames
of a chunk are filtered by one Numba call and transformed by one batched ``scipy.fft.fft``
(``workers=1``), in blocks that stay in cache.

Streaming keeps the last ``L−1`` input samples, so any chunking of the input yields exactly the
same outputs as one call. Kernels are pure functions over their arguments (no global state), so
separate channelizer objects may run in separate threads.
"""

from __future__ import annotations

import numba
import numpy as np
import scipy.fft

from argosneo.channelize.prototype import default_passband_fraction, design_prototype
from argosneo.errors import ArgosneoError

#: Frames filtered and transformed per block: big enough to amortise the Python call, small
#: enough (``_BLOCK_FRAMES · M · 8`` bytes) for the block to stay in L2 between kernel and FFT.
_BLOCK_SAMPLES = 1 << 15


@numba.njit(cache=True, nogil=True, fastmath={'contract'})
def pfb_frames(xf, first_end, step, n_frames, taps_rev, first_frame, out):
    """Polyphase branch sums of ``n_frames`` consecutive output frames, phase-shifted for the FFT.

    Parameters
    ----------
    xf : float32[:]
        Input samples as the interleaved (re, im) float32 view of a complex64 array.
    first_end : int
        Index (in complex samples) within ``xf`` of input ``x[n0·D]`` of the first frame; the
        window ``first_end − L + 1 … first_end`` must lie inside the array.
    step : int
        Decimation ``D`` (input samples between frames).
    n_frames : int
        Number of frames to compute.
    taps_rev : float32[T, 2M]
        ``taps_rev[r, 2q] = taps_rev[r, 2q+1] = h[r·M + M−1−q]``.
    first_frame : int
        Absolute output index ``n0`` of the first frame (selects the phase shift).
    out : float32[n_frames, 2M]
        Receives, per frame, the interleaved complex sequence whose forward FFT is the output.

    Notes
    -----
    Each element is summed over the taps in order ``r = 0 … T−1`` (one fused multiply-add per
    tap, from 0), whatever the grouping below, so results do not depend on it bit for bit.
    Taps are taken eight at a time in one pass over the frame: the kernel is bound by L1 loads,
    and this loads and stores the accumulator once per eight taps instead of once per tap.
    """
    n_branch_taps = taps_rev.shape[0]
    m2 = taps_rev.shape[1]
    m = m2 // 2
    acc = np.empty(m2, np.float32)
    for f in range(n_frames):
        end = first_end + f * step
        for i in range(m2):
            acc[i] = 0.0
        r = 0
        while r + 8 <= n_branch_taps:
            b = 2 * (end - (r + 1) * m + 1)
            # Slices keep every index non-negative so the loop vectorises (no wrap-around gather).
            x0 = xf[b: b + m2]
            x1 = xf[b - m2: b]
            x2 = xf[b - 2 * m2: b - m2]
            x3 = xf[b - 3 * m2: b - 2 * m2]
            x4 = xf[b - 4 * m2: b - 3 * m2]
            x5 = xf[b - 5 * m2: b - 4 * m2]
            x6 = xf[b - 6 * m2: b - 5 * m2]
            x7 = xf[b - 7 * m2: b - 6 * m2]
            h0 = taps_rev[r]
            h1 = taps_rev[r + 1]
            h2 = taps_rev[r + 2]
            h3 = taps_rev[r + 3]
            h4 = taps_rev[r + 4]
            h5 = taps_rev[r + 5]
            h6 = taps_rev[r + 6]
            h7 = taps_rev[r + 7]
            for i in range(m2):
                acc[i] = (acc[i] + h0[i] * x0[i] + h1[i] * x1[i] + h2[i] * x2[i] + h3[i] * x3[i]
                          + h4[i] * x4[i] + h5[i] * x5[i] + h6[i] * x6[i] + h7[i] * x7[i])
            r += 8
        while r < n_branch_taps:
            b = 2 * (end - (r + 1) * m + 1)
            hrow = taps_rev[r]
            xw = xf[b: b + m2]
            for i in range(m2):
                acc[i] += hrow[i] * xw[i]
            r += 1
        s2 = 2 * (((first_frame + f) * step + 1) % m)
        row = out[f]
        for i in range(m2 - s2):
            row[s2 + i] = acc[i]
        for i in range(s2):
            row[i] = acc[m2 - s2 + i]


def _aligned_empty(shape, dtype, align=64):
    """Uninitialised C-contiguous array whose data starts on an ``align``-byte boundary.

    The kernel's vector loads of the taps then never straddle two cache lines (numpy only
    guarantees 16 bytes); measured ≈ 7 % on the kernel at M = 256.
    """
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    raw = np.empty(n * dtype.itemsize + align, np.uint8)
    start = (-raw.ctypes.data) % align
    return raw[start: start + n * dtype.itemsize].view(dtype).reshape(shape)


def channel_offsets_hz(num_channels: int, sample_rate: float) -> np.ndarray:
    """Centre frequency of each channel relative to the input centre (Hz), FFT order."""
    k = np.arange(num_channels)
    k = np.where(k < num_channels // 2, k, k - num_channels)
    return k * (sample_rate / num_channels)


def channel_rate(num_channels: int, sample_rate: float, oversample: int = 2) -> float:
    """Output sample rate of each channel (Hz): ``fs · oversample / M``."""
    return sample_rate * oversample / num_channels


def reference_channelize(x: np.ndarray, h: np.ndarray, num_channels: int, decimation: int) -> np.ndarray:
    """Slow direct evaluation of the definition in the module docstring (float64/complex128).

    Returns an array of shape ``(ceil(len(x)/D), M)``. For tests only: ``O(M · len(x) · L)``.
    """
    x = np.asarray(x, dtype=np.complex128)
    h = np.asarray(h, dtype=np.float64)
    m_idx = np.arange(len(x))
    n_out = -(-len(x) // decimation)
    y = np.empty((n_out, num_channels), np.complex128)
    for k in range(num_channels):
        mixed = x * np.exp(-2j * np.pi * k * (m_idx % num_channels) / num_channels)
        y[:, k] = np.convolve(mixed, h)[: len(x)][::decimation]
    return y


class PolyphaseChannelizer:
    """Streaming analysis channelizer; see the module docstring for the exact definition.

    Parameters
    ----------
    num_channels : int
        Number of channels ``M`` (even, >= 2; typically a power of two 4 … 512).
    oversample : {2, 1}, optional
        2: decimation ``M/2`` (outputs at ``2 fs/M``); 1: critically sampled (``fs/M``).
    taps_per_branch : int, optional
        Prototype length per branch when designing it (``L = M · taps_per_branch``).
    prototype : array_like, optional
        Explicit prototype taps, length a multiple of ``M`` (zero-padded at the end otherwise);
        used as given (no renormalisation). Default: :func:`design_prototype`.
    passband_hz_fraction : float, optional
        Passband edge of the designed prototype as a fraction of the channel spacing ``fs/M``
        (default 0.82 for ``oversample=2``: ±2.5 kHz signals anywhere within half a channel at
        7.8 kHz spacing; 0.35 for ``oversample=1``). Ignored when ``prototype`` is given.
    """

    def __init__(
        self,
        num_channels: int,
        *,
        oversample: int = 2,
        taps_per_branch: int = 16,
        prototype=None,
        passband_hz_fraction: float | None = None,
    ):
        if prototype is None:
            h = design_prototype(
                num_channels, taps_per_branch, oversample=oversample, passband_fraction=passband_hz_fraction
            )
        else:
            if not isinstance(num_channels, (int, np.integer)) or num_channels < 2 or num_channels % 2:
                raise ArgosneoError(f"channelizer: num_channels must be an even integer >= 2, got {num_channels!r}")
            if oversample not in (1, 2):
                raise ArgosneoError(f"channelizer: oversample must be 1 or 2, got {oversample!r}")
            h = np.asarray(prototype, dtype=np.float64)
            if h.ndim != 1 or h.size == 0 or not np.all(np.isfinite(h)):
                raise ArgosneoError("channelizer: prototype must be a non-empty 1-D array of finite taps")
        m = int(num_channels)
        self.num_channels = m
        self.oversample = int(oversample)
        self.decimation = m // self.oversample
        self.filter_length = h.size  # L before padding: the delay is that of the taps given
        self.passband_fraction = (
            None if prototype is not None
            else (default_passband_fraction(oversample) if passband_hz_fraction is None else float(passband_hz_fraction))
        )
        n_branch = -(-h.size // m)
        padded = np.zeros(n_branch * m)
        padded[: h.size] = h
        self.taps = padded  # float64, length T·M
        self.taps_per_branch = n_branch
        # taps_rev[r, q] = h[rM + M-1-q], each duplicated for the re/im lanes.
        rev = padded.reshape(n_branch, m)[:, ::-1]
        self._taps_rev = _aligned_empty((n_branch, 2 * m), np.float32)
        self._taps_rev[:] = np.repeat(rev, 2, axis=1)
        self._hist_len = n_branch * m - 1
        self.reset()

    # ------------------------------------------------------------------ state
    def reset(self) -> None:
        """Forget all input: the next sample is input index 0 again (zero history)."""
        self._tail = np.zeros(self._hist_len, np.complex64)
        self.samples_consumed = 0
        self.output_count = 0

    @property
    def group_delay(self) -> float:
        """Prototype group delay in input samples, ``(L−1)/2``."""
        return (self.filter_length - 1) / 2.0

    def input_index_of_output(self, n):
        """Input sample index (possibly fractional) whose signal appears in output ``n``.

        ``n·D − (L−1)/2``; ``n`` may be an array of absolute output indices.
        """
        if np.ndim(n):
            return np.asarray(n) * self.decimation - self.group_delay
        return n * self.decimation - self.group_delay

    def channel_offsets_hz(self, sample_rate: float) -> np.ndarray:
        """Centre frequency of each channel relative to the input centre (Hz), FFT order."""
        return channel_offsets_hz(self.num_channels, sample_rate)

    def channel_rate(self, sample_rate: float) -> float:
        """Output sample rate of each channel (Hz)."""
        return channel_rate(self.num_channels, sample_rate, self.oversample)

    # ------------------------------------------------------------------ processing
    def output_rows(self, n_in: int) -> int:
        """Number of output rows the next :meth:`process` call returns for ``n_in`` input samples.

        Use it to size a buffer for ``process(x, out=...)``; ``n_in // D + 1`` is a bound that
        holds in any state.
        """
        n_in = int(n_in)
        if n_in <= 0:
            return 0
        n_last = (self.samples_consumed + n_in - 1) // self.decimation
        return max(0, n_last - self.output_count + 1)

    def process(self, x, out=None) -> np.ndarray:
        """Channelize the next input samples.

        Parameters
        ----------
        x : array_like of complex
            Next input samples (1-D; any length including 0; converted to complex64).
        out : numpy.ndarray, optional
            complex64 C-contiguous array of shape ``(rows, M)`` with ``rows >=``
            :meth:`output_rows` ``(len(x))`` to write the result into (its first rows are
            overwritten, the rest left alone). Reusing one buffer across calls saves allocating
            and page-faulting a fresh array per chunk; the returned view is then only valid until
            the buffer is reused. Default: a new array.

        Returns
        -------
        numpy.ndarray
            complex64 array of shape ``(n_out, M)`` (``out[:n_out]`` when ``out`` is given): row
            ``i`` is absolute output ``output_count_before + i``, column ``k`` channel ``k``
            (FFT order).

        Raises
        ------
        ArgosneoError
            If ``x`` is not 1-D numeric, or ``out`` is not a big enough complex64 C-contiguous
            ``(rows, M)`` array (checked before any state changes).
        """
        x = np.asarray(x)
        if x.ndim != 1:
            raise ArgosneoError(f"channelizer: input must be 1-D, got shape {x.shape}")
        if x.dtype != np.complex64:
            if not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
                raise ArgosneoError(f"channelizer: input must be numeric, got dtype {x.dtype}")
            x = x.astype(np.complex64)
        x = np.ascontiguousarray(x)
        n_in = x.size
        m, d, hist = self.num_channels, self.decimation, self._hist_len
        consumed = self.samples_consumed
        n0 = self.output_count
        n_out = self.output_rows(n_in)
        if out is None:
            out = np.empty((n_out, m), np.complex64)
        else:
            if (not isinstance(out, np.ndarray) or out.dtype != np.complex64 or out.ndim != 2
                    or out.shape[1] != m or not out.flags.c_contiguous or not out.flags.writeable):
                raise ArgosneoError(
                    f"channelizer: out must be a writeable C-contiguous complex64 array of shape (rows, {m})")
            if out.shape[0] < n_out:
                raise ArgosneoError(f"channelizer: out has {out.shape[0]} rows, this input needs {n_out}")
            if np.may_share_memory(out, x):
                raise ArgosneoError("channelizer: out must not overlap the input")
            out = out[:n_out]
        if n_out:
            outf = out.view(np.float32).reshape(n_out, 2 * m)
            first_end_x = n0 * d - consumed  # position in x of frame n0's newest sample (>= 0)
            # Frames whose window reaches back into the history read from a small joined copy.
            n_head = min(n_out, max(0, -(-(hist - first_end_x) // d)))
            if n_head:
                joined = np.concatenate((self._tail, x[: min(n_in, hist)]))
                pfb_frames(joined.view(np.float32), first_end_x + hist, d, n_head, self._taps_rev, n0, outf[:n_head])
            # The rest reads straight from x, in cache-sized blocks each followed by its FFT.
            block = max(1, _BLOCK_SAMPLES // m)
            xf = x.view(np.float32)
            done = 0
            while done < n_out:
                nb = min(block, n_out - done)
                skip = max(0, n_head - done)  # frames of this block already done from history
                if nb > skip:
                    pfb_frames(xf, first_end_x + (done + skip) * d, d, nb - skip, self._taps_rev,
                               n0 + done + skip, outf[done + skip: done + nb])
                rows = out[done: done + nb]
                spectra = scipy.fft.fft(rows, axis=1, workers=1, overwrite_x=True)
                # pocketfft transforms a contiguous complex64 block in place; copying the
                # result onto itself would cost a pass over the whole output.
                if spectra.ctypes.data != rows.ctypes.data:
                    rows[...] = spectra
                done += nb
        # Keep the newest L−1 inputs as history.
        if n_in >= hist:
            self._tail = x[n_in - hist:].copy()
        elif n_in:
            self._tail = np.concatenate((self._tail[n_in:], x))
        self.samples_consumed = consumed + n_in
        self.output_count = n0 + n_out
        return out
