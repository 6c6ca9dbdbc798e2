"""The live GUI with a real Qt (offscreen) on the demo capture: the flowgraph runtime decoding into
the table, markers on the waterfall, controls reaching the running flowgraph, exports; and the
Qt-free worker."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pyqtgraph")
pytest.importorskip("pytestqt")

from argosneo.io.reader import open_capture
from argosneo.receiver import A2Receiver
from gui import app as gapp
from gui.worker import DropQueue, ReceiverWorker, SpectrumAnalyzer

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "captures" / "demo.sigmf-meta"
TRUTH = json.loads((REPO / "captures" / "demo.truth.json").read_text())["bursts"]
RATE = 250e3
DECODE_TIMEOUT_MS = 30000


def _reference_records(id_bits):
    """What the receiver itself decodes from the demo capture (no GUI, no thread)."""
    with open_capture(DEMO) as reader:
        rx = A2Receiver(reader.info, id_bits=id_bits)
        out = [b.to_record() for c in reader.chunks(65536) for b in rx.process(c)]
        out += [b.to_record() for b in rx.flush()]
    return sorted(out, key=lambda r: r["sample_start"])


@pytest.fixture
def window(qtbot):
    gapp.make_app()
    worker = gapp.open_replay(DEMO, speed=0, id_bits=28)
    win = gapp.MainWindow(worker, title="demo")
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()
    assert not worker.running


def _wait_finished(qtbot, win, rows=len(TRUTH)):
    qtbot.waitUntil(lambda: win.worker.status()["state"] == "finished" and win.table.rowCount() >= rows
                    and win.worker.bursts.empty(), timeout=DECODE_TIMEOUT_MS)
    win.poll()
    win.update_status()


def test_demo_bursts_reach_the_table_with_the_right_ids(qtbot, window):
    _wait_finished(qtbot, window)
    ids = window.table.column_values("platform ID")
    assert len(ids) == len(TRUTH)
    assert ids == [r["platform_id"] for r in _reference_records(28)]
    # the 28-bit platforms read exactly; the 20-bit ones need the other configuration
    truth28 = [t["platform_id"] for t in TRUTH if t["id_bits"] == 28]
    assert [i for i in ids if i in truth28] == truth28

    # the configuration chosen after the end applies from the next run (a seek restarts the flowgraph)
    assert window.worker.configs == ["base", "sensitive", "strict", "20-bit IDs"]
    window.config_combo.setCurrentText("20-bit IDs")
    assert window.worker.wait_applied()
    window.worker.seek(0.0)
    assert window.worker.wait_applied()
    qtbot.waitUntil(lambda: window.worker.status()["state"] == "finished" and window.worker.status()["runs"] == 2
                    and window.table.column_values("platform ID") != ids, timeout=DECODE_TIMEOUT_MS)
    window.poll()
    assert window.worker.status()["configuration"] == "20-bit IDs"
    assert window.worker.receiver.id_bits == 20
    ids20 = window.table.column_values("platform ID")
    assert len(ids20) == len(TRUTH)     # decoded again: rows replaced, not duplicated
    for truth, got in zip(TRUTH, ids20):
        if truth["id_bits"] == 20:
            assert got == truth["platform_id"]
    status = window.status_labels["bursts"].text()
    assert "decoded" in status


def test_markers_sit_at_the_bursts_frequencies_and_times(qtbot, window):
    _wait_finished(qtbot, window)
    pos = window.waterfall.marker_positions()
    assert len(pos) == len(TRUTH)
    for key, rec in enumerate(window.records):
        x, y = pos[key]
        assert x == pytest.approx(rec["frequency_hz"] / 1e6, abs=1e-9)
        assert y == pytest.approx(rec["sample_start"] / RATE, abs=1e-9)
    truth_mhz = sorted(t["frequency_hz"] / 1e6 for t in TRUTH)
    assert sorted(x for x, _ in pos.values()) == pytest.approx(truth_mhz, abs=100e-6)  # 100 Hz
    # the waterfall's frequency axis is absolute: centre ± fs/2
    lo, hi = window.waterfall.frequency_span_mhz()
    assert (lo + hi) / 2 == pytest.approx(401.65, abs=RATE / 2048 / 1e6)
    assert hi - lo == pytest.approx(RATE / 1e6)
    # the strongest average-spectrum bin lies on one of the bursts
    line = window.spectrum.last_line
    peak_mhz = line.frequencies_hz[int(np.argmax(line.peak_db))] / 1e6
    assert min(abs(peak_mhz - f) for f in truth_mhz) < 2e-3
    # clicking a marker shows that burst's record
    window.waterfall.burstClicked.emit(3)
    assert json.loads(window.details.toPlainText())["platform_id"] == window.records[3]["platform_id"]
    assert [i.row() for i in window.table.selectionModel().selectedRows()] == [3]


def test_threshold_and_retune_controls_reach_the_receiver(qtbot, window):
    _wait_finished(qtbot, window)
    window.pfa_spin.setValue(-9.0)
    assert window.worker.wait_applied()
    assert window.worker.status()["pfa"] == pytest.approx(1e-9)
    assert "dB over the floor" in window.threshold_label.text()

    # replay retune: a digital shift (a frequency_shift block after the source; the flowgraph
    # restarts where it was); the bursts keep their absolute frequencies
    before = {r["platform_id"]: r["frequency_hz"] for r in window.records}
    window.center_spin.setValue(401.660)
    assert window.worker.wait_applied()
    assert window.worker.status()["center_freq"] == pytest.approx(401.66e6)
    epoch = window.worker.status()["epoch"]
    window.worker.seek(0.0)
    qtbot.waitUntil(lambda: window.worker.status()["epoch"] > epoch
                    and window.worker.status()["state"] == "finished", timeout=DECODE_TIMEOUT_MS)
    window.poll()
    rt = window.worker.runtime
    assert rt.status()["blocks"]["gui_tune"]["shift_hz"] == pytest.approx(-10e3)
    assert window.worker.receiver.info.center_freq == pytest.approx(401.66e6)
    # the threshold survives the restart: set in the new flowgraph at its first sample
    assert window.worker.receiver.pfa == pytest.approx(1e-9)
    assert window.worker.receiver.detector.pfa == pytest.approx(1e-9)
    assert [(c["sample"], c["command"], c["ok"]) for c in rt.changes] == [
        (0, {"cmd": "set", "blocks": {"a2": {"pfa": 1e-9}}}, True)]
    lo, hi = window.waterfall.frequency_span_mhz()
    assert (lo + hi) / 2 == pytest.approx(401.66, abs=RATE / 2048 / 1e6)
    assert len(window.records) == len(TRUTH)
    for rec in window.records:
        assert rec["frequency_hz"] == pytest.approx(before[rec["platform_id"]], abs=20.0)
        assert rec["offset_hz"] == pytest.approx(rec["frequency_hz"] - 401.66e6, abs=1e-3)

    # out of reach of a replay: refused with a message, the receiver is untouched
    window.center_spin.setValue(401.9)
    assert "error" in window.statusBar().currentMessage()
    assert window.worker.receiver.info.center_freq == pytest.approx(401.66e6)


def test_exports_write_files(qtbot, window, tmp_path):
    _wait_finished(qtbot, window)
    n = window.save_bursts(tmp_path / "bursts.jsonl")
    lines = n.read_text().splitlines()
    assert [json.loads(s)["platform_id"] for s in lines] == window.table.column_values("platform ID")

    window.save_spectrum(tmp_path / "spec.csv")
    rows = (tmp_path / "spec.csv").read_text().splitlines()
    assert rows[0] == "frequency_hz,live_dbfs,average_dbfs,peak_hold_dbfs"
    assert len(rows) == 1 + window.worker.analyzer.nfft
    freqs = np.array([float(r.split(",")[0]) for r in rows[1:]])
    assert freqs[0] == pytest.approx(401.65e6 - RATE / 2)
    assert np.all(np.diff(freqs) > 0)

    window.save_spectrum(tmp_path / "spec.npz")
    with np.load(tmp_path / "spec.npz") as z:
        assert z["waterfall_db"].shape[1] == window.worker.analyzer.nfft
        assert np.isfinite(z["waterfall_db"]).sum(axis=1).astype(bool).sum() == 76   # 5 s at 15.26 lines/s
        assert np.allclose(z["frequency_hz"], freqs, rtol=0, atol=1e-3)

    png = window.save_screenshot(tmp_path / "shot.png")
    from PySide6 import QtGui

    img = QtGui.QImage(str(png))
    assert not img.isNull() and img.width() == window.width()

    with pytest.raises(Exception, match="csv or .npz"):
        window.save_spectrum(tmp_path / "spec.txt")


def test_live_device_window_sets_gain_and_frequency(qtbot):
    pytest.importorskip("SoapySDR")
    import soapy_env

    if soapy_env.configure().get("build_error") or not soapy_env.MODULE.exists():
        pytest.skip("argosreplay SoapySDR module not built")
    gapp.make_app()
    worker = gapp.open_device(f"driver=argosreplay,file={DEMO.with_suffix('.sigmf-data')}",
                              sample_rate=RATE, center_freq=401.65e6, gain=10.0, id_bits=28,
                              # few reads: the Debian SoapySDR bindings (SWIG 4.1.0, Python 3.11) drop a
                              # reference to None on every readStream, which aborts the interpreter at
                              # exit once enough have gone
                              buffer_samples=1 << 17)
    win = gapp.MainWindow(worker, title="live")
    qtbot.addWidget(win)
    try:
        assert not win.speed_combo.isEnabled() and win.gain_spin.isEnabled()
        assert worker.status()["flowgraph"] == "a2_live"
        # the device paces the stream (real time): change gain and frequency while it runs,
        # after the third burst (at 2.0 s)
        ref = _reference_records(28)
        qtbot.waitUntil(lambda: worker.status()["position_s"] > 2.2, timeout=DECODE_TIMEOUT_MS)
        win.gain_spin.setValue(25.0)
        win.center_spin.setValue(401.655)
        assert worker.wait_applied()
        rt = worker.runtime
        changes = [c for c in rt.changes if c["ok"]]
        assert [c["command"]["blocks"] for c in changes] == [{"src": {"gain": 25.0}},
                                                              {"src": {"center_freq": 401.655e6}}]
        at = changes[1]["sample"]
        assert 2.2 * RATE <= at == changes[0]["sample"] < 5 * RATE       # one chunk boundary
        src = rt.status()["blocks"]["src"]
        assert src["gain"] == pytest.approx(25.0) and src["center_freq"] == pytest.approx(401.655e6)
        _wait_finished(qtbot, win, rows=0)
        assert rt.status()["blocks"]["a2"]["retunes"] == 1, rt.status()["blocks"]
        assert worker.receiver.info.center_freq == pytest.approx(401.655e6)   # rebuilt at the new centre
        got = [r for r in win.records if r["sample_start"] < at - 0.6 * RATE]
        assert [r["platform_id"] for r in got] == [r["platform_id"] for r in ref if r["sample_start"] < at - 0.6 * RATE]
        assert len(got) >= 3
        assert "samples lost" in win.status_labels["drops"].text()
    finally:
        win.close()
    assert not worker.running


def test_controls_reconfigure_the_running_flowgraph(qtbot):
    gapp.make_app()
    worker = gapp.open_replay(DEMO, speed=2.0, flowgraph=REPO / "flowgraphs" / "a2_receiver.yaml")
    assert worker.configs == ["base", "sensitive", "strict"]
    win = gapp.MainWindow(worker, title="flowgraph")
    qtbot.addWidget(win)
    try:
        qtbot.waitUntil(lambda: worker.status()["position_s"] > 0.3, timeout=DECODE_TIMEOUT_MS)
        assert worker.status()["pfa"] == pytest.approx(5e-8) and worker.status()["state"] == "running"
        win.config_combo.setCurrentText("strict")
        assert worker.wait_applied()
        assert worker.config == "strict" and worker.receiver.pfa == pytest.approx(1e-12)
        assert win.pfa_spin.value() == pytest.approx(-12.0)
        win.pfa_spin.setValue(-6.0)
        assert worker.wait_applied()
        st = worker.status()
        assert st["runtime"]["blocks"]["a2"]["pfa"] == pytest.approx(1e-6)
        assert st["configuration"] == "strict*" and worker.receiver.pfa == pytest.approx(1e-6)
        # both changes reached the runtime in flight, at chunk boundaries, logged with them
        c1, c2 = st["changes"]
        assert c1["command"] == {"cmd": "configuration", "name": "strict"} and c1["ok"]
        assert c2["command"] == {"cmd": "set", "blocks": {"a2": {"pfa": 1e-6}}} and c2["ok"]
        assert 0 < c1["sample"] <= c2["sample"] < 5 * RATE
        assert c1["sample"] % worker.chunk_size == 0 and c2["sample"] % worker.chunk_size == 0
        assert worker.runs == 1                       # no restart: the same runtime throughout

        win.pause_button.setChecked(True)
        assert worker.wait_applied() and worker.status()["state"] == "paused"
        pos = worker.status()["position_samples"]
        qtbot.wait(200)
        assert worker.status()["position_samples"] == pos      # paused: no samples move
        # a control still applies while paused, exactly where the stream stands
        win.config_combo.setCurrentText("base")
        assert worker.wait_applied()
        assert worker.status()["changes"][-1]["sample"] == pos
        assert worker.receiver.pfa == pytest.approx(5e-8)
        win.pause_button.setChecked(False)
        win.speed_combo.setCurrentText("max")
        _wait_finished(qtbot, win)
        assert worker.status()["position_samples"] == 1_250_000 and worker.runs == 1
        assert worker.receiver.stats.samples == 1_250_000           # every sample went through
    finally:
        win.close()


def test_unsuitable_flowgraph_is_refused_in_one_line():
    with pytest.raises(Exception, match="needs a file_source source for a capture replay"):
        ReceiverWorker.for_replay(DEMO, flowgraph="a2_live")
    with pytest.raises(Exception, match="no configuration named 'nope'"):
        ReceiverWorker.for_replay(DEMO, config="nope")


def test_gui_command_reports_a_bad_flowgraph_in_one_line(tmp_path):
    code = ("import sys\nfrom argosneo.cli import main\n"
            f"sys.exit(main(['gui', '--replay', {str(DEMO)!r}, '--flowgraph', {str(tmp_path / 'nope.yaml')!r}]))")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"argosneo: error: {tmp_path / 'nope.yaml'}: no such flowgraph file"


# ---- the Qt-free worker ---------------------------------------------------------------------------


def test_drop_queue_drops_oldest_and_counts():
    q = DropQueue(3)
    for i in range(5):
        q.put(i)
    assert q.drain() == [2, 3, 4] and q.dropped == 2 and q.drain() == []


def test_spectrum_analyzer_is_split_invariant_and_calibrated():
    fs, f0 = 250e3, 12345.0
    rng = np.random.default_rng(1)
    n = 200_000
    t = np.arange(n)
    x = (np.exp(2j * np.pi * f0 * t / fs) + 0.01 * (rng.standard_normal(n) + 1j * rng.standard_normal(n)))
    x = x.astype(np.complex64)
    a, b = SpectrumAnalyzer(fs), SpectrumAnalyzer(fs)
    whole = a.process(x, 0)
    cuts = [0, 1, 777, 5000, 65536, 123457, n]
    pieces = [ln for lo, hi in zip(cuts[:-1], cuts[1:]) for ln in b.process(x[lo:hi], lo)]
    assert [f for f, _ in whole] == [f for f, _ in pieces] == list(range(0, n - a.line_samples + 1, a.line_samples))
    for (_, p), (_, q) in zip(whole, pieces):
        np.testing.assert_allclose(p, q, atol=1e-3)
    p = whole[0][1]
    k = int(np.argmax(p))
    assert abs(a.offsets_hz[k] - f0) <= fs / a.nfft
    # a unit tone reads 0 dBFS (within the Hann scalloping loss of 1.42 dB)
    assert -1.5 < p[k] <= 0.05
    assert np.all(a.peak_db >= p - 1e-6)


def test_slow_display_drops_lines_never_samples():
    with open_capture(DEMO) as reader:
        worker = ReceiverWorker.for_replay(DEMO, speed=0, line_queue=4, id_bits=28)
        worker.start()
        try:
            deadline = 30.0
            import time

            t0 = time.monotonic()
            while worker.status()["state"] != "finished" and time.monotonic() - t0 < deadline:
                time.sleep(0.02)
            st = worker.status()
            assert st["state"] == "finished"
            assert worker.receiver.stats.samples == reader.total_samples   # every sample decoded
            assert st["decoded"] == len(TRUTH)
            assert len(worker.lines) == 4 and st["display_drops"] == 76 - 4
        finally:
            worker.stop()


def test_worker_refuses_bad_controls():
    with open_capture(DEMO) as reader:
        worker = ReceiverWorker.for_replay(DEMO, id_bits=28)
        with pytest.raises(Exception, match="between 0 and 1"):
            worker.set_threshold(2.0)
        with pytest.raises(Exception, match="only be shifted within"):
            worker.retune(402e6)
        with pytest.raises(Exception, match="live device"):
            worker.set_gain(10.0)
        with pytest.raises(Exception, match="no configuration named"):
            worker.select_config("nope")
        with pytest.raises(Exception, match="speed must be positive"):
            worker.set_speed(-1)


def test_gui_command_errors_are_one_line():
    code = ("import sys; sys.modules['PySide6'] = None\n"
            "from argosneo.cli import main\n"
            f"sys.exit(main(['gui', '--replay', {str(DEMO)!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.startswith("argosneo: error: the GUI needs the optional extra: pip install argosneo[gui]")
    assert len(proc.stderr.strip().splitlines()) == 1


def test_core_package_does_not_import_qt():
    code = ("import sys, argosneo, argosneo.cli, argosneo.receiver, argosneo.commands.gui\n"
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'gui'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
