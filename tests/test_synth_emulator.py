"""Emulator: scheduling, calibration, chunk-invariant rendering, scenarios, capture files, CLI."""

from __future__ import annotations

import datetime as _dt
import json
import math

import numpy as np
import pytest

from argosneo import spec
from argosneo.cli import main
from argosneo.errors import ScenarioError
from argosneo.io.datatypes import decode
from argosneo.synth import (
    CrowdSpec,
    Emulator,
    Platform,
    Scenario,
    load_truth,
    synthesize,
    write_capture,
)


def _small_scenario(**kw) -> Scenario:
    base = dict(
        sample_rate=48e3, duration_s=3.0, seed=7,
        platforms=[
            Platform(0x1234567, n_blocks=3, first_tx_s=0.2, period_s=1.3, offset_hz=5e3, drift_hz_s=175,
                     ebn0_db=20),
            Platform(0x01D81, id_bits=20, n_blocks=1, data=0x0055AAFF, first_tx_s=0.9, period_s=1.0,
                     jitter_s=0.1, offset_hz=-9e3, drift_hz_s=-30, cn0_dbhz=45),
        ],
    )
    base.update(kw)
    return Scenario(**base)


# --- schedule and truth -------------------------------------------------------------------------


def test_schedule_truth_fields():
    sc = _small_scenario()
    bursts = Emulator(sc).schedule()
    assert [b.start_time_s for b in bursts] == sorted(b.start_time_s for b in bursts)
    assert {b.platform_index for b in bursts} == {0, 1}
    for b in bursts:
        p = sc.platforms[b.platform_index]
        assert b.start_time_s >= 0 and b.end_time_s <= sc.duration_s
        assert b.start_sample == math.ceil(b.start_sample_exact)
        assert 0 <= b.start_frac < 1
        assert b.start_sample_exact == pytest.approx(b.start_time_s * sc.sample_rate)
        assert b.end_sample == math.ceil(b.start_sample_exact + spec.a2_burst_duration_s(p.n_blocks) * sc.sample_rate)
        assert b.start_time_utc == sc.start_time + _dt.timedelta(seconds=b.start_time_s)
        assert b.frequency_hz == sc.center_freq + p.offset_hz
        assert b.cn0_dbhz == pytest.approx(b.ebn0_db + 10 * math.log10(400))
        assert "".join(map(str, b.bits[:24])) == format(0xFFFE2F, "024b")
        assert b.length_code == spec.A2_LENGTH_CODES[p.n_blocks - 1]
        assert int(b.platform_id_hex, 16) == p.platform_id
        assert b.message_bits.size == 20 + 32 * p.n_blocks
    fixed = [b for b in bursts if b.platform_index == 1]
    assert all(b.message_hex == "0x01D810055AAFF" for b in fixed)
    assert fixed[0].ebn0_db == pytest.approx(45 - 10 * math.log10(400))
    # first burst of a platform with first_tx_s is not jittered
    assert bursts[0].start_time_s == pytest.approx(0.2)
    # random data differs from burst to burst
    rand = [b.data_hex for b in bursts if b.platform_index == 0]
    assert len(set(rand)) == len(rand) > 1


def test_seed_reproducibility():
    a_x, a_t = synthesize(_small_scenario())
    b_x, b_t = synthesize(_small_scenario())
    np.testing.assert_array_equal(a_x, b_x)
    assert [t.to_dict() for t in a_t] == [t.to_dict() for t in b_t]
    c_x, c_t = synthesize(_small_scenario(seed=8))
    assert not np.array_equal(a_x, c_x)
    assert [t.phase0_rad for t in a_t] != [t.phase0_rad for t in c_t]
    assert a_x.dtype == np.complex64 and a_x.size == round(3.0 * 48e3)


# --- chunking -----------------------------------------------------------------------------------


def test_chunked_render_equals_one_shot():
    sc = _small_scenario(sample_rate=64e3, duration_s=4.0)
    emu = Emulator(sc)
    whole = emu.render(0, sc.total_samples)
    bursts = emu.schedule()
    for size in (1000, 4097, 65536, 100_003):
        starts = range(0, sc.total_samples, size)
        straddled = [b for b in bursts for s in starts if b.start_sample < s < b.end_sample]
        assert straddled, f"chunk size {size}: no burst straddles a boundary"
        parts = [emu.render(s, min(size, sc.total_samples - s)) for s in starts]
        np.testing.assert_array_equal(np.concatenate(parts), whole)
    # an arbitrary window inside a burst, away from any block alignment
    b = bursts[1]
    np.testing.assert_array_equal(emu.render(b.start_sample + 123, 4567),
                                  whole[b.start_sample + 123:b.start_sample + 123 + 4567])


def test_noise_is_white_with_the_scenario_variance():
    sc = Scenario(sample_rate=250e3, duration_s=2.0, noise_variance=2.5, seed=3)
    x = Emulator(sc).render(0, sc.total_samples)
    assert np.mean(np.abs(x) ** 2) == pytest.approx(2.5, rel=0.01)
    assert abs(np.mean(x.real * x.imag)) < 0.01
    r1 = np.mean(x[1:] * np.conj(x[:-1])) / 2.5
    assert abs(r1) < 0.01
    # blocks are independent draws (no repeated block)
    B = 1 << 16
    assert not np.allclose(x[:1000], x[B:B + 1000])


# --- level calibration --------------------------------------------------------------------------


@pytest.mark.parametrize("level", [{"ebn0_db": 12.0}, {"cn0_dbhz": 40.0}])
def test_ebn0_calibration_measured_back(level):
    fs = 50e3
    plat = Platform(0x7654321, n_blocks=8, first_tx_s=0.05, period_s=1.0, **level)
    sc = Scenario(sample_rate=fs, duration_s=20.0, seed=11, platforms=[plat])
    target = plat.level_ebn0_db
    emu = Emulator(sc)
    bursts = emu.schedule()
    assert len(bursts) >= 18
    mask = np.zeros(sc.total_samples, dtype=bool)
    for b in bursts:
        mask[b.start_sample:b.end_sample] = True

    # burst-only and noise-only renders, measured separately
    clean = emu.render(0, sc.total_samples, noise=False)
    noise = emu.noise(0, sc.total_samples)
    p_burst = np.mean(np.abs(clean[mask].astype(np.complex128)) ** 2)
    n0 = np.mean(np.abs(noise.astype(np.complex128)) ** 2) / fs
    ebn0 = 10 * math.log10((p_burst / 400.0) / n0)
    assert ebn0 == pytest.approx(target, abs=0.2)
    assert 10 * math.log10(p_burst / n0) == pytest.approx(target + 10 * math.log10(400), abs=0.2)

    # and from the capture itself: power inside bursts minus power outside
    x = emu.render(0, sc.total_samples).astype(np.complex128)
    p_in = np.mean(np.abs(x[mask]) ** 2)
    p_out = np.mean(np.abs(x[~mask]) ** 2)
    ebn0_cap = 10 * math.log10(((p_in - p_out) / 400.0) / (p_out / fs))
    assert ebn0_cap == pytest.approx(target, abs=0.2)


# --- crowds and collisions ----------------------------------------------------------------------


def _collisions(bursts, guard=3e3):
    hits = 0
    for i, a in enumerate(bursts):
        for b in bursts[i + 1:]:
            if b.start_time_s >= a.end_time_s:
                continue
            fa = sorted((a.offset_hz, a.offset_at(a.duration_s)))
            fb = sorted((b.offset_hz, b.offset_at(b.duration_s)))
            if fa[0] < fb[1] + guard and fb[0] < fa[1] + guard:
                hits += 1
    return hits


def test_crowd_is_reproducible_and_avoids_collisions():
    crowd = CrowdSpec(count=40, offset_range_hz=(-15e3, 15e3), ebn0_db=(8, 25), drift_hz_s=(-50, 50),
                      period_s=(2, 4), n_blocks=(1, 8), id_bits=(20, 28))
    free = Scenario(sample_rate=50e3, duration_s=30.0, seed=5, crowd=crowd)
    bursts_free = Emulator(free).schedule()
    assert _collisions(bursts_free) > 0            # the crowd is dense enough to collide
    avoid = Scenario(sample_rate=50e3, duration_s=30.0, seed=5, crowd=crowd, avoid_collisions=True)
    emu = Emulator(avoid)
    bursts = emu.schedule()
    assert _collisions(bursts) == 0
    assert len(bursts) > 100
    plats = avoid.all_platforms()
    assert len(plats) == 40 and all(p.from_crowd for p in plats)
    assert len({(p.platform_id, p.id_bits) for p in plats}) == 40
    assert {p.id_bits for p in plats} == {20, 28}
    assert all(8 <= p.ebn0_db <= 25 and -15e3 <= p.offset_hz <= 15e3 and 1 <= p.n_blocks <= 8 for p in plats)
    again = Scenario(sample_rate=50e3, duration_s=30.0, seed=5, crowd=crowd, avoid_collisions=True)
    assert [p.to_dict() for p in again.all_platforms()] == [p.to_dict() for p in plats]
    assert [b.to_dict() for b in Emulator(again).schedule()] == [b.to_dict() for b in bursts]


# --- YAML scenarios -----------------------------------------------------------------------------

GOOD_YAML = """
sample_rate: 250e3
center_freq: 401.65e6
duration_s: 4
start_time: 2026-11-25T12:00:00Z
seed: 3
noise: unit
datatype: cu8
avoid_collisions: true
platforms:
  - platform_id: 0x1234567
    n_blocks: 2
    first_tx_s: 0.5
    offset_hz: 12e3
    drift_hz_s: 175
    ebn0_db: 20
  - platform_id: 0x01D81
    id_bits: 20
    data: "0x0055AAFF"
    first_tx_s: 2.0
    offset_hz: -40e3
    cn0_dbhz: 50
crowd:
  count: 3
  offset_range_hz: [-100e3, 100e3]
  ebn0_db: [8, 25]
  period_s: [45, 90]
  first_tx_s: [0, 3]
"""


def test_yaml_scenario_loads_and_round_trips(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_YAML)
    sc = Scenario.from_yaml(path)
    assert sc.sample_rate == 250e3 and sc.datatype == "cu8" and sc.seed == 3
    assert sc.start_time == _dt.datetime(2026, 11, 25, 12, tzinfo=_dt.timezone.utc)
    assert sc.platforms[1].data == 0x0055AAFF and sc.platforms[1].id_bits == 20
    assert len(sc.all_platforms()) == 5
    back = tmp_path / "back.yaml"
    back.write_text(sc.to_yaml())
    sc2 = Scenario.from_yaml(back)
    assert sc2 == sc
    assert [b.to_dict() for b in Emulator(sc2).schedule()] == [b.to_dict() for b in Emulator(sc).schedule()]


@pytest.mark.parametrize("edit, key", [
    (("    n_blocks: 2", "    n_blocks: 9"), "platforms[0].n_blocks"),
    (("sample_rate: 250e3", "sampel_rate: 250e3"), "sampel_rate"),
    (("  ebn0_db: [8, 25]", "  ebn0_db: [25, 8]"), "crowd.ebn0_db"),
    (("noise: unit", "noise: -1"), "noise"),
    (("    id_bits: 20", "    id_bits: 24"), "platforms[1].id_bits"),
    (("    offset_hz: -40e3", "    offset_hz: -140e3"), "platforms[1].offset_hz"),
    (("  - platform_id: 0x1234567", "  - platform_id: 0x12345678"), "platforms[0].platform_id"),
    (('    data: "0x0055AAFF"', '    data: "0x10055AAFF"'), "platforms[1].data"),
    (("  count: 3", "  count: many"), "crowd.count"),
    (("datatype: cu8", "datatype: cs32"), "datatype"),
    (("    drift_hz_s: 175", "    drift: 175"), "platforms[0].drift"),
    (("start_time: 2026-11-25T12:00:00Z", "start_time: noon"), "start_time"),
])
def test_yaml_errors_name_the_key(tmp_path, edit, key):
    old, new = edit
    assert old in GOOD_YAML
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD_YAML.replace(old, new))
    with pytest.raises(ScenarioError) as info:
        Scenario.from_yaml(path)
    msg = str(info.value)
    assert f"{key}:" in msg and str(path) in msg and "\n" not in msg


def test_yaml_file_problems(tmp_path):
    with pytest.raises(ScenarioError, match="no such scenario file"):
        Scenario.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("platforms: [\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        Scenario.from_yaml(bad)


# --- capture files ------------------------------------------------------------------------------


@pytest.mark.parametrize("datatype, lsb", [("cu8", 1 / 127.5), ("ci16_le", 1 / 32768), ("cf32_le", 0.0)])
def test_write_capture_files_match_render(tmp_path, datatype, lsb):
    sc = _small_scenario(datatype=datatype, duration_s=2.5)
    base = tmp_path / "cap"
    res = write_capture(sc, base, progress=False, chunk_samples=10_000)
    meta = json.loads(res.meta_path.read_text())
    assert meta["global"]["core:datatype"] == datatype
    assert meta["global"]["core:sample_rate"] == sc.sample_rate
    assert meta["captures"][0]["core:frequency"] == sc.center_freq
    assert meta["captures"][0]["core:datetime"].startswith("2026-11-25T12:00:00")
    anns = meta["annotations"]
    assert len(anns) == len(res.bursts) > 0
    for a, b in zip(anns, res.bursts):
        assert a["core:sample_start"] == b.start_sample and a["core:sample_count"] == b.sample_count
        assert a["core:label"] == f"A2 {b.platform_id_hex}"
        assert a["core:freq_lower_edge"] <= b.frequency_hz - 1.6e3
        assert a["core:freq_upper_edge"] >= b.frequency_hz + 1.6e3
        assert f"N={b.n_blocks}" in a["core:comment"] and "Eb/N0" in a["core:comment"]

    doc, truths = load_truth(base)
    assert [t.to_dict() for t in truths] == [b.to_dict() for b in res.bursts]
    assert doc["capture"]["sample_scale"] == res.sample_scale
    assert doc["scenario"]["seed"] == sc.seed

    raw = decode(res.data_path.read_bytes(), datatype)
    assert raw.size == sc.total_samples
    expected = Emulator(sc).render(0, sc.total_samples) * np.float32(res.sample_scale)
    if datatype == "cf32_le":
        assert res.sample_scale == 1.0
        np.testing.assert_array_equal(raw, expected)
    else:
        # integer formats: quantisation only, no clipping to speak of
        d = raw - expected
        err = np.maximum(np.abs(d.real), np.abs(d.imag))
        assert np.mean(err <= 0.5 * lsb * 1.001) > 0.9999
        comp_rms = np.sqrt(np.mean(np.abs(raw) ** 2) / 2)
        assert 0.05 < comp_rms < 0.25


def test_open_capture_reads_what_was_written(tmp_path):
    reader = pytest.importorskip("argosneo.io.reader")
    sc = _small_scenario(datatype="ci16_le", duration_s=2.0)
    res = write_capture(sc, tmp_path / "cap", progress=False)
    with reader.open_capture(res.meta_path) as cap:
        assert cap.info.sample_rate == sc.sample_rate
        assert cap.info.center_freq == sc.center_freq
        assert cap.info.total_samples == sc.total_samples
        assert cap.info.start_time == sc.start_time
        assert len(cap.annotations) == len(res.bursts)


# --- CLI ----------------------------------------------------------------------------------------


def test_cli_synth_end_to_end(tmp_path, capsys):
    base = tmp_path / "out"
    rc = main(["synth", str(base), "--rate", "100e3", "--duration", "3", "--platforms", "4",
               "--offset-range", "-40e3", "40e3", "--ebn0", "10,20", "--drift", "-50,50",
               "--n-blocks", "1,4", "--id-bits", "mixed", "--seed", "2", "--datatype", "cu8",
               "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0
    meta = json.loads((tmp_path / "out.sigmf-meta").read_text())
    assert (tmp_path / "out.sigmf-data").stat().st_size == 300_000 * 2
    doc, truths = load_truth(tmp_path / "out.truth.json")
    assert len({t.platform_index for t in truths}) == 4          # every platform transmits
    assert len(meta["annotations"]) == len(truths)
    assert all(-40e3 <= t.offset_hz <= 40e3 and 10 <= t.ebn0_db <= 20 and 1 <= t.n_blocks <= 4 for t in truths)
    assert f"{len(truths)} bursts from 4 platforms" in out
    for t in truths:
        assert t.platform_id_hex in out


def test_cli_synth_with_scenario_file(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(GOOD_YAML)
    rc = main(["synth", str(tmp_path / "y"), "--scenario", str(path), "--duration", "3", "--datatype",
               "ci16_le", "--no-progress"])
    assert rc == 0
    doc, truths = load_truth(tmp_path / "y")
    assert doc["capture"]["datatype"] == "ci16_le" and doc["scenario"]["duration_s"] == 3.0
    assert {t.platform_id_hex for t in truths} >= {"0x1234567", "0x01D81"}
    assert "0x1234567" in capsys.readouterr().out


def test_cli_synth_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_YAML.replace("    n_blocks: 2", "    n_blocks: 0"))
    assert main(["synth", str(tmp_path / "z"), "--scenario", str(bad), "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("argosneo: error:") and "platforms[0].n_blocks" in err and "\n" not in err
    assert main(["synth", str(tmp_path / "z"), "--scenario", str(bad), "--platforms", "3"]) == 2
    assert "--platforms" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "z"), "--rate", "48e3", "--offset-range", "-30e3", "30e3"]) == 2
    assert "--offset-range" in capsys.readouterr().err
    assert not (tmp_path / "z.sigmf-data").exists()


# --- the committed demo capture -----------------------------------------------------------------


def _repo():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def test_demo_capture_is_what_its_scenario_produces():
    repo = _repo()
    sc = Scenario.from_yaml(repo / "scenarios" / "demo.yaml")
    emu = Emulator(sc)
    doc, truths = load_truth(repo / "captures" / "demo.truth.json")
    assert [t.to_dict() for t in truths] == [b.to_dict() for b in emu.schedule()]
    assert 5 <= len(truths) <= 8 and {t.id_bits for t in truths} == {20, 28}
    raw = decode((repo / "captures" / "demo.sigmf-data").read_bytes(), sc.datatype)
    expected = emu.render(0, sc.total_samples) * np.float32(emu.sample_scale)
    # cos/sin may differ in the last float bit between CPUs, which can flip a rounding:
    # allow rare 1-LSB differences, nothing more
    clipped = np.clip(expected.view(np.float32), -1.0, 1.0).view(np.complex64)
    d = raw - clipped
    err = np.maximum(np.abs(d.real), np.abs(d.imag)) * 127.5
    assert raw.size == sc.total_samples
    assert np.max(err) <= 1.5 and np.mean(err > 0.5001) < 1e-4, (
        "captures/demo.* is stale: argosneo synth captures/demo --scenario scenarios/demo.yaml")


def test_demo_capture_decodes_to_its_truth_with_a_genie_receiver():
    """Coherent chip integration using the true carrier: every bit of every burst comes out right
    (the weakest burst is at Eb/N0 12 dB, BER ~1e-6), through cu8 quantisation and the reader."""
    reader = pytest.importorskip("argosneo.io.reader")
    repo = _repo()
    doc, truths = load_truth(repo / "captures" / "demo.truth.json")
    with reader.open_capture(repo / "captures" / "demo.sigmf-meta") as cap:
        fs = cap.info.sample_rate
        for b in truths:
            x = cap.read(b.start_sample, b.sample_count).astype(np.complex128)
            t = (np.arange(b.start_sample, b.end_sample) - b.start_sample_exact) / fs
            y = x * np.exp(-1j * (b.phase0_rad + 2 * np.pi * (b.offset_hz + 0.5 * b.drift_hz_s * t) * t))
            chip = np.floor((t - 0.160) * 800.0).astype(int)
            n_chips = 2 * b.bits.size
            ok = (chip >= 0) & (chip < n_chips)
            sums = np.bincount(chip[ok], weights=y.imag[ok], minlength=n_chips)
            first, second = sums[0::2], sums[1::2]
            bits = ((first - second) * spec.A2_BIT_ONE_FIRST_CHIP_SIGN > 0).astype(np.uint8)
            np.testing.assert_array_equal(bits, b.bits, err_msg=f"burst {b.index} ({b.platform_id_hex})")
            # the 160 ms of pure carrier has the full burst amplitude (file units = physical x scale)
            carrier = y[(t > 0.01) & (t < 0.15)]
            assert np.mean(carrier.real) == pytest.approx(b.amplitude * doc["capture"]["sample_scale"], rel=0.05)
