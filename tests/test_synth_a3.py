"""PTT-A3 / PTT-ZE in the emulator: over-air bits (CNES ZE known answer), waveform, levels
(Eb per information bit), scenario validation, truth file, annotations, CLI ``--format``."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from argosneo import spec_a3 as s3
from argosneo.coding.a3 import a3_frame_bits, decode_a3_symbols, ze_frame_bits
from argosneo.errors import ScenarioError
from argosneo.synth import Emulator, Platform, Scenario, load_truth, write_capture
from argosneo.synth.a3 import a3_baseband

#: research notes KAV-2: the CNES AS3-SP-516-274 ZE example, ID 0x1234567 (102 over-air bits)
KAV2_HEX, KAV2_TAIL = "AFBBBAFC0F4C29B4BB3AA09CC", "00"


def _kav2() -> np.ndarray:
    v = int(KAV2_HEX, 16)
    head = np.array([(v >> s) & 1 for s in range(4 * len(KAV2_HEX) - 1, -1, -1)], np.uint8)
    return np.concatenate([head, np.array([int(c) for c in KAV2_TAIL], np.uint8)])


def _one(platform: Platform, **kw):
    sc = Scenario(duration_s=kw.pop("duration_s", 1.5), seed=kw.pop("seed", 1), platforms=[platform], **kw)
    emu = Emulator(sc)
    return emu, emu.schedule()[0]


def test_ze_over_air_bits_are_the_cnes_example_and_what_is_rendered():
    emu, b = _one(Platform(0x1234567, format="ZE", first_tx_s=0.1, ebn0_db=20), add_noise=False)
    assert b.bits.size == 102
    np.testing.assert_array_equal(b.bits, _kav2())
    np.testing.assert_array_equal(b.bits, ze_frame_bits(0x1234567))
    assert (b.format, b.n_blocks, b.length_code, b.id_bits, b.data_hex) == ("ZE", 0, None, 28, "")
    assert b.platform_id_hex == "0x1234567"
    assert b.duration_s == pytest.approx(0.082 + 51 / 400)
    # the rendered samples are exactly this stream's waveform at the truth's frequency and phase
    n0, n1 = b.start_sample, b.end_sample
    x = emu.render(n0, n1 - n0).astype(np.complex128)
    t = (np.arange(n0, n1) - b.start_sample_exact) / emu.scenario.sample_rate
    ref = b.amplitude * a3_baseband(_kav2(), t) * np.exp(
        1j * (b.phase0_rad + 2 * np.pi * (b.offset_hz + 0.5 * b.drift_hz_s * t) * t))
    np.testing.assert_allclose(x, ref, atol=1e-5 * b.amplitude)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_a3_over_air_bits_and_datagram(n):
    data = (0x55AAFF << (32 * (n - 1))) | 0x1234
    _, b = _one(Platform(0x0ABCDEF, format="A3", n_blocks=n, data=data, first_tx_s=0.05), duration_s=1.2)
    np.testing.assert_array_equal(b.bits, a3_frame_bits(0x0ABCDEF, data, n))
    assert b.length_code == s3.A3_LENGTH_CODES[n - 1] and b.n_blocks == n
    assert b.data_hex == format(data, f"0{(24 + 32 * (n - 1)) // 4}X")       # receiver form: no 0x
    assert b.message_bits.size == s3.a3_info_bits(n) and not b.message_bits[-s3.A3_TAIL_BITS[n - 1]:].any()
    assert b.duration_s == pytest.approx(s3.a3_burst_duration_s(s3.a3_info_bits(n)))
    # the noiseless over-air stream decodes back to the same datagram through the real decoder
    body = 2.0 * b.bits[30:].astype(float) - 1.0
    dec = decode_a3_symbols(body[0::2], body[1::2])
    assert (dec.format, dec.n_blocks, dec.platform_id) == ("A3", n, 0x0ABCDEF)
    assert np.array_equal(dec.datagram, b.message_bits)


def test_levels_use_the_information_bit_rate():
    """Eb = power / 400 bit/s for A3/ZE, as for A2; measured back from the rendered burst."""
    sc = Scenario(duration_s=2.0, seed=4, add_noise=False, noise_variance=0.5, sample_rate=100e3, platforms=[
        Platform(0x1111111, format="A3", n_blocks=2, first_tx_s=0.1, ebn0_db=12.0),
        Platform(0x2222222, format="ZE", first_tx_s=0.6, offset_hz=20e3, cn0_dbhz=40.0),
        Platform(0x3333333, first_tx_s=0.9, offset_hz=-20e3, ebn0_db=12.0)])
    emu = Emulator(sc)
    by = {b.format: b for b in emu.schedule()}
    assert by["A3"].amplitude == pytest.approx(by["A2"].amplitude)
    assert by["A3"].cn0_dbhz == pytest.approx(12.0 + 10 * math.log10(400.0))
    assert by["ZE"].ebn0_db == pytest.approx(40.0 - 10 * math.log10(400.0))
    b = by["A3"]
    n0 = sc.noise_variance / sc.sample_rate
    # the carrier preamble has exactly the nominal power (amplitude², the level's reference)
    pre = emu.render(b.start_sample + 10, int(0.07 * sc.sample_rate))
    assert 10 * math.log10(np.mean(np.abs(pre) ** 2) / 400.0 / n0) == pytest.approx(12.0, abs=0.01)
    # over the whole burst the linear I/Q transitions cost ~0.14 dB of mean power
    x = emu.render(b.start_sample + 10, b.sample_count - 20)
    assert 10 * math.log10(np.mean(np.abs(x) ** 2) / 400.0 / n0) == pytest.approx(12.0 - 0.14, abs=0.05)


def test_validation_names_the_key():
    assert Platform(1, format="ze").n_blocks == 0 and Platform(1, format="ZE", n_blocks=0).format == "ZE"
    cases = [
        (dict(format="A3"), "platform_id: missing (every A3 platform needs an ID)"),
        (dict(platform_id=1, format="A3", n_blocks=9), "n_blocks: must be 1..8"),
        (dict(platform_id=1, format="A3", id_bits=20), "id_bits: A3 IDs are 28 bits"),
        (dict(platform_id=1 << 28, format="ZE"), "platform_id: must be 0..268435455"),
        (dict(platform_id=1, format="ZE", n_blocks=3), "n_blocks: ZE has no length"),
        (dict(platform_id=1, format="ZE", data=5), "data: not used by format ZE"),
        (dict(platform_id=1, format="A3", vld_blocks="random"), "vld_blocks: only for format VLD"),
        (dict(platform_id=1, format="A3", n_blocks=1, data=1 << 24), "data: "),
    ]
    for kw, msg in cases:
        with pytest.raises(ScenarioError, match="^" + msg.replace("(", r"\(").replace(")", r"\)")):
            Platform(**kw)
    with pytest.raises(ScenarioError, match=r"^platforms\[0\]\.platform_id: missing \(every ZE"):
        Scenario.from_dict({"platforms": [{"format": "ZE"}]})


def test_yaml_round_trip_crowd_and_truth_file(tmp_path):
    y = tmp_path / "s.yaml"
    y.write_text("duration_s: 4\nseed: 6\nplatforms:\n"
                 "  - {platform_id: 0x1234567, format: ZE, first_tx_s: 0.1}\n"
                 "  - {platform_id: 0x7654321, format: A3, n_blocks: 2, data: 0x01020304050607, "
                 "first_tx_s: 0.2, offset_hz: 20e3}\n"
                 "  - {platform_id: 0xABCDE, id_bits: 20, first_tx_s: 0.3, offset_hz: -20e3}\n"
                 "crowd: {count: 12, formats: [A2, VLD, A3, ZE], first_tx_s: [0, 2.5], n_blocks: [1, 3]}\n")
    sc = Scenario.from_yaml(y)
    again = Scenario.from_dict(json.loads(json.dumps(sc.to_dict())))
    assert again.to_dict() == sc.to_dict()
    crowd = Emulator(sc).platforms[3:]
    assert {p.format for p in crowd} == {"A2", "VLD", "A3", "ZE"}
    assert all(p.id_bits == 28 and p.n_blocks in (1, 2, 3) for p in crowd if p.format == "A3")
    res = write_capture(sc, tmp_path / "c", progress=False)
    doc, truths = load_truth(res.truth_path)
    assert [t.to_dict() for t in truths] == [b.to_dict() for b in res.bursts]
    assert all(np.array_equal(t.bits, b.bits) for t, b in zip(truths, res.bursts))
    by_pi = {b["platform_index"]: b for b in doc["bursts"]}
    ze, a3 = by_pi[0], by_pi[1]
    assert (ze["format"], ze["platform_id"], ze["data_hex"], ze["length_code"]) == ("ZE", "0x1234567", "", None)
    assert (a3["format"], a3["platform_id"], a3["data_hex"]) == ("A3", "0x7654321", "01020304050607")
    assert "information bit rate" in doc["capture"]["calibration"]
    ann = json.loads(res.meta_path.read_text())["annotations"]
    labels = {a["core:label"] for a in ann}
    assert {"ZE 0x1234567", "A3 0x7654321", "A2 0xABCDE"} <= labels
    n_a3 = sum(b["format"] in ("A3", "ZE") for b in doc["bursts"])
    assert sum(lab.split()[0] in ("A3", "ZE") for lab in (a["core:label"] for a in ann)) == n_a3 >= 4


@pytest.mark.parametrize("fmt, expected", [("A3", {"A3"}), ("ZE", {"ZE"}), ("all", {"A2", "VLD", "A3", "ZE"})])
def test_cli_format(tmp_path, fmt, expected, capsys):
    from argosneo.cli import main

    rc = main(["synth", str(tmp_path / "x"), "--format", fmt, "--platforms", "12",
               "--duration", "3", "--no-progress", "--seed", "2"])
    assert rc == 0
    doc = json.loads((tmp_path / "x.truth.json").read_text())
    assert {b["format"] for b in doc["bursts"]} == expected
    assert len(doc["platforms"]) == 12 and {p.get("format", "A2") for p in doc["platforms"]} == expected
    assert all(b["id_bits"] == 28 for b in doc["bursts"] if b["format"] in ("A3", "ZE"))
    out = capsys.readouterr().out
    assert "bursts from" in out and ("A3     N=" in out or fmt == "ZE")
