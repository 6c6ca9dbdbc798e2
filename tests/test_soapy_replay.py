"""The live path through the real libSoapySDR and the project's argosreplay module (no mocks)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from argosneo.cli import main
from argosneo.errors import DeviceError
from argosneo.io.soapy_source import SoapySource
from soapy_env import MODULE, MODULE_DIR, soapy_env  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("soapy_env")

RATE = 250_000.0
FREQ = 401.65e6


def _random_cf32(n, seed=1):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64) * 0.25


def _write_cf32(path, n=100_000, seed=1):
    x = _random_cf32(n, seed)
    x.tofile(path)
    return x


def _collect(src, limit=10**9):
    chunks = []
    for chunk in src:
        chunks.append(chunk)
        if sum(len(c.samples) for c in chunks) >= limit:
            src.stop()
    return chunks


def _source(args, **kw):
    kw.setdefault("sample_rate", RATE)
    kw.setdefault("center_freq", FREQ)
    kw.setdefault("buffer_samples", 8192)
    kw.setdefault("timeout_s", 0.2)
    return SoapySource(args, **kw)


def _assert_placed(chunks, reference):
    """Every chunk holds exactly the reference samples at its first_sample, in order."""
    end = 0
    for c in chunks:
        assert c.samples.dtype == np.complex64
        assert c.first_sample >= end
        np.testing.assert_array_equal(c.samples, reference[c.first_sample : c.end_sample])
        end = c.end_sample


def test_module_is_found_only_through_plugin_path(tmp_path):
    data = tmp_path / "x.cf32"
    _write_cf32(data, 1000)
    probe = (
        "import json, SoapySDR;"
        f"r = SoapySDR.Device.enumerate({{'driver': 'argosreplay', 'file': {str(data)!r}}});"
        "print(json.dumps([list(SoapySDR.listModules()), [dict(x) for x in r]]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOAPY_SDR")}
    env["SOAPY_SDR_ROOT"] = os.environ["SOAPY_SDR_ROOT"]
    without = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    assert json.loads(without.stdout) == [[], []]
    env["SOAPY_SDR_PLUGIN_PATH"] = str(MODULE_DIR)
    with_path = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    modules, found = json.loads(with_path.stdout)
    assert modules == [str(MODULE)]
    assert len(found) == 1 and found[0]["driver"] == "argosreplay" and found[0]["file"] == str(data)
    # ARGOSREPLAY_FILE stands in for file=
    env["ARGOSREPLAY_FILE"] = str(data)
    probe_env = probe.replace(f"'file': {str(data)!r}", "")
    from_env = subprocess.run([sys.executable, "-c", probe_env], env=env, capture_output=True, text=True, check=True)
    assert json.loads(from_env.stdout)[1] == found


def test_only_our_module_loads_in_this_process():
    import SoapySDR

    assert list(SoapySDR.listModules()) == [str(MODULE)]
    assert SoapySDR.getRootPath() == os.environ["SOAPY_SDR_ROOT"]
    # without file= (and without ARGOSREPLAY_FILE) the module reports nothing: it never scans
    assert "ARGOSREPLAY_FILE" not in os.environ
    assert len(SoapySDR.Device.enumerate({"driver": "argosreplay"})) == 0


def test_cf32_replay_returns_exactly_the_file(tmp_path):
    path = tmp_path / "a.cf32"
    x = _write_cf32(path, 100_003)
    with _source(f"driver=argosreplay,file={path},rate={RATE:.0f},realtime=0") as src:
        assert src.info.sample_rate == RATE and src.info.center_freq == FREQ
        chunks = list(src)  # a non-looping replay ends the stream with END_BURST
    got = np.concatenate([c.samples for c in chunks])
    np.testing.assert_array_equal(got, x)
    assert [c.first_sample for c in chunks] == list(range(0, 100_003, 8192))
    assert not any(c.discontinuity for c in chunks)
    st = src.stats
    assert st.samples == x.size and st.chunks == len(chunks)
    assert st.overflows == st.errors == st.reopens == st.dropped_samples == 0
    assert st.flags["END_BURST"] == 1 and st.flags["HAS_TIME"] == st.codes["OK"]
    assert chunks[0].info.start_time is not None
    # buffers are copied out, not reused
    assert all(c.samples.base is None or c.samples.base is not src._buf for c in chunks)


@pytest.mark.parametrize("fmt", ["cu8", "cs16", "cs8"])
def test_integer_formats_are_converted_to_full_scale(tmp_path, fmt):
    rng = np.random.default_rng(7)
    n = 20_000
    if fmt == "cu8":
        raw = rng.integers(0, 256, 2 * n, dtype=np.uint8)
        expected = (raw.astype(np.float32) - 127.5) / 127.5
    elif fmt == "cs16":
        raw = rng.integers(-32768, 32768, 2 * n, dtype=np.int16)
        expected = raw.astype(np.float32) / 32768.0
    else:
        raw = rng.integers(-128, 128, 2 * n, dtype=np.int8)
        expected = raw.astype(np.float32) / 128.0
    path = tmp_path / f"b.{fmt}"
    raw.tofile(path)
    with _source(f"driver=argosreplay,file={path},rate={RATE:.0f},realtime=0") as src:
        got = np.concatenate([c.samples for c in src])
    np.testing.assert_array_equal(got, (expected[0::2] + 1j * expected[1::2]).astype(np.complex64))


@pytest.mark.parametrize("datatype", ["cf32_le", "ci16_le", "cu8"])
def test_sigmf_meta_gives_format_rate_frequency_and_time(tmp_path, datatype):
    x = _random_cf32(12_345, seed=3)
    if datatype == "cf32_le":
        x.tofile(tmp_path / "c.sigmf-data")
        expected = x
    elif datatype == "ci16_le":
        iq = np.round(np.stack([x.real, x.imag], 1).ravel() * 32768).astype(np.int16)
        iq.tofile(tmp_path / "c.sigmf-data")
        expected = (iq[0::2] / 32768.0 + 1j * iq[1::2] / 32768.0).astype(np.complex64)
    else:
        iq = np.clip(np.round(np.stack([x.real, x.imag], 1).ravel() * 127.5 + 127.5), 0, 255).astype(np.uint8)
        iq.tofile(tmp_path / "c.sigmf-data")
        f = (iq.astype(np.float32) - 127.5) / 127.5
        expected = (f[0::2] + 1j * f[1::2]).astype(np.complex64)
    meta = {
        "global": {"core:datatype": datatype, "core:sample_rate": 48000.0, "core:version": "1.0.0"},
        "captures": [{"core:sample_start": 0, "core:frequency": 401.62e6, "core:datetime": "2024-05-01T12:00:00.250Z"}],
        "annotations": [],
    }
    (tmp_path / "c.sigmf-meta").write_text(json.dumps(meta, indent=2))
    path = tmp_path / "c.sigmf-data"
    with SoapySource(
        f"driver=argosreplay,file={path},realtime=0", sample_rate=48000.0, center_freq=401.62e6, buffer_samples=4096
    ) as src:
        chunks = list(src)
    np.testing.assert_array_equal(np.concatenate([c.samples for c in chunks]), expected)
    info = chunks[0].info
    assert info.sample_rate == 48000.0 and info.center_freq == 401.62e6
    # the replay's hardware clock is the capture's: sample 0 is at core:datetime
    assert info.start_time == dt.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=dt.timezone.utc)
    assert info.time_of(4800) == dt.datetime(2024, 5, 1, 12, 0, 0, 350000, tzinfo=dt.timezone.utc)


def test_overflows_with_hardware_time_keep_the_true_sample_index(tmp_path):
    path = tmp_path / "o.cf32"
    x = _write_cf32(path, 100_000)
    args = f"driver=argosreplay,file={path},rate={RATE:.0f},realtime=0,overflow_at=30000;70001,overflow_len=5000"
    events = []
    with _source(args, on_event=lambda kind, detail: events.append(kind)) as src:
        chunks = list(src)
    _assert_placed(chunks, x)
    disc = [c for c in chunks if c.discontinuity]
    assert [c.first_sample for c in disc] == [35_000, 75_001]
    assert all(c.extra["reason"] == "overflow" for c in disc)
    # time after the gap is the true time of that sample
    assert all(c.time_anchor == c.info.time_of(c.first_sample) for c in disc)
    assert sum(len(c.samples) for c in chunks) == 90_000
    st = src.stats
    assert st.overflows == 2 and st.codes["OVERFLOW"] == 2 and events.count("overflow") == 2
    assert st.dropped_samples == st.dropped_estimate == 10_000
    assert st.discontinuities == 2


def test_overflows_without_hardware_time_reanchor_from_host_clock(tmp_path):
    path = tmp_path / "o.cf32"
    x = _write_cf32(path, 60_000)
    args = f"driver=argosreplay,file={path},rate={RATE:.0f},realtime=0,hwtime=0,overflow_at=30000,overflow_len=5000"
    with _source(args) as src:
        before = dt.datetime.now(dt.timezone.utc)
        chunks = list(src)
        after = dt.datetime.now(dt.timezone.utc)
    got = np.concatenate([c.samples for c in chunks])
    np.testing.assert_array_equal(got, np.concatenate([x[:30_000], x[35_000:]]))
    # only received samples are counted: the chunk after the gap continues at 30000
    assert [c.first_sample for c in chunks] == list(range(0, 55_000, 8192))[:4] + [30_000 + k for k in range(0, 25_000, 8192)]
    (gap,) = [c for c in chunks if c.discontinuity]
    assert gap.first_sample == 30_000 and gap.extra["reason"] == "overflow"
    assert gap.time_anchor is not None and before - dt.timedelta(seconds=1) <= gap.time_anchor <= after
    assert src.stats.overflows == 1 and src.stats.dropped_samples == 0


def test_slow_consumer_overflows_in_realtime_and_time_stays_exact(tmp_path):
    path = tmp_path / "s.cf32"
    x = _write_cf32(path, 50_000)
    rate = 100_000.0
    args = f"driver=argosreplay,file={path},rate={rate:.0f},realtime=1,loop=1,buffer=2000"
    chunks = []
    with SoapySource(args, sample_rate=rate, center_freq=FREQ, buffer_samples=1000, timeout_s=0.5) as src:
        for chunk in src:
            chunks.append(chunk)
            if len(chunks) == 2:
                time.sleep(0.1)  # 10000 samples arrive, the device holds only 2000
            if len(chunks) >= 8:
                src.stop()
    assert src.stats.overflows >= 1 and src.stats.dropped_samples > 0
    looped = np.tile(x, 4)
    _assert_placed(chunks, looped)
    assert any(c.discontinuity and c.extra["reason"] == "overflow" for c in chunks)
    # the device clock is UTC (host clock at activation): start_time is now, give or take
    assert abs((chunks[0].info.start_time - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 60


def test_disconnect_is_survived_by_reopening(tmp_path):
    path = tmp_path / "d.cf32"
    x = _write_cf32(path, 100_000)
    args = f"driver=argosreplay,file={path},rate={RATE:.0f},realtime=0,disconnect_at=50000,reopen_fail=2"
    events = []
    with _source(args, reopen_backoff_s=0.01, on_event=lambda kind, detail: events.append(kind)) as src:
        first_device = src.device
        chunks = list(src)
        assert src.device is not first_device
    got = np.concatenate([c.samples for c in chunks])
    np.testing.assert_array_equal(got, x)  # realtime=0: the re-plugged device resumes where it stopped
    _assert_placed(chunks, x)
    (disc,) = [c for c in chunks if c.discontinuity]
    assert disc.first_sample == 50_000 and disc.extra["reason"] == "reopen"
    st = src.stats
    assert st.reopens == 1 and st.reopen_failures == 2 and st.errors == 1 and st.codes["STREAM_ERROR"] == 1
    assert events == ["lost", "reopen_failed", "reopen_failed", "reopened"]


def test_disconnect_without_reopen_is_a_device_error(tmp_path):
    path = tmp_path / "d.cf32"
    _write_cf32(path, 20_000)
    with _source(f"driver=argosreplay,file={path},rate={RATE:.0f},realtime=0,disconnect_at=10000", reopen=False) as src:
        with pytest.raises(DeviceError, match=r"failed \(STREAM_ERROR\)"):
            for _ in src:
                pass
        assert src.stats.samples == 10_000  # everything received before the failure was handed out


def test_open_errors_are_one_line_device_errors(tmp_path):
    with pytest.raises(DeviceError) as err:
        _source("driver=nonexistent")
    msg = str(err.value)
    assert msg.startswith("no SoapySDR device matches 'driver=nonexistent' (is the module installed?")
    assert f"SOAPY_SDR_PLUGIN_PATH={MODULE_DIR}" in msg and "\n" not in msg
    with pytest.raises(DeviceError, match="must name a driver"):
        _source("serial=1234")
    with pytest.raises(DeviceError, match="capture file not found"):
        _source(f"driver=argosreplay,file={tmp_path}/missing.cf32,rate=1000")
    path = tmp_path / "r.cf32"
    _write_cf32(path, 100)
    with pytest.raises(DeviceError, match="sample rate of .* unknown"):
        _source(f"driver=argosreplay,file={path}")
    with pytest.raises(DeviceError, match="cannot stream at 1e\\+06 Hz"):
        _source(f"driver=argosreplay,file={path},rate={RATE:.0f}", sample_rate=1e6)
    with pytest.raises(DeviceError, match="no antenna LNAW"):
        _source(f"driver=argosreplay,file={path},rate={RATE:.0f}", antenna="LNAW")


def test_setters_round_trip(tmp_path):
    import SoapySDR

    path = tmp_path / "t.cf32"
    _write_cf32(path, 1000)
    rx = SoapySDR.SOAPY_SDR_RX
    with _source(
        f"driver=argosreplay,file={path},rate={RATE:.0f}",
        gain=17.0,
        antenna="RX",
        ppm=-1.5,
        bandwidth=100e3,
    ) as src:
        dev = src.device
        assert dev.getFrequency(rx, 0) == FREQ
        assert dev.getGain(rx, 0) == 17.0 and dev.getGainMode(rx, 0) is False
        assert dev.getAntenna(rx, 0) == "RX"
        assert dev.getFrequencyCorrection(rx, 0) == -1.5
        assert dev.getBandwidth(rx, 0) == 100e3
        assert dev.getSampleRate(rx, 0) == RATE and list(dev.listSampleRates(rx, 0)) == [RATE]
        assert src.retune(401.7e6) == 401.7e6 and dev.getFrequency(rx, 0) == 401.7e6
        assert src.info.center_freq == 401.7e6
        src.set_gain(None)
        assert dev.getGainMode(rx, 0) is True
        src.set_gain(30.0)
        assert dev.getGainMode(rx, 0) is False and src.get_gain() == 30.0
        rng = dev.getGainRange(rx, 0)
        assert (rng.minimum(), rng.maximum()) == (0.0, 40.0)
        assert dev.hasHardwareTime() and dev.getHardwareTime() > 0
    assert src.device is None


def test_retune_and_gain_apply_in_flight(tmp_path):
    path = tmp_path / "g.cf32"
    x = _write_cf32(path, 40_000)
    args = f"driver=argosreplay,file={path},rate={RATE:.0f},freq={FREQ:.0f},realtime=0"
    chunks = []
    with _source(args) as src:
        for chunk in src:
            chunks.append(chunk)
            if len(chunks) == 1:
                src.set_gain(20.0)  # digital gain of the replay: x10
            elif len(chunks) == 2:
                src.retune(FREQ + 10e3)  # a signal at FREQ now sits at -10 kHz
    np.testing.assert_array_equal(chunks[0].samples, x[:8192])
    np.testing.assert_allclose(chunks[1].samples, 10 * x[8192:16384], rtol=1e-5)
    third = chunks[2]
    assert third.discontinuity and third.extra["reason"] == "retune" and third.info.center_freq == FREQ + 10e3
    n = np.arange(third.first_sample, third.end_sample)
    expected = 10 * x[third.first_sample : third.end_sample] * np.exp(-2j * np.pi * 10e3 * n / RATE)
    np.testing.assert_allclose(third.samples, expected, rtol=1e-4, atol=1e-5)
    assert chunks[0].info.center_freq == FREQ


def test_sigint_handler_stops_iteration(tmp_path):
    path = tmp_path / "i.cf32"
    _write_cf32(path, 10_000)
    args = f"driver=argosreplay,file={path},rate=100000,loop=1"  # realtime: never ends by itself
    with SoapySource(args, sample_rate=100e3, center_freq=FREQ, buffer_samples=2000, timeout_s=0.1) as src:
        previous = signal.signal(signal.SIGINT, lambda *_: src.stop())
        try:
            threading.Timer(0.15, os.kill, (os.getpid(), signal.SIGINT)).start()
            chunks = list(src)
        finally:
            signal.signal(signal.SIGINT, previous)
    assert chunks and src.stats.samples == sum(len(c.samples) for c in chunks)
    assert [c.first_sample for c in chunks] == list(range(0, 2000 * len(chunks), 2000))
    assert src.stats.overflows == 0


def test_devices_command_lists_the_replay_device(tmp_path, capsys):
    path = tmp_path / "dev.cf32"
    _write_cf32(path, 100)
    assert main(["devices", "--driver", "argosreplay", "--args", f"file={path}"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"driver=argosreplay,file={path},serial=")
    assert lines[0].endswith("  # Argos replay: dev.cf32")
    device_args = lines[0].split("  # ")[0]
    # without --driver only installed local drivers are asked; argosreplay is one of them
    assert main(["devices", "--args", f"file={path}"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == lines
    assert main(["devices"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"no SoapySDR devices found (asked drivers argosreplay; installed modules: {MODULE.name})"
    )
    # serial= filters
    serial = dict(kv.split("=", 1) for kv in device_args.split(","))["serial"]
    assert main(["devices", "-d", "argosreplay", "--args", f"file={path},serial={serial}"]) == 0
    assert capsys.readouterr().out.strip().splitlines() == lines
    assert main(["devices", "-d", "argosreplay", "--args", f"file={path},serial=0123"]) == 0
    assert capsys.readouterr().out.startswith("no SoapySDR devices found (asked drivers argosreplay;")
    # a listed device string opens as it is printed
    with _source(device_args + f",rate={RATE:.0f},realtime=0") as src:
        assert sum(len(c.samples) for c in src) == 100
    assert main(["devices", "--all", "--driver", "rtlsdr"]) == 2
    assert main(["devices", "--driver", "argosreplay", "--args", "bad"]) == 2


def test_raw_soapysdr_cs16_stream_end_and_timeout(tmp_path):
    """The module through the plain SoapySDR API: CS16 output, END_BURST, then timeouts."""
    import SoapySDR

    raw = np.random.default_rng(5).integers(-32768, 32768, 2 * 3000, dtype=np.int16)
    path = tmp_path / "r.cs16"
    raw.tofile(path)
    dev = SoapySDR.Device(f"driver=argosreplay,file={path},rate=1000,realtime=0,epoch_ns=1000000000")
    try:
        assert list(dev.getStreamFormats(SoapySDR.SOAPY_SDR_RX, 0)) == ["CF32", "CS16"]
        stream = dev.setupStream(SoapySDR.SOAPY_SDR_RX, SoapySDR.SOAPY_SDR_CS16, [0])
        assert dev.activateStream(stream) == 0
        buf = np.zeros(2 * 2000, np.int16)
        r1 = dev.readStream(stream, [buf], 2000, timeoutUs=10_000)
        assert r1.ret == 2000 and r1.flags == SoapySDR.SOAPY_SDR_HAS_TIME and r1.timeNs == 1_000_000_000
        np.testing.assert_array_equal(buf, raw[:4000])
        r2 = dev.readStream(stream, [buf], 2000, timeoutUs=10_000)
        assert r2.ret == 1000 and r2.flags & SoapySDR.SOAPY_SDR_END_BURST and r2.timeNs == 3_000_000_000
        np.testing.assert_array_equal(buf[:2000], raw[4000:])
        assert dev.readStream(stream, [buf], 2000, timeoutUs=10_000).ret == SoapySDR.SOAPY_SDR_TIMEOUT
        assert dev.getHardwareTime() == 4_000_000_000
        dev.deactivateStream(stream)
        dev.closeStream(stream)
    finally:
        dev.close()
