"""The local control socket of a running flowgraph.

A Unix domain socket; each request is one line of JSON, each reply one line of JSON with
``"ok": true`` or ``"ok": false, "error": "..."``. Commands::

    {"cmd": "status"}
    {"cmd": "set", "block": "det", "params": {"threshold_db": 14}}
    {"cmd": "set", "blocks": {"det": {"threshold_db": 14}, "shift": {"shift_hz": 1200}}}
    {"cmd": "configuration", "name": "B"}
    {"cmd": "add", "block": "dem2", "type": "a2_demodulator", "params": {...},
     "connections": ["chan.out -> dem2.in", ["dem2.out", "sink.in"]]}
    {"cmd": "remove", "block": "dem2"}
    {"cmd": "swap", "block": "det", "type": "carrier_detector", "params": {...}}
    {"cmd": "stop"}

Change commands may carry ``"at_sample": N`` or ``"at_time": SECONDS`` to take effect at that
stream position instead of the next chunk boundary.
"""

from __future__ import annotations

import json
import math
import os
import socket
import tempfile
import threading
from pathlib import Path

from argosneo.errors import FlowgraphError

COMMANDS = ("status", "set", "configuration", "add", "remove", "swap", "stop")
MAX_LINE = 1 << 20


class ControlError(FlowgraphError):
    """A malformed control command, or no running flowgraph to talk to."""


def _need(cmd: dict, key: str, typ, what: str):
    if key not in cmd:
        raise ControlError(f"malformed command: {cmd['cmd']!r} needs {key!r} ({what})")
    v = cmd[key]
    if not isinstance(v, typ) or isinstance(v, bool) and typ is not bool:
        raise ControlError(f"malformed command: {cmd['cmd']!r}: {key!r} must be {what}, got {v!r}")
    return v


def check_command(obj) -> dict:
    """Check a decoded control command and return it in canonical form.

    ``set`` with ``block``/``params`` becomes ``set`` with ``blocks: {block: params}``.

    Raises
    ------
    ControlError
        What is wrong, in one line.
    """
    if not isinstance(obj, dict):
        raise ControlError(f"malformed command: expected a JSON object like {{\"cmd\": \"status\"}}, got {obj!r}")
    cmd = obj.get("cmd")
    if cmd is None:
        raise ControlError("malformed command: missing \"cmd\" (one of " + ", ".join(COMMANDS) + ")")
    if cmd not in COMMANDS:
        raise ControlError(f"unknown command {cmd!r} (known: {', '.join(COMMANDS)})")
    allowed = {"cmd", "at_sample", "at_time"} | {
        "status": set(), "stop": set(), "set": {"block", "params", "blocks"}, "configuration": {"name"},
        "add": {"block", "type", "params", "connections"}, "remove": {"block"},
        "swap": {"block", "type", "params"},
    }[cmd]
    extra = sorted(set(obj) - allowed)
    if extra:
        raise ControlError(f"malformed command: {cmd!r} does not take {', '.join(map(repr, extra))}")
    out = dict(obj)
    if cmd in ("status", "stop"):
        if "at_sample" in obj or "at_time" in obj:
            raise ControlError(f"malformed command: {cmd!r} cannot be scheduled")
        return out
    if "at_sample" in obj and "at_time" in obj:
        raise ControlError("malformed command: give at_sample or at_time, not both")
    if "at_sample" in obj:
        v = obj["at_sample"]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ControlError(f"malformed command: at_sample must be a sample index >= 0, got {v!r}")
    if "at_time" in obj:
        v = obj["at_time"]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise ControlError(f"malformed command: at_time must be seconds >= 0, got {v!r}")
    if cmd == "set":
        if "blocks" in obj:
            if "block" in obj or "params" in obj:
                raise ControlError("malformed command: 'set' takes either block+params or blocks, not both")
            blocks = _need(obj, "blocks", dict, "an object {block: {param: value}}")
            if not blocks or not all(isinstance(p, dict) and p for p in blocks.values()):
                raise ControlError("malformed command: 'set': blocks must map block ids to non-empty objects")
        else:
            bid = _need(obj, "block", str, "a block id")
            params = _need(obj, "params", dict, "an object {param: value}")
            if not params:
                raise ControlError("malformed command: 'set': params is empty")
            out = {k: v for k, v in obj.items() if k not in ("block", "params")}
            out["blocks"] = {bid: params}
    elif cmd == "configuration":
        _need(obj, "name", str, "a configuration name")
    elif cmd in ("add", "swap", "remove"):
        _need(obj, "block", str, "a block id")
        if cmd == "add":
            _need(obj, "type", str, "a block type")
        if cmd in ("add", "swap"):
            if "type" in obj:
                _need(obj, "type", str, "a block type")
            if "params" in obj:
                _need(obj, "params", dict, "an object {param: value}")
        if cmd == "add" and "connections" in obj:
            _need(obj, "connections", list, "a list of connections")
    return out


def parse_command(line: str | bytes) -> dict:
    """Decode and check one request line (see :func:`check_command`)."""
    if isinstance(line, bytes):
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError:
            raise ControlError("malformed command: not UTF-8 text") from None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ControlError(f"malformed command: not JSON ({exc.msg} at column {exc.colno})") from None
    return check_command(obj)


def default_socket_path(pid: int | None = None) -> Path:
    """``$XDG_RUNTIME_DIR/argosneo-<pid>.sock`` (or in the temporary directory)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"argosneo-{os.getpid() if pid is None else pid}.sock"


def running_sockets() -> list[Path]:
    """Control sockets of argosneo processes that are still alive (default locations)."""
    base = Path(os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir())
    found = []
    for p in sorted(base.glob("argosneo-*.sock")):
        try:
            pid = int(p.stem.split("-", 1)[1])
            os.kill(pid, 0)
        except (ValueError, ProcessLookupError):
            continue
        except PermissionError:
            pass
        found.append(p)
    return found


class ControlServer:
    """Serve a :class:`~argosneo.flowgraph.runtime.Runtime` on a Unix socket (one thread per client).

    Parameters
    ----------
    runtime : Runtime
        The graph to control.
    path : path-like, optional
        Socket path (default :func:`default_socket_path`). An existing stale socket file is
        replaced; a live one (another process answering) is an error.
    """

    def __init__(self, runtime, path=None):
        self.runtime = runtime
        self.path = Path(path) if path is not None else default_socket_path()
        if len(os.fsencode(self.path)) > 100:
            raise ControlError(f"control socket path is too long for a Unix socket: {self.path}")
        if self.path.exists():
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(os.fspath(self.path))
                raise ControlError(f"control socket {self.path} is in use by another process")
            except (ConnectionRefusedError, FileNotFoundError):
                self.path.unlink(missing_ok=True)
            finally:
                probe.close()
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.bind(os.fspath(self.path))
        except OSError as exc:
            self._sock.close()
            raise ControlError(f"cannot create control socket {self.path}: {exc.strerror or exc}") from None
        os.chmod(self.path, 0o600)   # local control only: the owner's processes
        self._sock.listen(4)
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="argosneo-control", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._client, args=(conn,), daemon=True).start()

    def handle(self, line) -> dict:
        """Answer one request line."""
        try:
            cmd = parse_command(line)
        except ControlError as exc:
            return {"ok": False, "error": str(exc)}
        if cmd["cmd"] == "status":
            return self.runtime.status()
        if cmd["cmd"] == "stop":
            self.runtime.stop()
            return {"ok": True, "stopping": True}
        try:
            return self.runtime.submit(cmd)
        except Exception as exc:  # noqa: BLE001 - a bad request must not kill the server
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"}

    def _client(self, conn: socket.socket) -> None:
        with conn:
            f = conn.makefile("rb")
            try:
                while True:
                    line = f.readline(MAX_LINE + 1)
                    if not line:
                        return
                    if len(line) > MAX_LINE:
                        reply = {"ok": False, "error": f"malformed command: longer than {MAX_LINE} bytes"}
                    elif not line.strip():
                        continue
                    else:
                        reply = self.handle(line)
                    conn.sendall((json.dumps(reply, default=str) + "\n").encode())
                    if len(line) > MAX_LINE:
                        return
            except OSError:
                return

    def close(self) -> None:
        self._closed.set()
        try:
            self._sock.close()
        finally:
            self.path.unlink(missing_ok=True)


def send_command(path, command: dict | str, timeout: float = 35.0) -> dict:
    """Send one command to a running flowgraph's control socket and return its reply.

    Parameters
    ----------
    path : path-like
        The socket (printed by ``argosneo run`` at start).
    command : dict or str
        The command object, or a raw JSON line.

    Raises
    ------
    ControlError
        No flowgraph answers at ``path``.
    """
    line = command if isinstance(command, str) else json.dumps(command)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        try:
            s.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError):
            raise ControlError(f"no running flowgraph at {path}") from None
        except OSError as exc:
            raise ControlError(f"cannot connect to {path}: {exc.strerror or exc}") from None
        s.sendall(line.strip().encode() + b"\n")
        f = s.makefile("rb")
        try:
            reply = f.readline()
        except socket.timeout:
            raise ControlError(f"{path}: no reply within {timeout:g} s") from None
        if not reply:
            raise ControlError(f"{path}: the flowgraph closed the connection without replying")
        return json.loads(reply)
    finally:
        s.close()
