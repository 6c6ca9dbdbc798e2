"""Rate-1/2, constraint-length-7 convolutional code (generators 171 and 133 octal) of PTT-A3/ZE.

Convention (``argos-research.md`` §2.1, VERIFIED-HERE against the CNES ZE example): the shift
register starts at zero; at step ``k`` the register is ``u[k]·2⁶ + u[k−1]·2⁵ + … + u[k−6]`` (the
current bit in the most significant position, matching the MSB of each generator) and the two
outputs are ``v0 = parity(reg & 0o171)`` then ``v1 = parity(reg & 0o133)``.

The trellis state is the previous six input bits, newest in the most significant bit:
``state = reg >> 1`` after the step. Soft inputs follow one sign convention everywhere in
argosneo: **positive means bit 1**, and the magnitude is the confidence (a log-likelihood ratio
up to a common scale). The decoder maximises the correlation ``Σ soft·(2c − 1)`` between the soft
values and the code bits ``c``, which is maximum likelihood on an AWGN channel.
"""

from __future__ import annotations

import numba
import numpy as np

from argosneo.errors import ArgosneoError

__all__ = [
    "CONSTRAINT_LENGTH",
    "GENERATORS",
    "N_STATES",
    "conv_encode",
    "viterbi_decode",
    "ViterbiResult",
]

#: Constraint length K (register length including the current bit).
CONSTRAINT_LENGTH = 7
#: Generator polynomials (octal 171, 133), MSB = current input bit; outputs in this order.
GENERATORS = (0o171, 0o133)
#: Trellis states: 2^(K−1).
N_STATES = 1 << (CONSTRAINT_LENGTH - 1)


def _parity(x: int) -> int:
    return bin(x).count("1") & 1


def _output_table() -> np.ndarray:
    """``table[reg] = (v0, v1)`` for every 7-bit register value (uint8, shape (128, 2))."""
    regs = range(1 << CONSTRAINT_LENGTH)
    return np.array([[_parity(r & g) for g in GENERATORS] for r in regs], dtype=np.uint8)


#: Code bits for every register value, shared by the encoder and the decoder.
OUTPUT_TABLE = _output_table()


@numba.njit(cache=True)
def _encode_kernel(bits, state, table, out):
    """Encode ``bits`` from trellis ``state``; writes 2 code bits per input, returns the end state."""
    half = table.shape[0] >> 1
    for k in range(bits.shape[0]):
        reg = (bits[k] * half) | state
        out[2 * k] = table[reg, 0]
        out[2 * k + 1] = table[reg, 1]
        state = reg >> 1
    return state


def _as_bits(bits, what: str) -> np.ndarray:
    arr = np.asarray(bits)
    if arr.ndim != 1:
        raise ArgosneoError(f"{what} must be a 1-D bit sequence, got shape {arr.shape}")
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ArgosneoError(f"{what} must contain only 0 and 1")
    return np.ascontiguousarray(arr, dtype=np.int64)


def conv_encode(bits, state: int = 0, *, return_state: bool = False):
    """Convolutionally encode a bit sequence (rate 1/2, K = 7, 171/133 octal).

    Parameters
    ----------
    bits : sequence of 0/1
        Information bits, first transmitted first. For a zero-terminated block the caller
        includes the tail zeros (the PTT-A3/ZE datagrams carry their own tail).
    state : int, optional
        Trellis state before the first bit (the last six input bits, newest in bit 5); 0 for a
        fresh block. Passing the returned state back encodes a long stream in pieces.
    return_state : bool, optional
        Also return the state after the last bit.

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, int)
        uint8 code bits ``v0[0], v1[0], v0[1], v1[1], …`` (twice as many as the input), and
        the final state if asked.
    """
    b = _as_bits(bits, "information bits")
    if not 0 <= int(state) < N_STATES:
        raise ArgosneoError(f"encoder state must be 0..{N_STATES - 1}, got {state}")
    out = np.empty(2 * b.size, dtype=np.uint8)
    end = _encode_kernel(b, np.int64(state), OUTPUT_TABLE, out)
    return (out, int(end)) if return_state else out


@numba.njit(cache=True)
def _viterbi_forward(soft, table, metrics, decisions):
    """Add-compare-select over ``soft`` (shape (n, 2)), updating ``metrics`` (one per state) in
    place and writing the surviving predecessor's low bit for every step and state."""
    n_states = metrics.shape[0]
    half = n_states >> 1
    new = np.empty(n_states, dtype=np.float64)
    for k in range(soft.shape[0]):
        s0 = soft[k, 0]
        s1 = soft[k, 1]
        for ns in range(n_states):
            u = ns // half   # the input bit that led here is the state's newest bit
            # predecessors: the state's five older bits shifted up, plus the bit that falls out
            p0 = (ns << 1) & (n_states - 1)
            best = -np.inf
            choice = 0
            for b in range(2):
                p = p0 | b
                m = metrics[p]
                if m == -np.inf:
                    continue
                reg = (u * n_states) | p
                c0 = table[reg, 0]
                c1 = table[reg, 1]
                bm = (s0 if c0 else -s0) + (s1 if c1 else -s1)
                if m + bm > best:
                    best = m + bm
                    choice = b
            new[ns] = best
            decisions[k, ns] = choice
        for ns in range(n_states):
            metrics[ns] = new[ns]


@numba.njit(cache=True)
def _viterbi_traceback(decisions, end_state, out):
    n_states = decisions.shape[1]
    state = end_state
    for k in range(decisions.shape[0] - 1, -1, -1):
        out[k] = state // (n_states >> 1)
        state = ((state << 1) & (n_states - 1)) | decisions[k, state]
    return state


class ViterbiResult:
    """Output of :func:`viterbi_decode`.

    Attributes
    ----------
    bits : numpy.ndarray
        Decoded information bits (uint8), one per soft pair.
    metric : float
        Path metric of the decoded path, ``Σ soft·(2c − 1)`` over all code bits (its maximum
        possible value is ``Σ |soft|``, reached when every hard decision is a codeword).
    end_state : int
        Trellis state the path ends in (0 when terminated).
    """

    __slots__ = ("bits", "metric", "end_state")

    def __init__(self, bits: np.ndarray, metric: float, end_state: int):
        self.bits = bits
        self.metric = metric
        self.end_state = end_state

    def __repr__(self) -> str:
        return f"ViterbiResult(n_bits={self.bits.size}, metric={self.metric:.3f}, end_state={self.end_state})"


def viterbi_decode(soft, *, start_state: int | None = 0, terminated: bool = True) -> ViterbiResult:
    """Maximum-likelihood (soft-decision) Viterbi decoding of the 171/133 K = 7 code.

    Parameters
    ----------
    soft : array_like of float
        Soft code bits in transmission order ``v0[0], v1[0], v0[1], …`` (even length), positive
        for 1; or an array of shape (n, 2). Zero means "no information" (erasure/puncture).
    start_state : int or None, optional
        Known encoder state before the first pair (0 for a fresh block), or None if unknown.
    terminated : bool, optional
        The block ends in state 0 (its last six information bits are the zero tail); otherwise
        the best end state is taken.

    Returns
    -------
    ViterbiResult
        Decoded bits (including any tail bits), path metric and end state.

    Raises
    ------
    ArgosneoError
        If the soft input is not an even number of finite values.
    """
    s = np.asarray(soft, dtype=np.float64)
    if s.ndim == 1:
        if s.size % 2:
            raise ArgosneoError(f"soft code bits must come in pairs, got {s.size} values")
        s = s.reshape(-1, 2)
    if s.ndim != 2 or s.shape[1] != 2:
        raise ArgosneoError(f"soft code bits must have shape (n, 2), got {s.shape}")
    if not np.isfinite(s).all():
        raise ArgosneoError("soft code bits must be finite")
    s = np.ascontiguousarray(s)
    metrics = np.full(N_STATES, -np.inf)
    if start_state is None:
        metrics[:] = 0.0
    else:
        if not 0 <= int(start_state) < N_STATES:
            raise ArgosneoError(f"start state must be 0..{N_STATES - 1}, got {start_state}")
        metrics[int(start_state)] = 0.0
    decisions = np.empty((s.shape[0], N_STATES), dtype=np.uint8)
    _viterbi_forward(s, OUTPUT_TABLE, metrics, decisions)
    end_state = 0 if terminated else int(np.argmax(metrics))
    out = np.empty(s.shape[0], dtype=np.uint8)
    if s.shape[0]:
        _viterbi_traceback(decisions, np.int64(end_state), out)
    return ViterbiResult(out, float(metrics[end_state]), end_state)
