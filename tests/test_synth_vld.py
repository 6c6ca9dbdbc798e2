"""A4 VLD in the emulator: frame bits (CNES known answer), waveform, scenario validation, truth,
CLI ``--format``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from argosneo import spec
from argosneo.errors import ScenarioError
from argosneo.synth import Emulator, Platform, Scenario, load_truth, write_capture
from argosneo.synth import a2, vld


def _hex_bits(h: str, tail: str) -> np.ndarray:
    return np.concatenate([a2.int_to_bits(int(h, 16), 4 * len(h)), np.array([int(c) for c in tail], np.uint8)])


@pytest.mark.parametrize("n, h, tail", [
    (1, "AC53531C651CECA2F", "011"),
    (3, "AC5353DC651CECA2F6E328E76517B719473B28BD", "1"),
])
def test_known_answer_frames_are_the_cnes_example(n, h, tail):
    bits = vld.vld_frame_bits(vld.vld_known_answer_blocks(n), n)
    np.testing.assert_array_equal(bits, _hex_bits(h, tail))
    assert bits.size == vld.vld_bit_count(n) == (71 if n == 1 else 161)
    assert vld.hex_and_tail(bits) == (h, tail)
    assert vld.vld_burst_duration(n) == pytest.approx(0.16 + bits.size / 200.0)


def test_frame_bits_reject_bad_input():
    with pytest.raises(ScenarioError, match="1, 3"):
        vld.vld_frame_bits(np.zeros(90, np.uint8), 2)
    with pytest.raises(ScenarioError, match="needs 45 coded bits"):
        vld.vld_frame_bits(np.zeros(44, np.uint8), 1)


def test_vld_waveform_is_the_a2_waveform_at_half_the_chip_rate():
    """400 chips/s biphase-L after a 160 ms carrier; an A2 render of the same bits at 800 chips/s
    is unchanged by the generalisation (same function, defaults)."""
    bits = vld.vld_frame_bits(vld.vld_known_answer_blocks(1), 1)
    fs = 8000.0
    out = np.zeros(int(0.6 * fs), np.complex128)
    vld.render_vld_burst(out, 0, sample_rate=fs, start_sample=0.0, bits=bits, transition_fraction=0.0)
    t = np.arange(out.size) / fs
    phi = np.angle(out)
    chip = np.floor((t - 0.16) * 400.0).astype(int)
    mid = (chip >= 0) & (chip < 2 * bits.size) & (np.abs(((t - 0.16) * 400.0) % 1 - 0.5) < 0.3)
    expected = a2.a2_chip_levels(bits)[chip[mid]] * spec.A2_PHASE_DEVIATION_RAD
    np.testing.assert_allclose(phi[mid], expected, atol=1e-9)
    assert np.all(phi[t < 0.159] == 0) and np.abs(out[t < 0.5149]).min() == pytest.approx(1.0)
    assert np.all(out[t >= 0.5151] == 0)
    ref = np.zeros(4000, np.complex128)
    a2.render_a2_burst(ref, 0, sample_rate=fs, start_sample=3.3, bits=bits)
    same = np.zeros(4000, np.complex128)
    a2.render_a2_burst(same, 0, sample_rate=fs, start_sample=3.3, bits=bits,
                       chip_rate=spec.A2_CHIP_RATE, carrier_s=spec.A2_CARRIER_DURATION_S)
    assert np.array_equal(ref, same)


def test_platform_vld_validation_names_the_key():
    p = Platform(format="vld", n_blocks=3, vld_blocks="known_answer")
    assert (p.format, p.platform_id, p.burst_duration_s) == ("VLD", 0x1234567, pytest.approx(0.965))
    assert Platform(format="VLD").vld_blocks == "random"
    cases = [
        (dict(format="A4"), "format: must be one of A2, VLD, A3, ZE"),
        (dict(format="VLD", n_blocks=2), "n_blocks: VLD must be 1 (short) or 3 (long)"),
        (dict(format="VLD", vld_blocks="zeros"), "vld_blocks: must be one of"),
        (dict(format="VLD", data=5), "data: not used by format VLD"),
        (dict(format="VLD", vld_blocks="known_answer", platform_id=7), "platform_id: the VLD known-answer"),
        (dict(platform_id=1, vld_blocks="random"), "vld_blocks: only for format VLD"),
        (dict(), "platform_id: missing"),
    ]
    for kw, msg in cases:
        with pytest.raises(ScenarioError, match=msg.replace("(", r"\(").replace(")", r"\)")):
            Platform(**kw)
    with pytest.raises(ScenarioError, match=r"^platforms\[1\]\.n_blocks: VLD"):
        Scenario.from_dict({"platforms": [{"platform_id": 1}, {"format": "VLD", "n_blocks": 8}]})


def test_yaml_round_trip_and_levels(tmp_path):
    y = tmp_path / "s.yaml"
    y.write_text("duration_s: 3\nseed: 2\nplatforms:\n"
                 "  - {platform_id: 0x1234567, first_tx_s: 0.1, ebn0_db: 15}\n"
                 "  - {format: VLD, n_blocks: 1, vld_blocks: known_answer, first_tx_s: 0.2, offset_hz: 20e3, ebn0_db: 15}\n"
                 "  - {format: VLD, n_blocks: 3, first_tx_s: 1.0, offset_hz: -20e3, cn0_dbhz: 40}\n"
                 "crowd: {count: 4, formats: [A2, VLD], first_tx_s: [0, 1.5]}\n")
    sc = Scenario.from_yaml(y)
    again = Scenario.from_dict(json.loads(json.dumps(sc.to_dict())))
    assert again.to_dict() == sc.to_dict()
    emu = Emulator(sc)
    bursts = emu.schedule()
    by_pi = {b.platform_index: b for b in bursts}
    a2b, short, long_ = by_pi[0], by_pi[1], by_pi[2]
    # same Eb/N0, Eb per over-air bit: the 200 bit/s VLD burst has half the A2 burst's power
    assert short.amplitude ** 2 == pytest.approx(a2b.amplitude ** 2 / 2)
    assert short.cn0_dbhz == pytest.approx(15 + 10 * np.log10(200))
    assert long_.ebn0_db == pytest.approx(40 - 10 * np.log10(200))
    assert short.platform_id_hex == "0x1234567" and long_.platform_id is None
    assert long_.length_code == 0b11 and short.length_code == 0b00 and len(long_.blocks_hex) == 3
    crowd = emu.platforms[3:]
    assert {p.format for p in crowd} == {"A2", "VLD"}
    assert all(p.vld_blocks == "random" and p.n_blocks in (1, 3) for p in crowd if p.format == "VLD")
    # random coded blocks differ between bursts and platforms
    assert long_.blocks_hex[0] != long_.blocks_hex[1]


def test_truth_file_round_trip_and_annotations(tmp_path):
    sc = Scenario(duration_s=2.0, seed=3, platforms=[
        Platform(0xABCDE, id_bits=20, first_tx_s=0.1),
        Platform(format="VLD", n_blocks=3, first_tx_s=0.3, offset_hz=30e3),
        Platform(format="VLD", n_blocks=1, vld_blocks="known_answer", first_tx_s=0.2, offset_hz=-30e3)])
    res = write_capture(sc, tmp_path / "c", progress=False)
    doc, truths = load_truth(res.truth_path)
    assert [t.to_dict() for t in truths] == [b.to_dict() for b in res.bursts]
    vd = [b for b in doc["bursts"] if b["format"] == "VLD"]
    assert {b["length_code"] for b in vd} == {"00", "11"} and all(b["data_hex"] is None for b in vd)
    ka = next(b for b in vd if b["n_blocks"] == 1)
    assert (ka["over_air_hex"], ka["over_air_tail_bits"], ka["blocks_hex"]) == (
        "AC53531C651CECA2F", "011", ["0E328E76517B"])
    labels = {a["core:label"] for a in json.loads(res.meta_path.read_text())["annotations"]}
    assert "VLD short AC53531C651CECA2F+011" in labels and "A2 0xABCDE" in labels
    assert any(lab.startswith("VLD long ") for lab in labels)


@pytest.mark.parametrize("fmt, expected", [("VLD", {"VLD"}), ("mixed", {"A2", "VLD"}), ("A2", {"A2"})])
def test_cli_format(tmp_path, fmt, expected):
    from argosneo.cli import main

    rc = main(["synth", str(tmp_path / "x"), "--format", fmt, "--platforms", "8",
               "--duration", "3", "--no-progress", "--seed", "5"])
    assert rc == 0
    doc = json.loads((tmp_path / "x.truth.json").read_text())
    assert {b["format"] for b in doc["bursts"]} == expected
    assert len({b["platform_index"] for b in doc["bursts"]}) == 8


def test_cli_format_with_scenario_is_refused(tmp_path, capsys):
    from argosneo.cli import main

    y = tmp_path / "s.yaml"
    y.write_text("platforms: []\n")
    assert main(["synth", str(tmp_path / "x"), "--scenario", str(y), "--format", "VLD"]) == 2
    assert "--format: cannot be combined with --scenario" in capsys.readouterr().err
