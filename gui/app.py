"""The live GUI window: spectrum, waterfall with burst markers, burst table, controls, status.

The window owns a :class:`~gui.worker.ReceiverWorker` — the flowgraph runtime in a thread — and
only ever *polls* it (a Qt timer, ~30 times a second): it takes the spectrum lines waiting (the
worker drops the oldest when the display falls behind), the new bursts and a status snapshot
(:meth:`Runtime.status` underneath). Controls post commands that reach the running flowgraph
between two chunks (``Runtime.submit``). So a slow display costs display frames, never samples.
"""

from __future__ import annotations

import csv
import json
import math
import queue
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from argosneo.errors import ArgosneoError
from gui.widgets import BurstTable, SpectrumPlot, WaterfallPlot, burst_frequency_mhz
from gui.worker import ReceiverWorker

#: Display refresh period (ms).
POLL_MS = 33
#: Status bar refresh period (ms).
STATUS_MS = 200
#: Two decodes this close are the same burst (e.g. decoded again after a seek back).
SAME_BURST_S = 0.005
SAME_BURST_HZ = 100.0
SPEEDS = (("1×", 1.0), ("2×", 2.0), ("5×", 5.0), ("10×", 10.0), ("max", math.inf))


def _fmt_rate(rate: float) -> str:
    return f"{rate / 1e6:.3f} MS/s" if rate >= 1e6 else f"{rate / 1e3:.1f} kS/s"


class MainWindow(QtWidgets.QMainWindow):
    """The argosneo GUI around a (not yet started) :class:`ReceiverWorker`.

    Parameters
    ----------
    worker : ReceiverWorker
        Started by :meth:`start` (or at once with ``autostart``); stopped when the window closes.
    title : str
        Shown in the title bar (the source's name).
    autostart : bool
        Start the worker and the display timer now.
    """

    def __init__(self, worker: ReceiverWorker, title: str = "", autostart: bool = True):
        super().__init__()
        self.worker = worker
        self.records: list[dict] = []           # decoded bursts; the key of a burst is its index
        self._status: dict = worker.status()
        self.setWindowTitle(f"argosneo — {title}" if title else "argosneo")
        self.resize(1280, 860)

        self.spectrum = SpectrumPlot()
        self.waterfall = WaterfallPlot()
        self.waterfall.setXLink(self.spectrum)
        self.table = BurstTable()
        self.details = QtWidgets.QPlainTextEdit(readOnly=True)
        self.details.setPlaceholderText("click a marker on the waterfall or a row of the table")
        self.details.setFont(QtGui.QFontDatabase.systemFont(QtGui.QFontDatabase.FixedFont))

        plots = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        plots.addWidget(self.spectrum)
        plots.addWidget(self.waterfall)
        plots.setSizes([280, 520])
        lower = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        lower.addWidget(self.table)
        lower.addWidget(self.details)
        lower.setSizes([820, 380])
        main = QtWidgets.QSplitter(QtCore.Qt.Vertical)
        main.addWidget(plots)
        main.addWidget(lower)
        main.setSizes([640, 220])
        central = QtWidgets.QWidget()
        layout = QtWidgets.QHBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(main, 1)
        layout.addWidget(self._build_controls())
        self.setCentralWidget(central)
        self._build_menu()
        self._build_status()

        self.waterfall.burstClicked.connect(self.show_burst)
        self.table.burstSelected.connect(self.show_burst)

        self._timer = QtCore.QTimer(self, interval=POLL_MS)
        self._timer.timeout.connect(self.poll)
        self._status_timer = QtCore.QTimer(self, interval=STATUS_MS)
        self._status_timer.timeout.connect(self.update_status)
        if autostart:
            self.start()

    # ---- construction ---------------------------------------------------------------------------
    def _build_controls(self) -> QtWidgets.QWidget:
        w = self.worker
        live = w.mode == "live"
        panel = QtWidgets.QWidget()
        panel.setFixedWidth(270)
        col = QtWidgets.QVBoxLayout(panel)
        col.setContentsMargins(0, 0, 0, 0)

        tuning = QtWidgets.QGroupBox("Receiver")
        form = QtWidgets.QFormLayout(tuning)
        self.center_spin = QtWidgets.QDoubleSpinBox(decimals=6, minimum=0.001, maximum=6000.0, suffix=" MHz")
        self.center_spin.setKeyboardTracking(False)
        self.center_spin.setSingleStep(0.005)
        self.center_spin.setValue((w.source_info.center_freq or 0.0) / 1e6)
        self.center_spin.setEnabled(w.source_info.center_freq is not None)
        self.center_spin.setToolTip("live: retunes the device; replay: shifts the capture digitally "
                                    "(within ± half the sample rate; the band wraps at the edges)")
        self.center_spin.valueChanged.connect(self._center_changed)
        form.addRow("centre", self.center_spin)

        self.gain_spin = QtWidgets.QDoubleSpinBox(decimals=1, minimum=0.0, maximum=100.0, suffix=" dB")
        self.gain_spin.setKeyboardTracking(False)
        self.agc_check = QtWidgets.QCheckBox("auto")
        gain_row = QtWidgets.QHBoxLayout()
        gain_row.addWidget(self.gain_spin, 1)
        gain_row.addWidget(self.agc_check)
        if live:
            gain = w.status().get("gain_db")
            self.agc_check.setChecked(gain is None)
            self.gain_spin.setValue(gain or 0.0)
            self.gain_spin.setEnabled(gain is not None)
            self.gain_spin.valueChanged.connect(self._gain_changed)
            self.agc_check.toggled.connect(self._gain_changed)
        else:
            for wid in (self.gain_spin, self.agc_check):
                wid.setEnabled(False)
                wid.setToolTip("a replay has no gain to set")
        form.addRow("gain", gain_row)

        self.pfa_spin = QtWidgets.QDoubleSpinBox(decimals=1, minimum=-15.0, maximum=-1.0, singleStep=0.5,
                                                 prefix="10^")
        self.pfa_spin.setKeyboardTracking(False)
        self.pfa_spin.setValue(math.log10(w.status()["pfa"]))
        self.pfa_spin.setToolTip("detector false-alarm probability per spectral bin and frame; "
                                 "lower = higher threshold")
        self.pfa_spin.valueChanged.connect(self._pfa_changed)
        self.threshold_label = QtWidgets.QLabel()
        form.addRow("detect Pfa", self.pfa_spin)
        form.addRow("threshold", self.threshold_label)
        self._show_threshold(w.status()["pfa"])

        self.config_combo = QtWidgets.QComboBox()
        self.config_combo.addItems(list(w.configs))
        self.config_combo.setCurrentText(w.config)
        self.config_combo.setEnabled(len(w.configs) > 1)
        self.config_combo.currentTextChanged.connect(self._config_changed)
        form.addRow("configuration", self.config_combo)
        col.addWidget(tuning)

        display = QtWidgets.QGroupBox("Display")
        dform = QtWidgets.QVBoxLayout(display)
        self.avg_check = QtWidgets.QCheckBox("average", checked=True)
        self.peak_check = QtWidgets.QCheckBox("peak hold", checked=True)
        self.avg_check.toggled.connect(self.spectrum.average.setVisible)
        self.peak_check.toggled.connect(self.spectrum.peak.setVisible)
        reset_peak = QtWidgets.QPushButton("reset peak hold")
        reset_peak.clicked.connect(self.worker.reset_peak)
        for wid in (self.avg_check, self.peak_check, reset_peak):
            dform.addWidget(wid)
        col.addWidget(display)

        play = QtWidgets.QGroupBox("Replay" if not live else "Live")
        pform = QtWidgets.QFormLayout(play)
        self.pause_button = QtWidgets.QPushButton("pause" if not live else "freeze display")
        self.pause_button.setCheckable(True)
        self.pause_button.toggled.connect(self._pause_toggled)
        pform.addRow(self.pause_button)
        self.speed_combo = QtWidgets.QComboBox()
        for label, _ in SPEEDS:
            self.speed_combo.addItem(label)
        speed = w.status()["speed"]
        self.speed_combo.setCurrentIndex(min(range(len(SPEEDS)), key=lambda i: abs(
            math.log((SPEEDS[i][1] if math.isfinite(SPEEDS[i][1]) else 1e6) / (speed if math.isfinite(speed) else 1e6)))))
        self.speed_combo.currentIndexChanged.connect(self._speed_changed)
        self.seek_slider = QtWidgets.QSlider(QtCore.Qt.Horizontal, minimum=0, maximum=1000)
        self.seek_slider.sliderReleased.connect(self._seek_released)
        self.position_label = QtWidgets.QLabel("0.0 s")
        if live:
            self.speed_combo.setEnabled(False)
            self.seek_slider.setEnabled(False)
        pform.addRow("speed", self.speed_combo)
        pform.addRow("seek", self.seek_slider)
        pform.addRow("position", self.position_label)
        col.addWidget(play)

        info = QtWidgets.QLabel(self._source_text())
        info.setWordWrap(True)
        info.setTextInteractionFlags(QtCore.Qt.TextSelectableByMouse)
        src = QtWidgets.QGroupBox("Source")
        QtWidgets.QVBoxLayout(src).addWidget(info)
        col.addWidget(src)
        col.addStretch(1)
        return panel

    def _source_text(self) -> str:
        i = self.worker.source_info
        parts = [("live device" if self.worker.mode == "live" else "replay") + f", {_fmt_rate(i.sample_rate)}"]
        if i.center_freq is not None:
            parts.append(f"recorded centre {i.center_freq / 1e6:.6f} MHz")
        if i.start_time is not None:
            parts.append(f"start {i.start_time.isoformat().replace('+00:00', 'Z')}")
        if i.total_samples:
            parts.append(f"{i.total_samples / i.sample_rate:.2f} s")
        if i.description:
            parts.append(i.description)
        return "\n".join(parts)

    def _build_menu(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, slot, key in (
            ("Save &screenshot…", self._ask_screenshot, "Ctrl+P"),
            ("Save &bursts (JSON lines)…", self._ask_bursts, "Ctrl+S"),
            ("Save s&pectrum (CSV or NPZ)…", self._ask_spectrum, "Ctrl+E"),
        ):
            act = menu.addAction(text)
            act.setShortcut(QtGui.QKeySequence(key))
            act.triggered.connect(slot)
        menu.addSeparator()
        quit_act = menu.addAction("&Quit")
        quit_act.setShortcut(QtGui.QKeySequence.Quit)
        quit_act.triggered.connect(self.close)

    def _build_status(self) -> None:
        bar = self.statusBar()
        self.status_labels = {}
        for name in ("state", "flowgraph", "rate", "position", "headroom", "drops", "bursts"):
            lab = QtWidgets.QLabel()
            lab.setMinimumWidth(60)
            bar.addPermanentWidget(lab)
            self.status_labels[name] = lab

    # ---- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        if not self.worker.running:
            self.worker.start()
        self._timer.start()
        self._status_timer.start()
        self.update_status()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt override
        self._timer.stop()
        self._status_timer.stop()
        self.worker.stop()
        super().closeEvent(event)

    def poll(self) -> None:
        """Take what the worker has published since the last frame and draw it."""
        lines = self.worker.lines.drain()
        if lines:
            epoch = self.worker.status()["epoch"]
            lines = [ln for ln in lines if ln.epoch == epoch]
        if lines:
            last = self.spectrum.last_line
            if last is not None and (last.epoch != lines[-1].epoch or last.center_freq != lines[-1].center_freq):
                self.waterfall.clear_image()
            for ln in lines:
                self.waterfall.add_line(ln)
            self.waterfall.refresh()
            self.spectrum.show_line(lines[-1])
        while True:
            try:
                rec = self.worker.bursts.get_nowait()
            except queue.Empty:
                break
            self.add_burst(rec)
        while True:
            try:
                msg = self.worker.errors.get_nowait()
            except queue.Empty:
                break
            self.statusBar().showMessage(f"error: {msg}", 15000)

    def add_burst(self, record: dict) -> int:
        """Show a burst record in the table and on the waterfall; returns its key.

        A burst decoded again (after a seek back or a configuration change) replaces its earlier
        row instead of adding a duplicate.
        """
        rate = self.worker.sample_rate
        center = self.worker.source_info.center_freq
        freq = burst_frequency_mhz(record, center) * 1e6
        key = None
        for i, old in enumerate(self.records):
            if (abs(old["sample_start"] - record["sample_start"]) <= SAME_BURST_S * rate
                    and abs(burst_frequency_mhz(old, center) * 1e6 - freq) <= SAME_BURST_HZ):
                key = i
                break
        record = dict(record)
        if key is None:
            key = len(self.records)
            self.records.append(record)
        else:
            self.records[key] = record
        self.table.set_burst(key, record, rate, center)
        self.waterfall.add_burst(key, record, rate, center)
        return key

    def show_burst(self, key: int) -> None:
        """Show one burst's full record in the details pane and highlight it."""
        if not 0 <= key < len(self.records):
            return
        rec = self.records[key]
        self.details.setPlainText(json.dumps(rec, indent=2))
        self.table.select_key(key)
        self.waterfall.select(key)

    def update_status(self) -> None:
        st = self._status = self.worker.status()
        lab = self.status_labels
        state = st["state"] + (f": {st['error']}" if st.get("error") else "")
        lab["state"].setText(state)
        lab["rate"].setText(_fmt_rate(st["sample_rate"]))
        pos = st["position_s"]
        if st["total_samples"]:
            total = st["total_samples"] / st["sample_rate"]
            lab["position"].setText(f"{pos:.1f} / {total:.1f} s")
            if not self.seek_slider.isSliderDown():
                self.seek_slider.setValue(int(round(1000 * st["position_samples"] / st["total_samples"])))
        else:
            lab["position"].setText(f"{pos:.1f} s")
        self.position_label.setText(lab["position"].text())
        head = st["headroom"]
        lab["headroom"].setText("headroom –" if head is None else f"headroom {head:.1f}× real time")
        drops = f"display frames dropped {st['display_drops']}"
        if st["mode"] == "live":
            drops = (f"overflows {st['overflows']}, samples lost {st['dropped_samples']}, "
                     f"reopens {st['reopens']}; " + drops)
        else:
            drops = f"samples lost {st['dropped_samples']}; " + drops
        lab["drops"].setText(drops)
        lab["bursts"].setText(f"bursts {st['decoded']} decoded / {st['detections']} detected")
        lab["flowgraph"].setText(f"{st['flowgraph']}: {st['configuration']}, {len(st['changes'])} change(s)")

    # ---- controls --------------------------------------------------------------------------------
    def _control(self, fn, *args) -> bool:
        try:
            fn(*args)
        except ArgosneoError as exc:
            self.statusBar().showMessage(f"error: {exc}", 15000)
            return False
        return True

    def _center_changed(self, mhz: float) -> None:
        self._control(self.worker.retune, mhz * 1e6)

    def _gain_changed(self, *_) -> None:
        auto = self.agc_check.isChecked()
        self.gain_spin.setEnabled(not auto)
        self._control(self.worker.set_gain, None if auto else self.gain_spin.value())

    def _pfa_changed(self, exponent: float) -> None:
        pfa = 10.0 ** exponent
        if self._control(self.worker.set_threshold, pfa):
            self._show_threshold(pfa)

    def _show_threshold(self, pfa: float) -> None:
        # the detector compares bin power with threshold × noise floor, threshold = −ln Pfa
        self.threshold_label.setText(f"{10 * math.log10(-math.log(pfa)):.1f} dB over the floor")

    def _config_changed(self, name: str) -> None:
        if self._control(self.worker.select_config, name):
            # a configuration brings its own threshold
            self.worker.wait_applied(2.0)
            self.pfa_spin.blockSignals(True)
            self.pfa_spin.setValue(math.log10(self.worker.status()["pfa"]))
            self.pfa_spin.blockSignals(False)
            self._show_threshold(self.worker.status()["pfa"])

    def _pause_toggled(self, paused: bool) -> None:
        self._control(self.worker.pause if paused else self.worker.resume)

    def _speed_changed(self, index: int) -> None:
        self._control(self.worker.set_speed, SPEEDS[index][1])

    def _seek_released(self) -> None:
        total = self.worker.source_info.total_samples or 0
        self._control(self.worker.seek, self.seek_slider.value() / 1000 * total / self.worker.sample_rate)

    # ---- export ----------------------------------------------------------------------------------
    def save_screenshot(self, path) -> Path:
        """Save the whole window as an image (format from the extension, e.g. ``.png``)."""
        path = Path(path)
        if not self.grab().save(str(path)):
            raise ArgosneoError(f"{path}: cannot save the screenshot (unknown image type or unwritable)")
        return path

    def save_bursts(self, path) -> Path:
        """Save every decoded burst as JSON lines (the records of ``argosneo replay``)."""
        path = Path(path)
        try:
            with open(path, "w", encoding="utf-8") as fp:
                for rec in self.records:
                    fp.write(json.dumps(rec) + "\n")
        except OSError as exc:
            raise ArgosneoError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return path

    def save_spectrum(self, path) -> Path:
        """Save the spectrum: ``.csv`` = frequency, live, average, peak hold (dBFS per bin);
        ``.npz`` = the same arrays plus the waterfall image and its row times."""
        path = Path(path)
        line = self.spectrum.last_line
        if line is None:
            raise ArgosneoError("no spectrum yet: nothing to save")
        freqs = line.frequencies_hz
        try:
            if path.suffix.lower() == ".npz":
                extra = {}
                wf = self.waterfall.image_data()
                if wf is not None:
                    extra = {"waterfall_db": wf[0], "waterfall_time_s": wf[1]}
                np.savez_compressed(path, frequency_hz=freqs, live_db=line.power_db, average_db=line.average_db,
                                    peak_hold_db=line.peak_db, time_s=line.time_s,
                                    sample_rate=line.sample_rate, **extra)
            elif path.suffix.lower() == ".csv":
                with open(path, "w", newline="", encoding="utf-8") as fp:
                    out = csv.writer(fp)
                    out.writerow(["frequency_hz", "live_dbfs", "average_dbfs", "peak_hold_dbfs"])
                    for row in zip(freqs, line.power_db, line.average_db, line.peak_db):
                        out.writerow([f"{row[0]:.3f}", *(f"{v:.3f}" for v in row[1:])])
            else:
                raise ArgosneoError(f"{path}: the spectrum is saved as .csv or .npz, not {path.suffix or 'no extension'}")
        except OSError as exc:
            raise ArgosneoError(f"{path}: cannot write: {exc.strerror or exc}") from None
        return path

    def _ask(self, caption: str, filt: str, default: str, save) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, caption, default, filt)
        if path:
            try:
                save(path)
                self.statusBar().showMessage(f"saved {path}", 5000)
            except ArgosneoError as exc:
                QtWidgets.QMessageBox.warning(self, "argosneo", str(exc))

    def _ask_screenshot(self) -> None:
        self._ask("Save screenshot", "PNG image (*.png)", "argosneo.png", self.save_screenshot)

    def _ask_bursts(self) -> None:
        self._ask("Save bursts", "JSON lines (*.jsonl)", "bursts.jsonl", self.save_bursts)

    def _ask_spectrum(self) -> None:
        self._ask("Save spectrum", "CSV (*.csv);;NumPy (*.npz)", "spectrum.csv", self.save_spectrum)


def make_app() -> QtWidgets.QApplication:
    """The process's QApplication (created once), with pyqtgraph set up for it."""
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["argosneo"])
    pg.setConfigOptions(antialias=False, imageAxisOrder="row-major")
    return app


def run(worker: ReceiverWorker, title: str = "") -> int:
    """Open the window on a worker and run the Qt event loop until it is closed."""
    app = make_app()
    win = MainWindow(worker, title=title)
    win.show()
    try:
        return int(app.exec())
    finally:
        worker.stop()


def open_replay(path, *, speed: float = 1.0, flowgraph=None, variables=None, config=None,
                id_bits: int | None = None, pfa: float | None = None, samp_rate=None, center_freq=None,
                datatype=None, output_dir=None) -> ReceiverWorker:
    """Worker replaying a capture (any kind :func:`~argosneo.io.reader.open_capture` reads)
    through a flowgraph (default: the shipped ``a2_receiver``, as ``argosneo replay``)."""
    return ReceiverWorker.for_replay(path, flowgraph=flowgraph, variables=variables, samp_rate=samp_rate,
                                     center_freq=center_freq, datatype=datatype, id_bits=id_bits, pfa=pfa,
                                     speed=speed, config=config, output_dir=output_dir)


def open_device(device_args: str, *, sample_rate: float, center_freq: float, gain=None, flowgraph=None,
                variables=None, config=None, id_bits: int | None = None, pfa: float | None = None,
                buffer_samples: int | None = None, output_dir=None) -> ReceiverWorker:
    """Worker receiving from a SoapySDR device through a flowgraph (default: the shipped
    ``a2_live``), in chunks of ``buffer_samples`` (default ≈ 50 ms, so controls act quickly)."""
    return ReceiverWorker.for_device(device_args, sample_rate=sample_rate, center_freq=center_freq, gain_db=gain,
                                     flowgraph=flowgraph, variables=variables, id_bits=id_bits, pfa=pfa,
                                     chunk_size=buffer_samples, config=config, output_dir=output_dir)
