"""PTT-A3 and PTT-ZE datagrams and their coding chain (``argos-research.md`` §2.1).

Transmit chain, VERIFIED-HERE bit-exactly against the CNES AS3-SP-516-274 ZE example:

1. datagram (information bits, MSB first per field):
   A3 = length code (4) · ID (28) · user data (24 + 32(N−1)) · tail zeros (7,8,9,7,8,9,7,8)[N−1];
   ZE = ID (28) · 8 tail zeros;
2. convolutional code, rate 1/2, K = 7, 171/133 octal (:mod:`argosneo.coding.convolutional`)
   giving pairs (x_k, y_k) = (v0, v1);
3. fixed I/Q permutation in groups of three steps: X(I) ← [y1, x2, y2], Y(Q) ← [x1, x3, y3]
   (a last group of two: X ← [y1, x2], Y ← [x1, y2]; of one: X ← [y1], Y ← [x1]);
4. over air: the 30 sync bits, then X0 Y0 X1 Y1 … — even positions go on I, odd on Q, so one
   QPSK symbol carries (I, Q) = (X_k, Y_k) after 15 sync symbols (S_even, S_odd).

The receive side (:func:`decode_a3_symbols`) takes soft per-symbol I and Q values after the sync
and tries every datagram length (ZE and A3 N = 1…8), because the length code is inside the coded
stream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from argosneo import spec_a3 as s3
from argosneo.coding.convolutional import conv_encode, viterbi_decode
from argosneo.errors import ArgosneoError

__all__ = [
    "FORMATS",
    "bits_from_int",
    "int_from_bits",
    "a3_datagram",
    "ze_datagram",
    "datagram_length",
    "permute_iq",
    "unpermute_iq",
    "sync_bits",
    "sync_iq",
    "over_air_bits",
    "a3_frame_bits",
    "ze_frame_bits",
    "split_iq",
    "A3Decoded",
    "decode_a3_symbols",
]

#: Hypotheses tried by the decoder: ("ZE", 0) and ("A3", N) for N = 1…8.
FORMATS = (("ZE", 0),) + tuple(("A3", n) for n in range(1, s3.A3_MAX_BLOCKS + 1))


# --- bit helpers -------------------------------------------------------------------------------


def bits_from_int(value: int, n_bits: int) -> np.ndarray:
    """Unsigned integer as ``n_bits`` bits, MSB first (uint8); raises if it does not fit."""
    value = int(value)
    if value < 0 or value >> n_bits:
        raise ArgosneoError(f"value {value:#x} does not fit in {n_bits} bits")
    return np.array([(value >> s) & 1 for s in range(n_bits - 1, -1, -1)], dtype=np.uint8)


def int_from_bits(bits) -> int:
    """Integer value of a bit sequence read MSB first (arbitrary width)."""
    value = 0
    for b in np.asarray(bits, dtype=np.uint8).reshape(-1):
        value = (value << 1) | int(b)
    return value


def _check_blocks(n_blocks) -> int:
    try:
        n = int(n_blocks)
    except (TypeError, ValueError):
        n = -1
    if n != n_blocks or not 1 <= n <= s3.A3_MAX_BLOCKS:
        raise ArgosneoError(f"A3 length N must be an integer 1..{s3.A3_MAX_BLOCKS}, got {n_blocks!r}")
    return n


def _data_bits(data, n_bits: int) -> np.ndarray:
    if isinstance(data, (int, np.integer)) and not isinstance(data, (bool, np.bool_)):
        return bits_from_int(int(data), n_bits)
    if isinstance(data, (bytes, bytearray)):
        raw = np.frombuffer(bytes(data), dtype=np.uint8)
        if raw.size * 8 != n_bits:
            raise ArgosneoError(f"A3 data has {raw.size * 8} bits; this length needs {n_bits}")
        return np.unpackbits(raw)
    arr = np.asarray(data)
    if arr.ndim != 1 or arr.size != n_bits or (arr.size and not np.isin(arr, (0, 1)).all()):
        raise ArgosneoError(f"A3 data must be an integer, bytes or {n_bits} bits of 0/1")
    return arr.astype(np.uint8)


# --- datagrams ---------------------------------------------------------------------------------


def a3_datagram(platform_id: int, data, n_blocks: int) -> np.ndarray:
    """A3 information bits before coding.

    Parameters
    ----------
    platform_id : int
        28-bit platform ID.
    data : int, bytes or sequence of 0/1
        User data, ``24 + 32·(N − 1)`` bits.
    n_blocks : int
        N, 1…8.

    Returns
    -------
    numpy.ndarray
        uint8 bits: length code (4) · ID (28) · data · tail zeros.
    """
    n = _check_blocks(n_blocks)
    return np.concatenate([
        bits_from_int(s3.A3_LENGTH_CODES[n - 1], s3.A3_LENGTH_FIELD_BITS),
        bits_from_int(platform_id, s3.A3_ID_BITS),
        _data_bits(data, s3.a3_user_bits(n)),
        np.zeros(s3.A3_TAIL_BITS[n - 1], dtype=np.uint8),
    ])


def ze_datagram(platform_id: int) -> np.ndarray:
    """ZE information bits before coding: 28-bit ID then 8 tail zeros (no length field)."""
    return np.concatenate([bits_from_int(platform_id, s3.A3_ID_BITS),
                           np.zeros(s3.ZE_TAIL_BITS, dtype=np.uint8)])


def datagram_length(fmt: str, n_blocks: int = 0) -> int:
    """Information bits (= QPSK data symbols) of a ZE datagram or an A3 datagram of N blocks."""
    if fmt == "ZE":
        return s3.ZE_INFO_BITS
    if fmt == "A3":
        return s3.a3_info_bits(_check_blocks(n_blocks))
    raise ArgosneoError(f"unknown Argos-3 format {fmt!r} (expected 'A3' or 'ZE')")


# --- permutation and sync ----------------------------------------------------------------------


def permute_iq(v0, v1) -> tuple[np.ndarray, np.ndarray]:
    """The fixed group-of-three I/Q permutation ("scrambler") of the coded pairs.

    Parameters
    ----------
    v0, v1 : array_like
        Encoder outputs (171 and 133 generators) per step, equal lengths; bits or soft values.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The X (I) and Y (Q) streams, each as long as ``v0``.
    """
    x = np.asarray(v0)
    y = np.asarray(v1)
    if x.shape != y.shape or x.ndim != 1:
        raise ArgosneoError("permutation needs two 1-D streams of equal length")
    idx_x, idx_y = _permutation_indices(x.size)
    both = np.concatenate([x, y])
    return both[idx_x], both[idx_y]


def unpermute_iq(i_stream, q_stream) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`permute_iq`: (X, Y) back to (v0, v1); works on soft values."""
    i_stream = np.asarray(i_stream)
    q_stream = np.asarray(q_stream)
    if i_stream.shape != q_stream.shape or i_stream.ndim != 1:
        raise ArgosneoError("inverse permutation needs two 1-D streams of equal length")
    n = i_stream.size
    idx_x, idx_y = _permutation_indices(n)
    both = np.empty(2 * n, dtype=np.result_type(i_stream, q_stream))
    both[idx_x] = i_stream
    both[idx_y] = q_stream
    return both[:n], both[n:]


_PERM_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _permutation_indices(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices into ``concat(v0, v1)`` (v0 at k, v1 at n + k) that give X and Y."""
    cached = _PERM_CACHE.get(n)
    if cached is not None:
        return cached
    ix, iy = [], []
    for g in range(0, n, 3):
        m = min(3, n - g)
        x1, y1 = g, n + g
        if m == 3:
            x2, y2, x3, y3 = g + 1, n + g + 1, g + 2, n + g + 2
            ix += [y1, x2, y2]
            iy += [x1, x3, y3]
        elif m == 2:
            x2, y2 = g + 1, n + g + 1
            ix += [y1, x2]
            iy += [x1, y2]
        else:
            ix += [y1]
            iy += [x1]
    out = (np.array(ix, dtype=np.int64), np.array(iy, dtype=np.int64))
    _PERM_CACHE[n] = out
    return out


def sync_bits() -> np.ndarray:
    """The 30 sync bits in over-air order (low 30 bits of 0x2BEEEEBF, MSB first)."""
    return bits_from_int(s3.A3_SYNC_WORD, s3.A3_SYNC_BITS)


def sync_iq() -> tuple[np.ndarray, np.ndarray]:
    """Sync split onto the channels: I = even-position bits (all ones), Q = odd-position bits."""
    s = sync_bits()
    return s[0::2].copy(), s[1::2].copy()


# --- full over-air stream ----------------------------------------------------------------------


def over_air_bits(datagram) -> np.ndarray:
    """Complete over-air bit stream of a datagram: sync then interleaved permuted code bits.

    Parameters
    ----------
    datagram : sequence of 0/1
        Information bits including the tail (see :func:`a3_datagram`, :func:`ze_datagram`).

    Returns
    -------
    numpy.ndarray
        uint8 bits ``S0 … S29 X0 Y0 X1 Y1 …``: 30 + 2·len(datagram) bits; even positions are
        sent on I, odd positions on Q.
    """
    code = conv_encode(datagram)
    x, y = permute_iq(code[0::2], code[1::2])
    body = np.empty(2 * x.size, dtype=np.uint8)
    body[0::2] = x
    body[1::2] = y
    return np.concatenate([sync_bits(), body])


def a3_frame_bits(platform_id: int, data, n_blocks: int) -> np.ndarray:
    """Over-air bits of an A3 burst (sync + coded datagram); see :func:`a3_datagram`."""
    return over_air_bits(a3_datagram(platform_id, data, n_blocks))


def ze_frame_bits(platform_id: int) -> np.ndarray:
    """Over-air bits of a ZE burst (sync + coded ID + tail)."""
    return over_air_bits(ze_datagram(platform_id))


def split_iq(stream) -> tuple[np.ndarray, np.ndarray]:
    """Over-air stream (even length) → per-symbol I (even positions) and Q (odd positions)."""
    s = np.asarray(stream)
    if s.ndim != 1 or s.size % 2:
        raise ArgosneoError(f"an over-air stream has an even number of bits, got {s.size}")
    return s[0::2], s[1::2]


# --- decoding ----------------------------------------------------------------------------------


@dataclass
class A3Decoded:
    """Result of :func:`decode_a3_symbols`.

    ``format`` is "A3" or "ZE"; ``n_blocks`` is N (0 for ZE); ``datagram`` the decoded
    information bits (with tail); ``path_metric`` the Viterbi metric ``Σ soft·(2c − 1)`` of the
    chosen hypothesis; ``score`` the log-likelihood ratio (hypothesis versus noise) used to choose
    among hypotheses; ``candidates`` lists ``(format, n_blocks, score, length_code_ok)`` of every
    hypothesis tried, best first.
    """

    format: str
    n_blocks: int
    platform_id: int
    data_bits: np.ndarray
    datagram: np.ndarray
    length_code: int | None
    length_code_ok: bool
    tail_ok: bool
    path_metric: float
    score: float
    n_symbols: int
    code_bit_errors: int            #: hard decisions that differ from the re-encoded codeword
    candidates: list = field(default_factory=list, repr=False)

    @property
    def data_hex(self) -> str:
        """User data as hex (``0x`` prefix, empty data → ``""``)."""
        if self.data_bits.size == 0:
            return ""
        return f"0x{int_from_bits(self.data_bits):0{math.ceil(self.data_bits.size / 4)}X}"


def _level_and_noise(i_soft: np.ndarray, q_soft: np.ndarray) -> tuple[float, float]:
    """Signal level and noise variance of the soft values over the span every hypothesis shares
    (the ZE length): second and fourth moments (M2M4), which stay unbiased at low SNR where
    mean |y| would not."""
    n = min(s3.ZE_INFO_BITS, i_soft.size)
    y = np.concatenate([i_soft[:n], q_soft[:n]]).astype(np.float64)
    m2 = float(np.mean(y * y))
    m4 = float(np.mean(y ** 4))
    a2 = math.sqrt(max(1.5 * m2 * m2 - 0.5 * m4, 0.0))
    if a2 <= 0.0:
        a2 = max(float(np.mean(np.abs(y))) ** 2, 1e-30)
    noise = max(m2 - a2, 1e-6 * a2)
    return math.sqrt(a2), noise


def decode_a3_symbols(soft_i, soft_q, *, signal_level: float | None = None,
                      noise_var: float | None = None, formats=FORMATS) -> A3Decoded:
    """Decode soft QPSK data symbols (after the sync) into a ZE or A3 datagram.

    Every hypothesis (ZE, A3 N = 1…8) that fits in the given symbols is Viterbi-decoded over its
    own length. With soft values ``y = a·s + n`` (``s = ±1``, noise variance σ²) the log-likelihood
    ratio of "a burst of L symbols, then noise" against "noise only" is
    ``(a·M − L·a²)/σ²`` where ``M`` is the Viterbi path metric over the ``2L`` code bits; the
    hypothesis with the largest ratio wins, preferring A3 hypotheses whose decoded length code
    matches their N (ZE has no length code).

    Parameters
    ----------
    soft_i, soft_q : array_like of float
        Per-symbol soft values on I and Q after the 15 sync symbols, positive for bit 1. May be
        longer than any burst (trailing noise is what separates the lengths).
    signal_level, noise_var : float, optional
        ``a`` and ``σ²`` of the soft values; estimated from the first 36 symbols if not given.
    formats : sequence of (str, int), optional
        Hypotheses to try (default :data:`FORMATS`).

    Returns
    -------
    A3Decoded

    Raises
    ------
    ArgosneoError
        If the inputs differ in length or are too short for every hypothesis.
    """
    si = np.asarray(soft_i, dtype=np.float64).reshape(-1)
    sq = np.asarray(soft_q, dtype=np.float64).reshape(-1)
    if si.size != sq.size:
        raise ArgosneoError(f"soft I and Q must have equal lengths, got {si.size} and {sq.size}")
    a_est, n_est = _level_and_noise(si, sq) if si.size else (1.0, 1.0)
    a = float(signal_level) if signal_level is not None else a_est
    var = float(noise_var) if noise_var is not None else n_est
    if not (a > 0 and var > 0):
        raise ArgosneoError("signal level and noise variance must be positive")
    tried = []
    for fmt, n in formats:
        length = datagram_length(fmt, n)
        if length > si.size:
            continue
        v0, v1 = unpermute_iq(si[:length], sq[:length])
        res = viterbi_decode(np.stack([v0, v1], axis=1))
        score = (a * res.metric - length * a * a) / var
        if fmt == "A3":
            code = int_from_bits(res.bits[: s3.A3_LENGTH_FIELD_BITS])
            code_ok = code == s3.A3_LENGTH_CODES[n - 1]
        else:
            code, code_ok = None, True
        tried.append((score, fmt, n, code, code_ok, res, length))
    if not tried:
        raise ArgosneoError(f"{si.size} soft symbols are too few for any Argos-3 datagram")
    tried.sort(key=lambda t: (t[4], t[0]), reverse=True)
    score, fmt, n, code, code_ok, res, length = tried[0]
    bits = res.bits
    if fmt == "A3":
        id_lo = s3.A3_LENGTH_FIELD_BITS
        data = bits[id_lo + s3.A3_ID_BITS: id_lo + s3.A3_ID_BITS + s3.a3_user_bits(n)]
        tail = bits[length - s3.A3_TAIL_BITS[n - 1]:]
    else:
        id_lo = 0
        data = bits[:0]
        tail = bits[s3.A3_ID_BITS:]
    recoded = conv_encode(bits)
    x, y = permute_iq(recoded[0::2], recoded[1::2])
    errors = int(np.sum((si[:length] > 0) != (x > 0)) + np.sum((sq[:length] > 0) != (y > 0)))
    return A3Decoded(
        format=fmt,
        n_blocks=n,
        platform_id=int_from_bits(bits[id_lo: id_lo + s3.A3_ID_BITS]),
        data_bits=data.copy(),
        datagram=bits.copy(),
        length_code=code,
        length_code_ok=bool(code_ok),
        tail_ok=bool(not tail.any()),
        path_metric=float(res.metric),
        score=float(score),
        n_symbols=length,
        code_bit_errors=errors,
        candidates=[(t[1], t[2], float(t[0]), bool(t[4])) for t in tried],
    )
