"""Capture I/O: datatypes, SigMF writer/reader, archives, raw files, IQ WAV, and bad inputs."""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import tarfile
import warnings
from pathlib import Path

import numpy as np
import pytest

from argosneo.errors import CaptureError
from argosneo.io.datatypes import (
    bytes_per_sample,
    datatype_from_extension,
    decode,
    encode,
    normalize_datatype,
)
from argosneo.io.reader import CaptureWarning, open_capture, parse_datetime
from argosneo.io.wav import center_freq_from_name, parse_wav, start_time_from_name
from argosneo.io.writer import SigMFWriter, make_annotation, write_annotations

REAL_WAV = Path("/work/shared/real-captures/a2_packet_32k.wav")
LSB = {"cf32_le": 0.0, "ci16_le": 1 / 32768, "ci8": 1 / 128, "cu8": 1 / 127.5}
START = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.timezone.utc)


def _signal(n: int, seed: int = 1, amp: float = 0.7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-amp, amp, n) + 1j * rng.uniform(-amp, amp, n)
    return x.astype(np.complex64)


def _write_sigmf(base, x, datatype="cf32_le", **kw):
    kw.setdefault("sample_rate", 48000.0)
    kw.setdefault("center_freq", 401.65e6)
    kw.setdefault("start_time", START)
    with SigMFWriter(base, datatype=datatype, **kw) as w:
        # several writes of uneven sizes: the file must be the concatenation
        for part in np.array_split(x, 3):
            w.write(part)
    return w


def _edit_meta(base: Path, fn) -> None:
    meta_path = base.with_name(base.name + ".sigmf-meta")
    meta = json.loads(meta_path.read_text())
    fn(meta)
    meta_path.write_text(json.dumps(meta))


def _wav_bytes(payload: bytes, *, tag: int, bits: int, rate: int, channels: int = 2,
               extensible: bool = False, extra_chunks: bytes = b"", data_size: int | None = None) -> bytes:
    block = channels * bits // 8
    if extensible:
        guid_tail = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        fmt += struct.pack("<HHI", 22, bits, 0x3) + struct.pack("<H", tag) + guid_tail
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + extra_chunks
    body += b"data" + struct.pack("<I", len(payload) if data_size is None else data_size) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- datatypes --------------------------------------------------------------------------------


def test_decode_known_values():
    assert np.allclose(decode(np.array([0, 255, 127, 128], np.uint8), "cu8"),
                       [-1 + 1j, -0.5 / 127.5 + 0.5j / 127.5])
    assert np.array_equal(decode(np.array([-32768, 16384], "<i2").tobytes(), "ci16_le"), [-1 + 0.5j])
    assert np.array_equal(decode(np.array([-128, 64], "i1"), "cs8"), [-1 + 0.5j])
    x = _signal(10)
    assert np.array_equal(decode(x.tobytes(), "cf32_le"), x)
    assert decode(b"", "cu8").dtype == np.complex64


def test_decode_returns_a_copy():
    raw = bytearray(np.array([1, 2, 3, 4], "<i2").tobytes())
    out = decode(raw, "ci16_le")
    raw[:] = bytes(len(raw))
    assert out[0] == (1 + 2j) / 32768


def test_encode_rounds_and_clips():
    x = np.array([2 + -2j, 0.5 - 0.5j, 1 / 65536 + 0j], np.complex64)
    assert encode(x, "ci16_le").tolist() == [32767, -32768, 16384, -16384, 0, 0]
    assert encode(x, "ci8").tolist() == [127, -128, 64, -64, 0, 0]
    assert encode(x, "cu8").tolist() == [255, 0, 191, 64, 128, 128]
    assert encode(x, "cf32_le").dtype == np.dtype("<c8")


def test_datatype_names_and_extensions():
    assert datatype_from_extension("a/b.CF32") == "cf32_le"
    assert datatype_from_extension("x.cfile") == "cf32_le"
    assert datatype_from_extension("x.fc32") == "cf32_le"
    assert datatype_from_extension("x.cs16") == "ci16_le"
    assert datatype_from_extension("x.cs8") == "ci8"
    assert datatype_from_extension("x.cu8") == "cu8"
    assert datatype_from_extension("x.bin") is None
    assert normalize_datatype("cs8") == "ci8"
    assert [bytes_per_sample(d) for d in ("cf32_le", "ci16_le", "ci8", "cu8")] == [8, 4, 2, 2]


@pytest.mark.parametrize("bad", ["ri16_le", "cf32_be", "ci32_le", "nonsense"])
def test_unsupported_datatype_names_it_and_the_supported_ones(bad):
    with pytest.raises(CaptureError, match=rf"{bad}.*supported: cf32_le, cf64_le, ci16_le, ci8, cu8"):
        bytes_per_sample(bad)


def test_encode_refuses_read_only_format():
    with pytest.raises(CaptureError, match="cannot write sample datatype 'cf64_le'"):
        encode(np.zeros(2, np.complex64), "cf64_le")


# -- SigMF write / read ------------------------------------------------------------------------


@pytest.mark.parametrize("datatype", ["cf32_le", "ci16_le", "ci8", "cu8"])
def test_sigmf_round_trip(tmp_path, datatype):
    x = _signal(5001)
    base = tmp_path / f"rec_{datatype}"
    with SigMFWriter(base, sample_rate=2.4e6, center_freq=401.65e6, datatype=datatype, start_time=START,
                     description="round trip", author="tester", extra_global={"scenario": "unit"}) as w:
        w.write(x[:1234])
        w.write(x[1234:])
        w.add_annotation(3000, 100, label="late", comment="second")
        w.add_annotation(10, 20, label="A2", freq_lower_edge=401.64e6, freq_upper_edge=401.66e6,
                         extra={"snr_db": np.float32(21.5), "bits": np.array([1, 0, 1])})
    assert w.samples_written == x.size
    assert (tmp_path / f"rec_{datatype}.sigmf-data").stat().st_size == x.size * bytes_per_sample(datatype)
    with open_capture(base) as r:
        y = r.read(0, x.size)
        info = r.info
        assert info.sample_rate == 2.4e6
        assert info.center_freq == 401.65e6
        assert info.start_time == START
        assert info.total_samples == x.size
        assert info.datatype == datatype
        assert info.description == "round trip"
        assert [a["core:label"] for a in r.annotations] == ["A2", "late"]
        assert r.annotations[0]["argosneo:snr_db"] == 21.5
        assert r.annotations[0]["argosneo:bits"] == [1, 0, 1]
        assert r.annotations[0]["core:freq_upper_edge"] == 401.66e6
        assert r.metadata["global"]["argosneo:scenario"] == "unit"
        assert r.metadata["global"]["core:recorder"] == "argosneo"
        assert r.metadata["global"]["core:author"] == "tester"
        assert r.metadata["captures"][0]["core:datetime"] == "2024-05-06T07:08:09.123456Z"
    assert y.dtype == np.complex64
    err = np.max(np.abs(np.concatenate([(y - x).real, (y - x).imag])))
    if datatype == "cf32_le":
        assert err == 0
    else:
        assert err <= LSB[datatype] * 0.5 + 1e-7


def test_sigmf_output_is_read_by_the_sigmf_package(tmp_path):
    import sigmf

    x = _signal(300)
    _write_sigmf(tmp_path / "rec", x, datatype="cf32_le")
    f = sigmf.sigmffile.fromfile(str(tmp_path / "rec.sigmf-meta"))  # verifies core:sha512 too
    assert np.array_equal(f.read_samples(0, 300), x)
    assert f.get_global_field("core:sample_rate") == 48000.0
    assert f.get_captures()[0]["core:frequency"] == 401.65e6


def test_writer_default_start_time_is_now_utc(tmp_path):
    before = dt.datetime.now(dt.timezone.utc)
    with SigMFWriter(tmp_path / "now", sample_rate=1000) as w:
        w.write(np.zeros(4, np.complex64))
    with open_capture(tmp_path / "now.sigmf-data") as r:
        assert before - dt.timedelta(seconds=1) <= r.info.start_time <= dt.datetime.now(dt.timezone.utc)
        assert r.info.center_freq is None


def test_writer_rejects_bad_arguments(tmp_path):
    with pytest.raises(CaptureError, match="sample rate must be positive"):
        SigMFWriter(tmp_path / "a", sample_rate=0)
    with pytest.raises(CaptureError, match="cannot write sample datatype 'cf64_le'"):
        SigMFWriter(tmp_path / "a", sample_rate=1, datatype="cf64_le")
    with pytest.raises(CaptureError, match="cannot create"):
        SigMFWriter(tmp_path / "missing_dir" / "a", sample_rate=1)
    with SigMFWriter(tmp_path / "a", sample_rate=1) as w:
        with pytest.raises(CaptureError, match="non-finite sample at index 5"):
            w.write(np.array([0, 0, 0, 0, 0, np.nan], np.complex64))
        with pytest.raises(CaptureError, match="reversed"):
            w.add_annotation(0, 1, freq_lower_edge=2e6, freq_upper_edge=1e6)
        with pytest.raises(CaptureError, match="non-negative"):
            w.add_annotation(-1, 1)
        with pytest.raises(CaptureError, match="argosneo:snr_db is nan; SigMF"):
            w.add_annotation(0, 1, extra={"snr_db": np.float32(np.nan)})
        with pytest.raises(CaptureError, match="argosneo:x is inf"):
            w.add_annotation(0, 1, extra={"x": np.array([1.0, np.inf])})
    with pytest.raises(CaptureError, match="write after close"):
        w.write(np.zeros(1, np.complex64))


@pytest.mark.parametrize("given", ["rec", "rec.sigmf-meta", "rec.sigmf-data"])
def test_sigmf_opens_by_any_of_its_names(tmp_path, given):
    x = _signal(50)
    _write_sigmf(tmp_path / "rec", x)
    with open_capture(tmp_path / given) as r:
        assert r.kind == "sigmf"
        assert [p.name for p in r.files] == ["rec.sigmf-meta", "rec.sigmf-data"]
        assert np.array_equal(r.read(0, 50), x)


def test_overrides_beat_the_metadata(tmp_path):
    _write_sigmf(tmp_path / "rec", _signal(10))
    with open_capture(tmp_path / "rec", samp_rate=96000, center_freq=1e6,
                      start_time="2020-01-01T00:00:00+02:00") as r:
        assert (r.info.sample_rate, r.info.center_freq) == (96000, 1e6)
        assert r.info.start_time == dt.datetime(2019, 12, 31, 22, tzinfo=dt.timezone.utc)


# -- chunked reading ---------------------------------------------------------------------------


@pytest.fixture
def cu8_capture(tmp_path):
    x = _signal(10007, seed=3)
    path = tmp_path / "cap.cu8"
    path.write_bytes(encode(x, "cu8").tobytes())
    return path


@pytest.mark.parametrize("chunk", [1, 7, 1000, 4096, 65536])
def test_chunks_match_one_read(cu8_capture, chunk):
    with open_capture(cu8_capture, samp_rate=2.4e6) as r:
        whole = r.read(0, r.total_samples)
        if chunk == 1:
            stop = 300  # keep the one-sample case quick
            parts = list(r.chunks(chunk, stop=stop))
        else:
            stop = r.total_samples
            parts = list(r.chunks(chunk))
    assert [p.first_sample for p in parts] == list(range(0, stop, chunk))
    assert all(p.samples.dtype == np.complex64 for p in parts)
    assert all(p.info.total_samples == 10007 for p in parts)
    assert np.array_equal(np.concatenate([p.samples for p in parts]), whole[:stop])


@pytest.mark.parametrize("start,stop", [(0, 1), (5, 5), (13, 9000), (9999, None), (10007, None), (100, 10**9)])
def test_chunks_start_stop(cu8_capture, start, stop):
    with open_capture(cu8_capture, samp_rate=2.4e6) as r:
        whole = r.read(0, r.total_samples)
        parts = list(r.chunks(333, start=start, stop=stop))
    end = min(10007 if stop is None else stop, 10007)
    got = np.concatenate([p.samples for p in parts]) if parts else np.zeros(0, np.complex64)
    assert np.array_equal(got, whole[start:end])
    if parts:
        assert parts[0].first_sample == start
        assert parts[-1].end_sample == end


def test_read_clips_at_end_and_rejects_bad_ranges(cu8_capture):
    with open_capture(cu8_capture, samp_rate=1e6) as r:
        assert r.read(10000, 100).size == 7
        assert r.read(10007, 5).size == 0
        with pytest.raises(CaptureError, match="outside the capture"):
            r.read(10008, 1)
        with pytest.raises(CaptureError, match="outside the capture"):
            list(r.chunks(10, start=-1))
        with pytest.raises(CaptureError, match="chunk size must be positive"):
            list(r.chunks(0))
        with pytest.raises(CaptureError, match="before start"):
            list(r.chunks(10, start=50, stop=10))
    with pytest.raises(CaptureError, match="closed"):
        r.read(0, 1)


def test_chunks_are_independent_of_each_other(cu8_capture):
    with open_capture(cu8_capture, samp_rate=1e6) as r:
        a, b = r.chunks(1000), r.chunks(1000, start=5000)
        first_a, first_b = next(a), next(b)
        second_a = next(a)
        assert np.array_equal(second_a.samples, r.read(1000, 1000))
        assert np.array_equal(first_b.samples, r.read(5000, 1000))
        assert np.array_equal(first_a.samples, r.read(0, 1000))


# -- raw files -------------------------------------------------------------------------------


@pytest.mark.parametrize("ext,datatype", [(".cf32", "cf32_le"), (".cfile", "cf32_le"), (".fc32", "cf32_le"),
                                          (".cs16", "ci16_le"), (".cs8", "ci8"), (".cu8", "cu8")])
def test_raw_files_by_extension(tmp_path, ext, datatype):
    x = _signal(777)
    path = tmp_path / f"cap_401650000Hz{ext}"
    path.write_bytes(encode(x, datatype).tobytes())
    with open_capture(path, samp_rate=250000) as r:
        assert r.kind == "raw"
        assert r.info.datatype == datatype
        assert r.info.total_samples == 777
        assert r.info.center_freq == 401.65e6  # from the file name
        assert r.annotations == []
        y = r.read(0, 777)
    assert np.max(np.abs(y - x)) <= LSB[datatype] + 1e-7


def test_raw_datatype_override_and_center_freq(tmp_path):
    x = _signal(64)
    path = tmp_path / "capture.bin"
    path.write_bytes(encode(x, "ci16_le").tobytes())
    with open_capture(path, samp_rate=1e6, datatype="cs16", center_freq=401.6e6) as r:
        assert r.info.datatype == "ci16_le" and r.info.center_freq == 401.6e6
        assert np.max(np.abs(r.read(0, 64) - x)) <= 1 / 32768
    with pytest.raises(CaptureError, match=r"unknown capture type '\.bin'.*--datatype"):
        open_capture(path, samp_rate=1e6)


def test_raw_without_sample_rate(tmp_path):
    path = tmp_path / "a.cu8"
    path.write_bytes(bytes(10))
    with pytest.raises(CaptureError, match="does not record its sample rate; give --samp-rate"):
        open_capture(path)


def test_raw_tail_bytes_warn_and_whole_samples_are_read(tmp_path):
    x = _signal(100)
    path = tmp_path / "a.cf32"
    path.write_bytes(x.tobytes() + b"\x01\x02\x03")
    with pytest.warns(CaptureWarning, match="ignoring the last 3 byte"):
        r = open_capture(path, samp_rate=1e6)
    with r:
        assert r.info.total_samples == 100
        assert np.array_equal(np.concatenate([c.samples for c in r.chunks(33)]), x)
        assert len(r.notes) == 1


# -- NaN / Inf ---------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("imag", [False, True])
def test_non_finite_samples_are_reported_with_their_index(tmp_path, bad_value, imag):
    x = _signal(20000)
    flat = x.view(np.float32)
    flat[2 * 15001 + int(imag)] = bad_value
    path = tmp_path / "a.cf32"
    path.write_bytes(x.tobytes())
    with open_capture(path, samp_rate=1e6) as r:
        chunks = r.chunks(4096)
        for _ in range(3):  # samples 0..12287 are fine
            next(chunks)
        with pytest.raises(CaptureError, match="sample 15001 is NaN or Inf"):
            next(chunks)
        assert r.read(0, 15001).size == 15001
        with pytest.raises(CaptureError, match="sample 15001 is NaN or Inf"):
            r.read(15000, 10)


def test_non_finite_in_sigmf_cf32(tmp_path):
    x = _signal(100)
    _write_sigmf(tmp_path / "rec", x)
    data = tmp_path / "rec.sigmf-data"
    arr = np.fromfile(data, np.complex64)
    arr[0] = np.complex64(complex(0, np.inf))
    arr.tofile(data)
    with open_capture(tmp_path / "rec") as r, pytest.raises(CaptureError, match="sample 0 is NaN or Inf"):
        list(r.chunks())


# -- SigMF archive ---------------------------------------------------------------------------


def _make_archive(tmp_path, x, datatype="ci16_le") -> Path:
    import sigmf

    _write_sigmf(tmp_path / "src", x, datatype=datatype)
    f = sigmf.sigmffile.fromfile(str(tmp_path / "src.sigmf-meta"))
    f.tofile(str(tmp_path / "arch.sigmf"))
    return tmp_path / "arch.sigmf"


def test_sigmf_archive(tmp_path):
    x = _signal(4321)
    arch = _make_archive(tmp_path, x)
    with tarfile.open(arch) as tar:
        assert any(m.name.endswith(".sigmf-data") for m in tar.getmembers())
    with open_capture(tmp_path / "src") as direct:
        expected = direct.read(0, direct.total_samples)
    for given in (arch, tmp_path / "arch"):
        with open_capture(given) as r:
            assert r.kind == "sigmf-archive"
            assert r.info.datatype == "ci16_le"
            assert r.info.sample_rate == 48000.0
            assert r.info.center_freq == 401.65e6
            assert r.info.start_time == START
            assert r.info.total_samples == 4321
            got = np.concatenate([c.samples for c in r.chunks(1000)])
            assert np.array_equal(got, expected)
            assert np.array_equal(r.read(4000, 500), expected[4000:])


def test_archive_errors(tmp_path):
    bad = tmp_path / "bad.sigmf"
    bad.write_bytes(b"this is not a tar file" * 50)
    with pytest.raises(CaptureError, match="not a readable"):
        open_capture(bad)
    empty = tmp_path / "empty.sigmf"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(CaptureError, match="exactly one .sigmf-meta file, found 0"):
        open_capture(empty)
    gz = tmp_path / "x.sigmf.gz"
    gz.write_bytes(b"x")
    with pytest.raises(CaptureError, match="compressed SigMF archives cannot be streamed"):
        open_capture(gz)


# -- WAV ---------------------------------------------------------------------------------------


def test_wav_int16(tmp_path):
    x = _signal(3000)
    payload = encode(x, "ci16_le").tobytes()
    path = tmp_path / "SDRSharp_20170830_073907Z_401650000Hz_IQ.wav"
    path.write_bytes(_wav_bytes(payload, tag=1, bits=16, rate=32000))
    with open_capture(path) as r:
        assert r.kind == "wav"
        assert r.info.datatype == "ci16_le"
        assert r.info.sample_rate == 32000
        assert r.info.center_freq == 401.65e6
        assert r.info.start_time == dt.datetime(2017, 8, 30, 7, 39, 7, tzinfo=dt.timezone.utc)
        assert r.info.total_samples == 3000
        assert np.max(np.abs(r.read(0, 3000) - x)) <= 1 / 32768
    with open_capture(path, center_freq=401.7e6, samp_rate=64000) as r:
        assert (r.info.center_freq, r.info.sample_rate) == (401.7e6, 64000)


@pytest.mark.parametrize("extensible", [False, True])
def test_wav_float32(tmp_path, extensible):
    x = _signal(2048)
    aux = b"LIST" + struct.pack("<I", 5) + b"INFOx" + b"\x00"  # odd-sized chunk with its pad byte
    path = tmp_path / "baseband_401605000Hz_12-00-00_01-01-2024.wav"
    path.write_bytes(_wav_bytes(x.tobytes(), tag=3, bits=32, rate=37500, extensible=extensible, extra_chunks=aux))
    with open_capture(path) as r:
        assert r.info.datatype == "cf32_le"
        assert r.info.sample_rate == 37500
        assert r.info.center_freq == 401.605e6
        assert r.info.start_time is None
        assert np.array_equal(np.concatenate([c.samples for c in r.chunks(500)]), x)


def test_wav_8bit_and_auxi_chunk(tmp_path):
    x = _signal(100)
    auxi_body = bytes(32) + struct.pack("<I", 401650000) + bytes(20)
    auxi = b"auxi" + struct.pack("<I", len(auxi_body)) + auxi_body
    path = tmp_path / "rec.wav"
    path.write_bytes(_wav_bytes(encode(x, "cu8").tobytes(), tag=1, bits=8, rate=2400000, extra_chunks=auxi))
    with open_capture(path) as r:
        assert r.info.datatype == "cu8"
        assert r.info.center_freq == 401.65e6
        assert np.max(np.abs(r.read(0, 100) - x)) <= 1 / 127.5


def test_wav_truncated_and_unset_sizes_warn(tmp_path):
    x = _signal(100)
    path = tmp_path / "t.wav"
    path.write_bytes(_wav_bytes(x.tobytes(), tag=3, bits=32, rate=1000, data_size=8 * 200))
    with pytest.warns(CaptureWarning, match="truncated"):
        r = open_capture(path)
    assert r.info.total_samples == 100
    r.close()
    path.write_bytes(_wav_bytes(x.tobytes(), tag=3, bits=32, rate=1000, data_size=0))
    with pytest.warns(CaptureWarning, match="not set in the header"):
        r = open_capture(path)
    assert r.info.total_samples == 100
    assert np.array_equal(r.read(0, 100), x)
    r.close()


@pytest.mark.parametrize("kwargs,message", [
    (dict(tag=1, bits=16, channels=1), "WAV has 1 channel.*needs exactly 2"),
    (dict(tag=1, bits=24), "integer PCM 24-bit is not supported"),
    (dict(tag=6, bits=8), "format tag 0x0006"),
])
def test_wav_unsupported(tmp_path, kwargs, message):
    path = tmp_path / "bad.wav"
    path.write_bytes(_wav_bytes(bytes(48), rate=8000, **kwargs))
    with pytest.raises(CaptureError, match=message):
        open_capture(path)


def test_wav_not_riff(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"ID3 not a wave file at all")
    with pytest.raises(CaptureError, match="not a WAV file"):
        open_capture(path)
    with pytest.raises(CaptureError, match="--datatype ci8 does not apply"):
        p2 = tmp_path / "ok.wav"
        p2.write_bytes(_wav_bytes(bytes(16), tag=1, bits=16, rate=8000))
        open_capture(p2, datatype="ci8")


def test_file_name_parsing():
    assert center_freq_from_name("x/SDRSharp_20170830_073907Z_401650000Hz_IQ.wav") == 401650000
    assert center_freq_from_name("rec_401.65MHz.cu8") == 401.65e6
    assert center_freq_from_name("a2_packet_32k.wav") is None
    assert start_time_from_name("a2_packet_32k.wav") is None
    assert parse_datetime("2024-01-02T03:04:05.123456789Z") == dt.datetime(2024, 1, 2, 3, 4, 5, 123456,
                                                                          tzinfo=dt.timezone.utc)
    assert parse_datetime("2024-01-02T03:04:05").tzinfo is dt.timezone.utc


@pytest.mark.skipif(not REAL_WAV.exists(), reason="real capture not available")
def test_real_a2_wav():
    layout = parse_wav(REAL_WAV)
    assert layout.datatype == "ci16_le"
    with open_capture(REAL_WAV) as r:
        assert r.info.sample_rate == 32000
        assert r.duration == pytest.approx(0.83, abs=0.01)
        x = r.read(0, r.total_samples)
    assert np.all(np.isfinite(x)) and 0.01 < np.max(np.abs(x)) <= 1.5


# -- bad inputs ------------------------------------------------------------------------------


def test_missing_and_directory(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        open_capture(tmp_path / "nothing.cu8", samp_rate=1)
    with pytest.raises(CaptureError, match="no such file"):
        open_capture(tmp_path / "nothing")
    with pytest.raises(CaptureError, match="is a directory"):
        open_capture(tmp_path, samp_rate=1, datatype="cu8")
    _write_sigmf(tmp_path / "rec", _signal(4))
    (tmp_path / "rec.sigmf-data").unlink()
    with pytest.raises(CaptureError, match="data file rec.sigmf-data is missing"):
        open_capture(tmp_path / "rec.sigmf-meta")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable(tmp_path):
    path = tmp_path / "a.cu8"
    path.write_bytes(bytes(4))
    path.chmod(0)
    with pytest.raises(CaptureError, match="permission denied"):
        open_capture(path, samp_rate=1)


def test_metadata_without_sample_rate(tmp_path):
    _write_sigmf(tmp_path / "rec", _signal(4))
    _edit_meta(tmp_path / "rec", lambda m: m["global"].pop("core:sample_rate"))
    with pytest.raises(CaptureError, match="no core:sample_rate; give the sample rate"):
        open_capture(tmp_path / "rec")
    with open_capture(tmp_path / "rec", samp_rate=5000) as r:
        assert r.info.sample_rate == 5000


@pytest.mark.parametrize("datatype,message", [
    ("ri16_le", r"core:datatype 'ri16_le' \(real-valued samples\) is not supported"),
    ("cf32_be", r"core:datatype 'cf32_be' \(samples\) is not supported"),
])
def test_unreadable_datatype_in_metadata(tmp_path, datatype, message):
    _write_sigmf(tmp_path / "rec", _signal(4))
    _edit_meta(tmp_path / "rec", lambda m: m["global"].update({"core:datatype": datatype}))
    with pytest.raises(CaptureError, match=message):
        open_capture(tmp_path / "rec")


def test_multichannel_rejected(tmp_path):
    _write_sigmf(tmp_path / "rec", _signal(4))
    _edit_meta(tmp_path / "rec", lambda m: m["global"].update({"core:num_channels": 2}))
    with pytest.raises(CaptureError, match="2-channel recordings are not supported"):
        open_capture(tmp_path / "rec")


def test_datatype_size_mismatch(tmp_path):
    # 3 ci16 samples = 12 bytes: not a whole number of 8-byte cf32 samples
    _write_sigmf(tmp_path / "rec", _signal(3), datatype="ci16_le")
    _edit_meta(tmp_path / "rec", lambda m: m["global"].update({"core:datatype": "cf32_le"}))
    with pytest.raises(CaptureError, match=r"12 bytes of sample data is not a whole number of cf32_le samples "
                                           r"\(8 bytes each\); the datatype looks wrong \(the size fits ci16_le"):
        open_capture(tmp_path / "rec")
    (tmp_path / "rec.sigmf-data").write_bytes(bytes(13))
    with pytest.raises(CaptureError, match="13 bytes of sample data is not a whole number"):
        open_capture(tmp_path / "rec")


def test_invalid_metadata(tmp_path):
    _write_sigmf(tmp_path / "rec", _signal(4))
    meta = tmp_path / "rec.sigmf-meta"
    meta.write_text("{not json")
    with pytest.raises(CaptureError, match="not valid JSON"):
        open_capture(tmp_path / "rec")
    meta.write_text(json.dumps({"global": {"core:sample_rate": 10}, "captures": [], "annotations": []}))
    with pytest.raises(CaptureError, match="invalid SigMF metadata.*core:datatype"):
        open_capture(tmp_path / "rec")
    meta.write_text(json.dumps({"global": {"core:datatype": "cf32_le", "core:version": "1.0.0",
                                           "core:sample_rate": "fast"}, "captures": [], "annotations": []}))
    with pytest.raises(CaptureError, match="invalid SigMF metadata at global/core:sample_rate"):
        open_capture(tmp_path / "rec")


def test_header_and_trailing_bytes(tmp_path):
    x = _signal(10)
    (tmp_path / "rec.sigmf-data").write_bytes(b"HDR!" + x.tobytes() + b"TAIL12")
    meta = {"global": {"core:datatype": "cf32_le", "core:version": "1.2.0", "core:sample_rate": 10.0,
                       "core:trailing_bytes": 6},
            "captures": [{"core:sample_start": 0, "core:header_bytes": 4}], "annotations": []}
    (tmp_path / "rec.sigmf-meta").write_text(json.dumps(meta))
    with open_capture(tmp_path / "rec") as r:
        assert r.info.total_samples == 10
        assert np.array_equal(r.read(0, 10), x)


# -- write_annotations -------------------------------------------------------------------------


def test_write_annotations_adds_and_replaces_without_touching_data(tmp_path):
    import sigmf

    x = _signal(1000)
    _write_sigmf(tmp_path / "rec", x)
    data = tmp_path / "rec.sigmf-data"
    before = (data.read_bytes(), data.stat().st_mtime_ns)
    anns = [make_annotation(500, 10, label="b", extra={"crc_ok": True}),
            make_annotation(100, 10, label="a", freq_lower_edge=401.6e6, freq_upper_edge=401.7e6)]
    assert write_annotations(tmp_path / "rec.sigmf-meta", anns) == 2
    assert write_annotations(tmp_path / "rec", anns[:1]) == 3
    with open_capture(tmp_path / "rec") as r:
        assert [a["core:sample_start"] for a in r.annotations] == [100, 500, 500]
        assert r.annotations[1]["argosneo:crc_ok"] is True
        assert np.array_equal(r.read(0, 1000), x)
    assert write_annotations(tmp_path / "rec", anns, replace=True) == 2
    assert (data.read_bytes(), data.stat().st_mtime_ns) == before
    f = sigmf.sigmffile.fromfile(str(tmp_path / "rec.sigmf-meta"))  # checksum still matches
    assert len(f.get_annotations()) == 2
    assert not list(tmp_path.glob("*.tmp"))


def test_write_annotations_errors(tmp_path):
    with pytest.raises(CaptureError, match="no such file"):
        write_annotations(tmp_path / "none", [])
    _write_sigmf(tmp_path / "rec", _signal(4))
    with pytest.raises(CaptureError, match="without core:sample_start"):
        write_annotations(tmp_path / "rec", [{"core:label": "x"}])
    with pytest.raises(CaptureError, match="cannot annotate a .sigmf archive"):
        write_annotations(tmp_path / "a.sigmf", [])


def test_opening_issues_no_unexpected_warnings(tmp_path):
    _write_sigmf(tmp_path / "rec", _signal(8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with open_capture(tmp_path / "rec") as r:
            list(r.chunks(3))


def test_sigmf_metadata_gets_the_umask_permissions(tmp_path):
    import os
    import stat

    from argosneo.io.writer import SigMFWriter

    old = os.umask(0o022)
    try:
        with SigMFWriter(tmp_path / "perm", sample_rate=48000.0) as w:
            w.write(np.zeros(16, np.complex64))
    finally:
        os.umask(old)
    meta = tmp_path / "perm.sigmf-meta"
    assert stat.S_IMODE(meta.stat().st_mode) == 0o644
    assert stat.S_IMODE(meta.stat().st_mode) == stat.S_IMODE((tmp_path / "perm.sigmf-data").stat().st_mode)
