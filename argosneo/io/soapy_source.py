"""Live sample input from any SoapySDR device, as a stream of :class:`SampleChunk`.

The source owns the device for its whole life: it opens it, configures the receive chain,
reads CF32 samples into one preallocated buffer and hands out a copy per chunk. It keeps the
stream's sample count honest across faults, because downstream timing (burst time of arrival)
is computed from ``first_sample``:

- with hardware time (``SOAPY_SDR_HAS_TIME``) every read is placed by its timestamp, so samples
  lost in an overflow are counted exactly and ``first_sample`` after the gap is the true index;
- without it the count can only include received samples: the chunk after a loss is marked
  ``discontinuity=True`` and its ``time_anchor`` is taken from the host clock;
- a device that vanishes (stream error, or silent for ``stall_timeout_s``) is closed and reopened
  with exponential backoff; the first chunk after a reopen is a discontinuity.

SoapySDR is imported lazily: importing this module never needs the bindings.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
import math
import os
import threading
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from argosneo.errors import DeviceError
from argosneo.io.chunk import SampleChunk, StreamInfo

log = logging.getLogger(__name__)


# Debian's SWIG-4.1 build of the SoapySDR bindings drops a reference to None in readStream
# (measured: -45 over 50 reads on Python 3.11, where None is not immortal); once None's count
# reaches zero the interpreter aborts, which would end a long live run. Adding two references
# per read more than covers the loss; extra references to None are harmless.
import ctypes as _ctypes

_Py_IncRef = _ctypes.pythonapi.Py_IncRef
_Py_IncRef.argtypes = [_ctypes.py_object]
_Py_IncRef.restype = None


def _compensate_none_leak() -> None:
    if sys.version_info < (3, 12):
        _Py_IncRef(None)
        _Py_IncRef(None)

#: readStream return codes (SoapySDR/Errors.h); the bindings export the same values
_CODE_NAMES = {
    -1: "TIMEOUT",
    -2: "STREAM_ERROR",
    -3: "CORRUPTION",
    -4: "OVERFLOW",
    -5: "NOT_SUPPORTED",
    -6: "TIME_ERROR",
    -7: "UNDERFLOW",
}
#: readStream flag bits (SoapySDR/Constants.h)
_FLAG_NAMES = {
    1 << 1: "END_BURST",
    1 << 2: "HAS_TIME",
    1 << 3: "END_ABRUPT",
    1 << 4: "ONE_PACKET",
    1 << 5: "MORE_FRAGMENTS",
    1 << 6: "WAIT_TRIGGER",
}
_TIMEOUT, _STREAM_ERROR, _OVERFLOW, _NOT_SUPPORTED = -1, -2, -4, -5
_END_BURST, _HAS_TIME = 1 << 1, 1 << 2
#: codes after which the device is presumed gone (unplugged, driver lost the handle)
_FATAL_CODES = (_STREAM_ERROR, _NOT_SUPPORTED)
#: hardware clocks later than this (2000-01-01 UTC) are taken to be UTC, not a power-up counter
_UTC_PLAUSIBLE_NS = 946_684_800 * 10**9
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def import_soapysdr():
    """Import and return the SoapySDR Python bindings.

    Raises
    ------
    DeviceError
        If the bindings are not installed.
    """
    try:
        import SoapySDR  # noqa: PLC0415 - optional system dependency, imported on use
    except ImportError as exc:
        raise DeviceError(
            "SoapySDR Python bindings are not available (install Debian python3-soapysdr and "
            f"run scripts/setup.sh): {exc}"
        ) from None
    return SoapySDR


def parse_device_args(device_args: str | Mapping[str, str]) -> dict[str, str]:
    """Split SoapySDR device arguments ``"key=value,key=value"`` into a dict.

    Parameters
    ----------
    device_args : str or mapping
        SoapySDR argument string, or a mapping (values are turned into strings).

    Returns
    -------
    dict
        Keys and values, stripped; a key without ``=`` maps to ``""`` (as in SoapySDR).
    """
    if isinstance(device_args, Mapping):
        return {str(k).strip(): str(v).strip() for k, v in device_args.items()}
    out = {}
    for part in str(device_args).split(","):
        if not part.strip():
            continue
        key, _, value = part.partition("=")
        out[key.strip()] = value.strip()
    return out


def _args_text(args: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in args.items())


def open_device(device_args: str | Mapping[str, str]):
    """Open a SoapySDR device, turning libSoapySDR failures into one-line ``DeviceError``.

    Parameters
    ----------
    device_args : str or mapping
        Must name a ``driver``: without it libSoapySDR would probe every installed module,
        including network ones that broadcast on the local network.

    Returns
    -------
    SoapySDR.Device

    Raises
    ------
    DeviceError
        When no driver is named, no device matches, or the driver refuses to open it.
    """
    args = parse_device_args(device_args)
    text = _args_text(args)
    if not args.get("driver"):
        raise DeviceError(
            f"device args {text!r} must name a driver (e.g. 'driver=rtlsdr'; "
            "see 'argosneo devices')"
        )
    SoapySDR = import_soapysdr()
    try:
        return SoapySDR.Device(args)
    except RuntimeError as exc:
        msg = str(exc).strip()
        if "no match" in msg:
            plugin = os.environ.get("SOAPY_SDR_PLUGIN_PATH", "<unset>")
            raise DeviceError(
                f"no SoapySDR device matches {text!r} (is the module installed? "
                f"SOAPY_SDR_PLUGIN_PATH={plugin})"
            ) from None
        raise DeviceError(f"cannot open SoapySDR device {text!r}: {msg}") from None


@dataclass
class SoapyStats:
    """Counters of one :class:`SoapySource` (cumulative over reopens)."""

    samples: int = 0            #: samples received and handed out
    chunks: int = 0
    overflows: int = 0          #: SOAPY_SDR_OVERFLOW returns
    timeouts: int = 0           #: SOAPY_SDR_TIMEOUT returns
    errors: int = 0             #: any other negative return or exception from readStream
    reopens: int = 0            #: successful reopens after the device vanished
    reopen_failures: int = 0    #: reopen attempts that failed
    discontinuities: int = 0    #: chunks handed out with ``discontinuity=True``
    dropped_samples: int = 0    #: samples known lost (hardware time)
    dropped_estimate: int = 0   #: known losses plus host-clock estimates where time is unknown
    codes: Counter = field(default_factory=Counter)   #: every readStream return code, by name
    flags: Counter = field(default_factory=Counter)   #: every readStream flag bit seen, by name


class SoapySource:
    """Receive complex baseband from a SoapySDR device as :class:`SampleChunk` s.

    Parameters
    ----------
    device_args : str or mapping
        SoapySDR device arguments; must contain ``driver=`` (e.g.
        ``"driver=rtlsdr,serial=00000001"`` or ``"driver=argosreplay,file=x.sigmf-data"``).
    sample_rate : float
        Requested sample rate, Hz. The rate the device actually runs at is in ``info``.
    center_freq : float
        Requested centre frequency, Hz.
    gain : float or None
        Overall gain in dB; None selects automatic gain control.
    antenna : str or None
        Antenna port; None keeps the driver's default.
    ppm : float
        Frequency correction of the device oscillator, parts per million (skipped when 0 and
        the device has none).
    bandwidth : float or None
        Analog filter bandwidth, Hz; None keeps the driver's default.
    buffer_samples : int
        Samples per chunk (size of the preallocated read buffer).
    timeout_s : float
        Timeout of each readStream call; also bounds how late :meth:`stop` takes effect.
    reopen : bool
        Reopen a vanished device (True) or raise ``DeviceError`` (False).
    reopen_backoff_s, max_reopen_backoff_s : float
        First wait before reopening and the ceiling of its doubling.
    max_reopen_attempts : int or None
        Give up (``DeviceError``) after this many failed attempts in a row; None = never.
    stall_timeout_s : float
        A device that returns nothing for this long is presumed gone.
    hardware_time_is_utc : bool or None
        Whether the device clock is UTC (GPS-disciplined, or a replay of a dated capture).
        None decides from its value: clocks later than the year 2000 are taken to be UTC,
        power-up counters are not. Non-UTC hardware time still places samples exactly;
        only ``start_time`` then comes from the host clock.
    on_event : callable or None
        ``on_event(kind, detail)`` is called on ``"overflow"``, ``"lost"``,
        ``"reopen_failed"``, ``"reopened"`` and ``"stall"`` so a front end can report
        them while the iteration keeps going.
    channel : int
        Receive channel.

    Notes
    -----
    Iterate to receive; the iteration ends after :meth:`stop` (safe to call from a signal
    handler or another thread) or when the device ends the stream with ``END_BURST`` (a
    finite replay). :meth:`retune` and :meth:`set_gain` are meant to be called between
    chunks; the chunk after a retune is marked as a discontinuity.
    """

    def __init__(
        self,
        device_args: str | Mapping[str, str],
        *,
        sample_rate: float,
        center_freq: float,
        gain: float | None = None,
        antenna: str | None = None,
        ppm: float = 0.0,
        bandwidth: float | None = None,
        buffer_samples: int = 65536,
        timeout_s: float = 1.0,
        reopen: bool = True,
        reopen_backoff_s: float = 0.1,
        max_reopen_backoff_s: float = 5.0,
        max_reopen_attempts: int | None = None,
        stall_timeout_s: float = 10.0,
        hardware_time_is_utc: bool | None = None,
        on_event: Callable[[str, dict], None] | None = None,
        channel: int = 0,
    ):
        if not (sample_rate > 0 and math.isfinite(sample_rate)):
            raise DeviceError(f"sample rate must be a positive number of Hz, got {sample_rate!r}")
        if not (center_freq > 0 and math.isfinite(center_freq)):
            raise DeviceError(f"centre frequency must be a positive number of Hz, got {center_freq!r}")
        if int(buffer_samples) < 1:
            raise DeviceError(f"buffer_samples must be >= 1, got {buffer_samples!r}")
        if not timeout_s > 0:
            raise DeviceError(f"timeout_s must be > 0, got {timeout_s!r}")
        self._SoapySDR = import_soapysdr()
        self.args = parse_device_args(device_args)
        self._req_rate = float(sample_rate)
        self._req_freq = float(center_freq)
        self._gain = None if gain is None else float(gain)
        self._antenna = antenna
        self._ppm = float(ppm)
        self._bandwidth = bandwidth
        self._timeout_us = max(1, int(round(timeout_s * 1e6)))
        self._timeout_s = float(timeout_s)
        self._reopen = bool(reopen)
        self._backoff0 = float(reopen_backoff_s)
        self._backoff_max = float(max_reopen_backoff_s)
        self._max_attempts = max_reopen_attempts
        self._stall_s = float(stall_timeout_s)
        self._utc = hardware_time_is_utc
        self._on_event = on_event
        self._channel = int(channel)

        self.stats = SoapyStats()
        self._buf = np.zeros(int(buffer_samples), dtype=np.complex64)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._iterating = False
        self._dev = None
        self._stream = None
        self._active = False
        self._retuned = False
        self.info: StreamInfo = StreamInfo(sample_rate=self._req_rate, center_freq=self._req_freq)
        self._open()

    # ---- device life cycle ---------------------------------------------------------------------
    def _open(self) -> None:
        S = self._SoapySDR
        dev = open_device(self.args)
        try:
            self._configure(dev)
            stream = dev.setupStream(S.SOAPY_SDR_RX, S.SOAPY_SDR_CF32, [self._channel])
        except RuntimeError as exc:
            self._unmake(dev)
            raise DeviceError(f"SoapySDR device {_args_text(self.args)!r}: {str(exc).strip()}") from None
        self._dev, self._stream, self._active = dev, stream, False
        self._has_time = bool(dev.hasHardwareTime())
        rate = float(dev.getSampleRate(S.SOAPY_SDR_RX, self._channel))
        freq = float(dev.getFrequency(S.SOAPY_SDR_RX, self._channel))
        self.info = dataclasses.replace(
            self.info,
            sample_rate=rate,
            center_freq=freq,
            datatype="cf32_le",
            description=f"SoapySDR {dev.getHardwareKey()} ({_args_text(self.args)})",
        )

    def _configure(self, dev) -> None:
        S = self._SoapySDR
        rx, ch = S.SOAPY_SDR_RX, self._channel
        if self._antenna is not None:
            dev.setAntenna(rx, ch, self._antenna)
        dev.setSampleRate(rx, ch, self._req_rate)
        if self._bandwidth is not None:
            dev.setBandwidth(rx, ch, float(self._bandwidth))
        if self._ppm != 0.0 or dev.hasFrequencyCorrection(rx, ch):
            dev.setFrequencyCorrection(rx, ch, self._ppm)
        dev.setFrequency(rx, ch, self._req_freq)
        self._apply_gain(dev, self._gain)
        actual = float(dev.getSampleRate(rx, ch))
        if abs(actual - self._req_rate) > 1e-6 * self._req_rate:
            log.warning("device runs at %.6g S/s instead of the requested %.6g", actual, self._req_rate)

    def _apply_gain(self, dev, gain: float | None) -> None:
        S = self._SoapySDR
        rx, ch = S.SOAPY_SDR_RX, self._channel
        if gain is None:
            if dev.hasGainMode(rx, ch):
                dev.setGainMode(rx, ch, True)
        else:
            if dev.hasGainMode(rx, ch):
                dev.setGainMode(rx, ch, False)
            dev.setGain(rx, ch, float(gain))

    @staticmethod
    def _unmake(dev) -> None:
        try:
            dev.close()
        except Exception as exc:  # noqa: BLE001 - a dead device may fail to close; it is dropped anyway
            log.debug("closing SoapySDR device failed: %s", exc)

    def _release(self) -> None:
        """Deactivate, close the stream and unmake the device, tolerating a dead device."""
        with self._lock:
            dev, stream = self._dev, self._stream
            self._dev = self._stream = None
            if dev is None:
                return
            for step in ("deactivateStream", "closeStream"):
                if stream is not None and (step == "closeStream" or self._active):
                    try:
                        getattr(dev, step)(stream)
                    except Exception as exc:  # noqa: BLE001 - see _unmake
                        log.debug("%s failed: %s", step, exc)
            self._active = False
            # libSoapySDR hands out the same cached Device for the same args until it is
            # unmade, so a reopen only reaches the driver after this
            self._unmake(dev)

    def _activate(self) -> None:
        ret = self._dev.activateStream(self._stream)
        if ret != 0:
            raise RuntimeError(f"activateStream returned {_CODE_NAMES.get(ret, ret)}")
        self._active = True

    def _event(self, kind: str, **detail) -> None:
        if self._on_event is not None:
            self._on_event(kind, detail)

    # ---- control ---------------------------------------------------------------------------
    def retune(self, freq: float) -> float:
        """Tune to a new centre frequency; returns the frequency the device reports.

        The next chunk carries the new ``info.center_freq`` and ``discontinuity=True``
        (samples in flight were taken at the old frequency, so nothing may be stitched across).
        """
        if not (freq > 0 and math.isfinite(freq)):
            raise DeviceError(f"centre frequency must be a positive number of Hz, got {freq!r}")
        S = self._SoapySDR
        with self._lock:
            self._req_freq = float(freq)
            if self._dev is not None:
                try:
                    self._dev.setFrequency(S.SOAPY_SDR_RX, self._channel, self._req_freq)
                    actual = float(self._dev.getFrequency(S.SOAPY_SDR_RX, self._channel))
                except RuntimeError as exc:
                    raise DeviceError(f"cannot tune to {freq:.0f} Hz: {str(exc).strip()}") from None
            else:
                actual = self._req_freq
            self.info = dataclasses.replace(self.info, center_freq=actual)
            self._retuned = True
        return actual

    def set_gain(self, gain: float | None) -> None:
        """Set the gain in dB (None = automatic gain control), effective for the next reads."""
        with self._lock:
            self._gain = None if gain is None else float(gain)
            if self._dev is not None:
                try:
                    self._apply_gain(self._dev, self._gain)
                except RuntimeError as exc:
                    raise DeviceError(f"cannot set gain {gain!r}: {str(exc).strip()}") from None

    def get_gain(self) -> float:
        """Current overall gain in dB as the device reports it."""
        S = self._SoapySDR
        with self._lock:
            return float(self._dev.getGain(S.SOAPY_SDR_RX, self._channel))

    @property
    def device(self):
        """The open ``SoapySDR.Device`` (None while reopening or after :meth:`close`)."""
        return self._dev

    def stop(self) -> None:
        """Make the iteration end after the current read (at most ``timeout_s`` later)."""
        self._stop.set()

    def close(self) -> None:
        """Stop and release the device. Idempotent."""
        self._stop.set()
        self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self._release()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ---- streaming -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[SampleChunk]:
        if self._iterating:
            raise DeviceError("SoapySource is already being iterated")
        if self._dev is None:
            raise DeviceError("SoapySource is closed")
        return self._generate()

    def _generate(self) -> Iterator[SampleChunk]:
        self._iterating = True
        try:
            yield from self._run()
        finally:
            self._iterating = False
            with self._lock:
                if self._dev is not None and self._active:
                    try:
                        self._dev.deactivateStream(self._stream)
                    except Exception as exc:  # noqa: BLE001 - see _unmake
                        log.debug("deactivateStream failed: %s", exc)
                    self._active = False

    def _run(self) -> Iterator[SampleChunk]:
        st = self.stats
        buf, cap = self._buf, len(self._buf)
        rate = self.info.sample_rate
        with self._lock:
            try:
                self._activate()
            except RuntimeError as exc:
                raise DeviceError(f"cannot start streaming from {_args_text(self.args)!r}: {exc}") from None

        next_index = 0          # stream index of the next sample to be received
        t0_ns = None            # hardware time of stream index 0
        host0 = None            # host UTC (s) of stream index `host_index` (no-hardware-time path)
        host_index = 0
        filled = 0              # samples of the pending chunk in buf
        chunk = None            # (first_sample, discontinuity, time_anchor, info, reason)
        pending = None          # reason for a discontinuity before the next data
        lost_at = None          # host time the device was lost (plausibility of its clock after)
        last_data = time.monotonic()
        consecutive_errors = 0

        def emit():
            nonlocal filled, chunk
            first, disc, anchor, info, reason = chunk
            out = SampleChunk(
                samples=buf[:filled].copy(),
                first_sample=first,
                info=info,
                discontinuity=disc,
                time_anchor=anchor,
                extra={"reason": reason} if reason else {},
            )
            st.chunks += 1
            st.samples += filled
            st.discontinuities += int(disc)
            filled, chunk = 0, None
            return out

        while not self._stop.is_set():
            with self._lock:
                if self._retuned:
                    self._retuned = False
                    pending = pending or "retune"
                try:
                    r = self._dev.readStream(self._stream, [buf[filled:]], cap - filled, timeoutUs=self._timeout_us)
                    _compensate_none_leak()
                    ret, flags, time_ns = int(r.ret), int(r.flags), int(r.timeNs)
                except Exception as exc:  # noqa: BLE001 - a binding failure is a device failure
                    log.warning("readStream raised: %s", exc)
                    ret, flags, time_ns = _STREAM_ERROR, 0, 0
                    st.codes["EXCEPTION"] += 1
            now_mono = time.monotonic()
            now_utc = time.time()
            for bit, name in _FLAG_NAMES.items():
                if flags & bit:
                    st.flags[name] += 1

            if ret > 0:
                st.codes["OK"] += 1
                consecutive_errors = 0
                last_data = now_mono
                n = ret
                index = next_index
                reason = pending
                known_time = bool(flags & _HAS_TIME) and self._has_time
                if known_time:
                    if t0_ns is None:
                        t0_ns = time_ns - round(next_index * 1e9 / rate)
                    hw_index = round((time_ns - t0_ns) * rate / 1e9)
                    gap = hw_index - next_index
                    if lost_at is not None:
                        # after a reopen the device clock may have restarted: trust it only if
                        # the jump fits the outage
                        limit = (time.time() - lost_at + 2.0 * self._timeout_s + 1.0) * rate
                        if not 0 <= gap <= limit:
                            gap = None
                    elif gap < 0:
                        gap = None      # clock went backwards: re-anchor
                    if gap is None:
                        t0_ns = time_ns - round(next_index * 1e9 / rate)
                        reason = reason or "time_reset"
                        known_time = False
                    elif gap > 0:
                        index = hw_index
                        st.dropped_samples += gap
                        st.dropped_estimate += gap
                        reason = reason or "time_jump"
                elif reason is not None and host0 is not None:
                    # no clock: estimate what was lost from the host clock, but count only
                    # the samples received
                    expected = host0 + (next_index - host_index) / rate
                    est = (now_utc - n / rate - expected) * rate
                    st.dropped_estimate += max(0, int(round(est)))

                if self.info.start_time is None:
                    use_hw = known_time and (
                        self._utc if self._utc is not None else t0_ns >= _UTC_PLAUSIBLE_NS
                    )
                    start = (
                        _EPOCH + _dt.timedelta(microseconds=t0_ns / 1000.0)
                        if use_hw
                        else _dt.datetime.fromtimestamp(now_utc - n / rate, tz=_dt.timezone.utc)
                    )
                    self.info = dataclasses.replace(self.info, start_time=start)
                    host0, host_index = now_utc - n / rate, 0

                if reason is not None:
                    # samples already gathered belong before the discontinuity: hand them out
                    # separately, then move the new ones to the front of the buffer
                    if filled:
                        out = emit()
                        buf[:n] = buf[out.samples.size:out.samples.size + n]
                        yield out
                    if known_time:
                        anchor = self.info.time_of(index)
                    else:
                        anchor = _dt.datetime.fromtimestamp(now_utc - n / rate, tz=_dt.timezone.utc)
                        host0, host_index = now_utc - n / rate, index
                    chunk = (index, True, anchor, self.info, reason)
                    pending = None
                    lost_at = None
                elif chunk is None:
                    chunk = (index, False, None, self.info, None)
                filled += n
                next_index = index + n
                if filled >= cap or flags & _END_BURST:
                    yield emit()
                if flags & _END_BURST:
                    return
                continue

            if ret == 0:
                st.codes["OK"] += 1
                if flags & _END_BURST:
                    if filled:
                        yield emit()
                    return
                continue

            # no data: hand out what is pending so latency stays bounded
            name = _CODE_NAMES.get(ret, f"ERROR_{ret}")
            st.codes[name] += 1
            if filled:
                yield emit()
            if ret == _TIMEOUT:
                st.timeouts += 1
                if now_mono - last_data < self._stall_s:
                    continue
                self._event("stall", seconds=now_mono - last_data)
                log.warning("no samples for %.1f s: presuming the device gone", now_mono - last_data)
            elif ret == _OVERFLOW:
                st.overflows += 1
                pending = pending or "overflow"
                self._event("overflow", count=st.overflows)
                continue
            else:
                st.errors += 1
                consecutive_errors += 1
                pending = pending or name.lower()
                if ret not in _FATAL_CODES and consecutive_errors < 10:
                    continue

            # the device is gone
            self._event("lost", code=name)
            if not self._reopen:
                raise DeviceError(f"SoapySDR device {_args_text(self.args)!r} failed ({name})")
            log.warning("SoapySDR device %s lost (%s): reopening", _args_text(self.args), name)
            self._release()
            lost_at = time.time()
            if not self._reopen_with_backoff():
                return
            pending = "reopen"
            consecutive_errors = 0
            last_data = time.monotonic()

        if filled:
            yield emit()

    def _reopen_with_backoff(self) -> bool:
        """Reopen until it works; False if stopped meanwhile. Raises after max attempts."""
        backoff, failures = self._backoff0, 0
        while not self._stop.wait(backoff):
            try:
                with self._lock:
                    self._open()
                    self._activate()
            except (DeviceError, RuntimeError) as exc:
                self._release()
                failures += 1
                self.stats.reopen_failures += 1
                self._event("reopen_failed", attempt=failures, error=str(exc), next_s=min(2 * backoff, self._backoff_max))
                log.info("reopen attempt %d failed: %s", failures, exc)
                if self._max_attempts is not None and failures >= self._max_attempts:
                    raise DeviceError(
                        f"SoapySDR device {_args_text(self.args)!r} did not come back after "
                        f"{failures} attempts: {exc}"
                    ) from None
                backoff = min(2 * backoff, self._backoff_max)
                continue
            self.stats.reopens += 1
            self._event("reopened", attempts=failures + 1)
            log.warning("SoapySDR device %s reopened", _args_text(self.args))
            return True
        return False
