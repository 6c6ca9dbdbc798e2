"""Terminal side of a running flowgraph: the status line and stopping on SIGINT/SIGTERM.

Used by ``argosneo rx`` and ``argosneo run``; the numbers come from
:meth:`~argosneo.flowgraph.runtime.Runtime.live_status` and the run's summary.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from typing import IO


class StatusLine:
    """A line on stderr refreshed in place on a terminal, printed as plain lines otherwise.

    Parameters
    ----------
    stream : file-like
        Where to write (default ``sys.stderr``).
    enabled : bool
        False prints only :meth:`message` lines.
    tty : bool or None
        Overwrite in place; None asks ``stream.isatty()``.
    """

    def __init__(self, stream: IO[str] | None = None, *, enabled: bool = True, tty: bool | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty and isatty())
        self.tty = tty
        # messages come from the source thread (device events) as well as the processing thread
        self._lock = threading.Lock()
        self._shown = False     # a status line is on screen without its newline

    def _clear(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self._shown = False

    def update(self, text: str) -> None:
        """Show the status text."""
        if not self.enabled:
            return
        with self._lock:
            if self.tty:
                self.stream.write("\r" + text + "\x1b[K")
                self._shown = True
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def message(self, text: str) -> None:
        """Print a line of its own (events, summary) without garbling the status line."""
        with self._lock:
            self._clear()
            self.stream.write(text + "\n")
            self.stream.flush()

    def finish(self) -> None:
        """Leave the terminal on a fresh line."""
        with self._lock:
            if self._shown:
                self.stream.write("\n")
                self._shown = False
            self.stream.flush()


def status_text(snapshot: dict, prefix: str = "rx") -> str:
    """The status line for one :meth:`Runtime.live_status` snapshot.

    ``PREFIX <stream s> s <input kS/s> kS/s x<headroom> rt | queue <s> s | ovf <device overflows>
    drop <chunks dropped by the runtime> reopen <device reopens> | bursts <decoded>``; the device
    counters are left out for a source that has none (a file).
    """
    head = snapshot["headroom"]
    head = "inf" if math.isinf(head) else f"{head:.1f}"
    src = snapshot.get("source") or {}
    counters = [f"ovf {src['overflows']}"] if "overflows" in src else []
    counters.append(f"drop {snapshot['drop_events']}")
    if "reopens" in src:
        counters.append(f"reopen {src['reopens']}")
    # short enough for an 80-column terminal, where a wrapped line could not be overwritten
    return (f"{prefix} {snapshot['received_s']:.0f} s {snapshot['input_rate'] / 1e3:.1f} kS/s x{head} rt"
            f" | queue {snapshot['queued_s']:.1f} s | {' '.join(counters)} | bursts {snapshot['decoded']}")


class StopOnSignals:
    """While active, SIGINT/SIGTERM call ``runtime.stop(<signal name>)`` (what is queued is still
    processed and flushed); a second one calls ``runtime.abort()`` (the run ends at the next item
    boundary, every block is closed, ``run`` raises ``KeyboardInterrupt``); a third raises
    ``KeyboardInterrupt`` at once, wherever the main thread is (for a block that hangs).

    Parameters
    ----------
    runtime : Runtime
        What to stop.
    on_first : callable, optional
        ``on_first(name)`` after the first signal (e.g. to say that the run is stopping).

    Notes
    -----
    Handlers can only be installed from the main thread; elsewhere this does nothing.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, runtime, on_first=None):
        self.runtime = runtime
        self.on_first = on_first
        self.received: list[str] = []
        self._previous: dict = {}

    def _handler(self, signum, frame):
        name = signal.Signals(signum).name
        self.received.append(name)
        if len(self.received) > 2:
            raise KeyboardInterrupt
        if len(self.received) == 2:
            # not raised here: an exception inside a block's write would tear its output
            self.runtime.abort(name)
            return
        self.runtime.stop(name)
        if self.on_first is not None:
            self.on_first(name)

    def __enter__(self) -> "StopOnSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()
