"""Plot and table widgets of the live GUI: spectrum, waterfall with burst markers, burst table."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtWidgets

from argosneo import spec

#: Waterfall history (lines); at 15 lines/s that is about 30 s.
WATERFALL_ROWS = 450
#: Colour range of the waterfall above the noise floor (dB).
WATERFALL_SPAN_DB = (-3.0, 22.0)

MARKER_PEN = pg.mkPen((255, 60, 60), width=2)
SELECTED_PEN = pg.mkPen((255, 255, 0), width=3)


def burst_duration_s(record: dict) -> float:
    """Air time of a burst (carrier start to last bit) as the receiver measured it; a record
    without one (a carrier that did not decode) is drawn over the A2 carrier's 160 ms."""
    return float(record.get("duration_s") or spec.A2_CARRIER_DURATION_S)


def burst_frequency_mhz(record: dict, center_freq: float | None) -> float:
    """Where a burst sits on the frequency axis (absolute MHz; offset MHz if no centre is known)."""
    f = record.get("frequency_hz")
    if f is None:
        f = (center_freq or 0.0) + float(record.get("offset_hz") or 0.0)
    return float(f) / 1e6


class SpectrumPlot(pg.PlotWidget):
    """Live spectrum (latest line), its running average and peak hold, in dBFS against MHz."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setLabel("bottom", "frequency", units="MHz")
        self.setLabel("left", "power", units="dBFS/bin")
        self.showGrid(x=True, y=True, alpha=0.3)
        self.addLegend(offset=(10, 10))
        self.current = self.plot(pen=pg.mkPen((230, 230, 120), width=1), name="live")
        self.average = self.plot(pen=pg.mkPen((80, 200, 255), width=2), name="average")
        self.peak = self.plot(pen=pg.mkPen((255, 90, 90), width=1, style=QtCore.Qt.DashLine), name="peak hold")
        self.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.setMouseEnabled(x=True, y=True)
        self._last = None

    def show_line(self, line) -> None:
        """Draw a :class:`~gui.worker.SpectrumLine` (latest, average, peak hold)."""
        x = line.frequencies_hz / 1e6
        self.current.setData(x, line.power_db)
        self.average.setData(x, line.average_db)
        self.peak.setData(x, line.peak_db)
        if self._last is None or self._last.epoch != line.epoch:
            lo = float(np.median(line.average_db))
            self.setYRange(lo - 10.0, max(float(line.peak_db.max()), lo + 30.0) + 5.0, padding=0)
            self.setXRange(x[0], x[-1], padding=0)
        self._last = line

    @property
    def last_line(self):
        return self._last

    def clear_traces(self) -> None:
        for item in (self.current, self.average, self.peak):
            item.setData([], [])
        self._last = None


class WaterfallPlot(pg.PlotWidget):
    """Scrolling waterfall: x = absolute frequency (MHz), y = stream time (s), newest on top.

    Rows sit on a fixed time grid (one row per spectrum line period), so a line the display
    never received leaves a gap at its own time instead of shifting the axis. Decoded bursts are
    drawn as a marker at (frequency, carrier start) with a line over their air time; clicking a
    marker emits :attr:`burstClicked` with the burst's key.
    """

    burstClicked = QtCore.Signal(int)

    def __init__(self, rows: int = WATERFALL_ROWS, parent=None):
        super().__init__(parent)
        self.rows = int(rows)
        self.setLabel("bottom", "frequency", units="MHz")
        self.setLabel("left", "time since start", units="s")
        self.getPlotItem().getAxis("bottom").enableAutoSIPrefix(False)
        self.getPlotItem().getAxis("left").enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.addItem(self.image)
        self.extents = pg.PlotDataItem(pen=pg.mkPen((255, 60, 60, 110), width=1), connect="pairs")
        self.addItem(self.extents)
        self.markers = pg.ScatterPlotItem(size=13, symbol="o", pen=MARKER_PEN, brush=pg.mkBrush(None),
                                          hoverable=True, hoverSize=16, tip=None)
        self.markers.sigClicked.connect(self._clicked)
        self.addItem(self.markers)
        self.selected = pg.ScatterPlotItem(size=18, symbol="o", pen=SELECTED_PEN, brush=pg.mkBrush(None))
        self.addItem(self.selected)
        self.setMouseEnabled(x=True, y=False)
        self._marker_pos: dict[int, tuple[float, float, float]] = {}
        self.clear_image()

    # ---- image -----------------------------------------------------------------------------
    def clear_image(self) -> None:
        self._img: np.ndarray | None = None
        self._newest: int | None = None
        self._period = None
        self._x0 = self._width = None
        self._floor: float | None = None
        self.image.clear()

    def add_line(self, line) -> None:
        """Place a :class:`~gui.worker.SpectrumLine` on its row of the time grid."""
        n = len(line.power_db)
        period = line.n_samples / line.sample_rate
        k = int(math.floor(line.first_sample / line.n_samples + 0.5))
        bin_hz = line.sample_rate / n
        x0 = ((line.center_freq or 0.0) + line.offsets_hz[0] - bin_hz / 2) / 1e6
        if self._img is None or self._img.shape[1] != n or self._period != period or self._x0 != x0:
            self._img = np.empty((self.rows, n), dtype=np.float32)
            self._img[:] = np.nan
            self._newest = k
            self._period, self._x0, self._width = period, x0, line.sample_rate / 1e6
        if k > self._newest:
            shift = k - self._newest
            if shift >= self.rows:
                self._img[:] = np.nan
            else:
                self._img[:-shift] = self._img[shift:]
                self._img[-shift:] = np.nan
            self._newest = k
        row = self.rows - 1 - (self._newest - k)
        if row < 0:
            return      # older than the history shown
        self._img[row] = line.power_db
        floor = float(np.median(line.average_db))
        self._floor = floor if self._floor is None else self._floor + 0.1 * (floor - self._floor)

    def refresh(self) -> None:
        """Redraw the image and follow the newest line (call once per display frame)."""
        if self._img is None:
            return
        lo = self._floor + WATERFALL_SPAN_DB[0]
        shown = np.where(np.isnan(self._img), lo, self._img)
        self.image.setImage(shown, autoLevels=False, levels=(lo, self._floor + WATERFALL_SPAN_DB[1]))
        base = (self._newest - self.rows + 1) * self._period
        height = self.rows * self._period
        self.image.setRect(QtCore.QRectF(self._x0, base, self._width, height))
        self.setYRange(max(base, self.first_time()), base + height, padding=0)

    def first_time(self) -> float:
        """Time of the oldest row that holds data (s)."""
        if self._img is None:
            return 0.0
        filled = np.flatnonzero(~np.isnan(self._img[:, 0]))
        first_row = int(filled[0]) if len(filled) else self.rows - 1
        return (self._newest - self.rows + 1 + first_row) * self._period

    def frequency_span_mhz(self) -> tuple[float, float] | None:
        if self._img is None:
            return None
        return self._x0, self._x0 + self._width

    def image_data(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(rows × bins dB array with NaN for missing rows, row start times in s)."""
        if self._img is None:
            return None
        times = (self._newest - self.rows + 1 + np.arange(self.rows)) * self._period
        return self._img.copy(), times

    # ---- markers ---------------------------------------------------------------------------
    def add_burst(self, key: int, record: dict, sample_rate: float, center_freq: float | None) -> None:
        """Marker for a decoded burst (replaces the marker with the same key)."""
        x = burst_frequency_mhz(record, center_freq)
        y = record["sample_start"] / sample_rate
        self._marker_pos[key] = (x, y, y + burst_duration_s(record))
        self._redraw_markers()

    def clear_bursts(self) -> None:
        self._marker_pos.clear()
        self._redraw_markers()
        self.selected.setData([])

    def _redraw_markers(self) -> None:
        keys = list(self._marker_pos)
        pts = [self._marker_pos[k] for k in keys]
        self.markers.setData(pos=[(x, y) for x, y, _ in pts], data=keys)
        seg_x = np.repeat([x for x, _, _ in pts], 2)
        seg_y = np.array([v for _, y0, y1 in pts for v in (y0, y1)])
        self.extents.setData(seg_x, seg_y)

    def marker_positions(self) -> dict[int, tuple[float, float]]:
        """key → (frequency MHz, start time s) of every marker as drawn."""
        data = self.markers.data
        return {int(d["data"]): (float(d["x"]), float(d["y"])) for d in data}

    def select(self, key: int | None) -> None:
        if key is None or key not in self._marker_pos:
            self.selected.setData([])
            return
        x, y, _ = self._marker_pos[key]
        self.selected.setData(pos=[(x, y)])

    def _clicked(self, item, points, ev=None) -> None:
        if len(points):
            self.burstClicked.emit(int(points[0].data()))


class BurstTable(QtWidgets.QTableWidget):
    """Decoded bursts, newest last: time, platform ID, frequency, C/N0, length, data."""

    COLUMNS = ("time (UTC)", "platform ID", "frequency (MHz)", "C/N0 (dB-Hz)", "N", "data")
    burstSelected = QtCore.Signal(int)

    def __init__(self, parent=None):
        super().__init__(0, len(self.COLUMNS), parent)
        self.setHorizontalHeaderLabels(self.COLUMNS)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectRows)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)
        self._rows: dict[int, int] = {}     # burst key -> row
        self.itemSelectionChanged.connect(self._selection)

    def set_burst(self, key: int, record: dict, sample_rate: float, center_freq: float | None) -> None:
        """Add a row for a burst, or update the row already showing it."""
        when = record.get("time_utc") or f"+{record['sample_start'] / sample_rate:.3f} s"
        cells = (
            when,
            record.get("platform_id", "?"),
            f"{burst_frequency_mhz(record, center_freq):.6f}",
            f"{record.get('cn0_dbhz', float('nan')):.1f}",
            str(record.get("length_code", "")),
            record.get("data_hex", ""),
        )
        row = self._rows.get(key)
        if row is None:
            row = self.rowCount()
            self.insertRow(row)
            self._rows[key] = row
        for col, text in enumerate(cells):
            item = QtWidgets.QTableWidgetItem(str(text))
            item.setData(QtCore.Qt.UserRole, key)
            self.setItem(row, col, item)
        if self.rowCount() <= 50:     # beyond that, fitting every insert costs too much
            self.resizeColumnsToContents()

    def column_values(self, column: str) -> list[str]:
        col = self.COLUMNS.index(column)
        return [self.item(r, col).text() for r in range(self.rowCount())]

    def select_key(self, key: int) -> None:
        row = self._rows.get(key)
        if row is not None:
            self.blockSignals(True)
            self.selectRow(row)
            self.blockSignals(False)
            self.scrollToItem(self.item(row, 0))

    def clear_bursts(self) -> None:
        self.setRowCount(0)
        self._rows.clear()

    def _selection(self) -> None:
        items = self.selectedItems()
        if items:
            self.burstSelected.emit(int(items[0].data(QtCore.Qt.UserRole)))
