"""Flowgraph files: YAML with line numbers, the graph model, and validation before running.

The schema is documented in ``docs/flowgraphs.md``. Loading reads the YAML with a
``SafeLoader`` that remembers where every key and list item was written, builds a
:class:`Flowgraph`, and validates the base graph and every named configuration completely:
unknown block types and parameters, bad parameter types/ranges/choices, unknown blocks or
ports in connections, ports of different kinds, unconnected ports (but those a block declares
optional), cycles, rate mismatches, bad schedule entries. Every problem is reported as
``FILE:LINE: what is wrong``; all problems found are kept in :attr:`FlowgraphFileError.errors`.

The same graph model and :func:`validate_graph` check reconfigurations while running.
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from argosneo.errors import ArgosneoError, FlowgraphError
from argosneo.flowgraph.registry import get_block_class, is_source, validate_params

# ------------------------------------------------------------------------------------- errors


class FlowgraphFileError(FlowgraphError):
    """One or more problems in a flowgraph; ``errors`` lists every ``FILE:LINE: what``."""

    def __init__(self, errors: list[str]):
        self.errors = list(errors)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        super().__init__(errors[0] + more)


class _Problems:
    """Collects located problems; ``where(line)`` formats ``FILE:LINE`` (or nothing)."""

    def __init__(self, source: str | None):
        self.source = source
        self.items: list[str] = []

    def add(self, line: int | None, msg: str) -> None:
        if self.source is None:
            self.items.append(msg)
        elif line is None:
            self.items.append(f"{self.source}: {msg}")
        else:
            self.items.append(f"{self.source}:{line}: {msg}")

    def raise_if_any(self) -> None:
        if self.items:
            raise FlowgraphFileError(self.items)


# ------------------------------------------------------------------------------- YAML + lines


class LMap(dict):
    """A mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LList(list):
    """A list that remembers its own line and each item's line (1-based)."""

    line: int = 0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.item_lines: list[int] = []

    def line_of(self, i: int) -> int:
        return self.item_lines[i] if i < len(self.item_lines) else self.line


class _DuplicateKey(Exception):
    def __init__(self, line: int, key):
        self.line, self.key = line, key


class _Loader(yaml.SafeLoader):
    pass


# YAML 1.1 (PyYAML) reads 1e6 and 2.4e+6 without a dot as strings; a radio person writes
# sample rates that way, so they are numbers here.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def _construct_map(loader, node):
    loader.flatten_mapping(node)
    m = LMap()
    m.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise _DuplicateKey(key_node.start_mark.line + 1, None) from None
        if key in m:
            raise _DuplicateKey(key_node.start_mark.line + 1, key)
        m[key] = loader.construct_object(value_node, deep=True)
        m.key_lines[key] = key_node.start_mark.line + 1
    return m


def _construct_seq(loader, node):
    out = LList()
    out.line = node.start_mark.line + 1
    for item in node.value:
        out.append(loader.construct_object(item, deep=True))
        out.item_lines.append(item.start_mark.line + 1)
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def load_yaml(text: str, source: str):
    """Parse YAML text into plain data whose mappings/lists know their line numbers.

    Raises
    ------
    FlowgraphFileError
        ``SOURCE:LINE: YAML syntax error: ...`` or a duplicate key.
    """
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except _DuplicateKey as exc:
        what = "a key must be a plain value" if exc.key is None else f"duplicate key {exc.key!r}"
        raise FlowgraphFileError([f"{source}:{exc.line}: {what}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise FlowgraphFileError([f"{source}:{line}: YAML syntax error: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise FlowgraphFileError([f"{source}: YAML error: {exc}"]) from None


# -------------------------------------------------------------------------------- the model

_ID_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class Unresolved:
    """A parameter that names a variable with no value yet (``${input}`` before ``--var``)."""

    variable: str


OMIT = object()   #: a parameter set from a variable with no value: the block's default applies


@dataclass
class BlockSpec:
    """One block of a graph: its id, type, given parameters and where it was written."""

    id: str
    type: str
    params: dict
    line: int | None = None
    param_lines: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Connection:
    """``src.src_port → dst.dst_port``; a port of None means the block's only port (or its
    only required one, when the others are optional)."""

    src: str
    src_port: str | None
    dst: str
    dst_port: str | None
    line: int | None = None

    def key(self) -> tuple:
        return (self.src, self.src_port, self.dst, self.dst_port)

    def __str__(self) -> str:
        a = self.src if self.src_port is None else f"{self.src}.{self.src_port}"
        b = self.dst if self.dst_port is None else f"{self.dst}.{self.dst_port}"
        return f"{a} -> {b}"


@dataclass
class Graph:
    """A concrete graph: blocks and connections (one configuration of a flowgraph)."""

    blocks: dict[str, BlockSpec]
    connections: list[Connection]

    def copy(self) -> "Graph":
        return Graph({k: replace(v, params=dict(v.params), param_lines=dict(v.param_lines))
                      for k, v in self.blocks.items()}, list(self.connections))


@dataclass
class ValidGraph:
    """A graph that passed validation, with everything the runtime needs."""

    graph: Graph
    params: dict[str, dict]                 #: block id -> validated parameters (defaults filled)
    classes: dict[str, type]                #: block id -> class
    order: list[str]                        #: topological order
    source: str                             #: id of the source block
    edges: dict[tuple[str, str], list[tuple[str, str]]]   #: (src, port) -> [(dst, port)]
    rates: dict[tuple[str, str], float | None]            #: (block, output port) -> rate


@dataclass
class Configuration:
    """A named configuration: changes relative to the base graph."""

    name: str
    line: int | None = None
    set: dict[str, dict] = field(default_factory=dict)
    blocks: dict[str, BlockSpec] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)
    connections: list[Connection] = field(default_factory=list)
    disconnect: list[Connection] = field(default_factory=list)
    description: str = ""


@dataclass
class ScheduledChange:
    """"At this point of the stream, run this command" (the YAML ``schedule``)."""

    command: dict
    at_sample: int | None = None
    at_time: float | None = None            #: seconds after stream sample 0
    at_utc: _dt.datetime | None = None
    line: int | None = None

    def sample_index(self, sample_rate: float, start_time: _dt.datetime | None) -> int:
        """The stream sample index at which the change applies."""
        if self.at_sample is not None:
            return self.at_sample
        if self.at_time is not None:
            return int(round(self.at_time * sample_rate))
        if start_time is None:
            raise FlowgraphError(f"schedule entry at_utc {self.at_utc.isoformat()} needs a stream with a known "
                                 "start time (the capture has none)")
        return int(round((self.at_utc - start_time).total_seconds() * sample_rate))


BASE = "base"   #: name of the configuration written at the top level

MODES = ("offline", "live")


@dataclass
class Flowgraph:
    """A loaded and validated flowgraph file."""

    path: str
    name: str
    description: str
    base: Graph
    configurations: dict[str, Configuration]
    schedule: list[ScheduledChange]
    mode: str | None = None                 #: None: from the source (live device or file)
    queue_size: int = 8
    initial: str = BASE
    variables: dict = field(default_factory=dict)

    def graph_for(self, name: str) -> Graph:
        """The concrete graph of a named configuration (``base`` = the top level)."""
        if name == BASE:
            return self.base.copy()
        try:
            conf = self.configurations[name]
        except KeyError:
            names = ", ".join([BASE, *self.configurations])
            raise FlowgraphError(f"no configuration named {name!r} (this flowgraph has: {names})") from None
        return apply_configuration(self.base, conf)

    def configuration_names(self) -> list[str]:
        return [BASE, *self.configurations]


# ----------------------------------------------------------------------------- graph editing


def apply_configuration(base: Graph, conf: Configuration) -> Graph:
    """The graph ``conf`` describes: ``base`` with its removals, replacements, additions, sets."""
    g = base.copy()
    for bid in conf.remove:
        g.blocks.pop(bid, None)
        g.connections = [c for c in g.connections if bid not in (c.src, c.dst)]
    for bid, spec in conf.blocks.items():
        g.blocks[bid] = replace(spec, params=dict(spec.params))
    drop = {c.key() for c in conf.disconnect}
    g.connections = [c for c in g.connections if c.key() not in drop]
    have = {c.key() for c in g.connections}
    g.connections += [c for c in conf.connections if c.key() not in have]
    for bid, params in conf.set.items():
        if bid in g.blocks:
            g.blocks[bid].params.update(params)
    return g


def parse_endpoint(text, default_port=None) -> tuple[str, str | None]:
    """``"block.port"`` or ``"block"`` → (block, port or None)."""
    if not isinstance(text, str) or not text.strip():
        raise FlowgraphError(f"a connection end must be 'block' or 'block.port', got {text!r}")
    text = text.strip()
    block, dot, port = text.partition(".")
    if not _ID_RE.match(block) or (dot and not port):
        raise FlowgraphError(f"a connection end must be 'block' or 'block.port', got {text!r}")
    return block, (port if dot else default_port)


def parse_connection(item, line: int | None = None) -> Connection:
    """A connection from ``[a, b]``, ``{from: a, to: b}`` or ``"a -> b"`` (``a``/``b`` = block[.port])."""
    if isinstance(item, str) and "->" in item:
        a, b = item.split("->", 1)
    elif isinstance(item, (list, tuple)) and len(item) == 2:
        a, b = item
    elif isinstance(item, dict) and set(item) == {"from", "to"}:
        a, b = item["from"], item["to"]
    else:
        raise FlowgraphError(f"a connection must be [from, to], {{from: .., to: ..}} or 'from -> to', got {item!r}")
    (s, sp), (d, dp) = parse_endpoint(a), parse_endpoint(b)
    return Connection(s, sp, d, dp, line)


# ----------------------------------------------------------------------------- validation


def optional_ports(cls, outputs: bool) -> tuple[str, ...]:
    """Ports of a block class that may be left unconnected: its ``optional_inputs`` or
    ``optional_outputs`` class attribute (e.g. the recorder's ``bursts`` input)."""
    return tuple(getattr(cls, "optional_outputs" if outputs else "optional_inputs", ()))


def _resolve_port(cls, bid: str, port: str | None, outputs: bool) -> str:
    ports = cls.outputs if outputs else cls.inputs
    kind = "output" if outputs else "input"
    if port is None:
        if len(ports) == 1:
            return ports[0]
        if not ports:
            raise FlowgraphError(f"block {bid!r} ({cls.kind}) has no {kind}s")
        # a block with one required port and optional ones: the bare name means the required one
        required = [p for p in ports if p not in optional_ports(cls, outputs)]
        if len(required) == 1:
            return required[0]
        raise FlowgraphError(f"block {bid!r} ({cls.kind}) has several {kind}s ({', '.join(ports)}); "
                             f"write {bid}.PORT")
    if port not in ports:
        have = ", ".join(ports) or "none"
        raise FlowgraphError(f"block {bid!r} ({cls.kind}) has no {kind} port {port!r} (its {kind}s: {have})")
    return port


def validate_graph(graph: Graph, *, source: str | None = None, source_rate: float | None = None,
                   allow_unresolved: bool = False, prefix: str = "", seen: set | None = None) -> ValidGraph:
    """Check a graph completely before it runs (or before a reconfiguration is applied).

    Parameters
    ----------
    graph : Graph
        The blocks and connections.
    source : str, optional
        File name for messages (``FILE:LINE: ...``); None for a change arriving while running.
    source_rate : float, optional
        The actual rate of the running source (overrides what its parameters say).
    allow_unresolved : bool
        Accept parameters still naming a variable with no value (``flowgraph check``).
    prefix : str
        Put before each message (e.g. ``"configuration 'B': "``).
    seen : set, optional
        ``(line, message)`` pairs already reported (for another configuration of the same
        file): not repeated; new ones are added.

    Returns
    -------
    ValidGraph

    Raises
    ------
    FlowgraphFileError
        Every problem found, each on its own line.
    """
    probs = _Problems(source)

    failed = []

    def add(line, msg):
        failed.append(msg)
        if seen is not None:
            if (line, msg) in seen:
                return
            seen.add((line, msg))
        probs.add(line, prefix + msg)

    classes, params = {}, {}
    unresolved_blocks = set()
    for bid, spec in graph.blocks.items():
        if not _ID_RE.match(bid):
            add(spec.line, f"block id {bid!r} must be letters, digits, '_' or '-' (no dots)")
            continue
        try:
            cls = get_block_class(spec.type)
        except FlowgraphError as exc:
            add(spec.line, f"block {bid!r}: {exc}")
            continue
        classes[bid] = cls
        given = dict(spec.params)
        for name, value in list(given.items()):
            if isinstance(value, Unresolved):
                if not allow_unresolved:
                    add(spec.param_lines.get(name, spec.line),
                        f"block {bid!r}: parameter {name!r} uses variable {value.variable!r}, which has no value "
                        f"(give it with --var {value.variable}=VALUE)")
                del given[name]
                unresolved_blocks.add(bid)
        try:
            p = validate_params(cls, given)
        except FlowgraphError as exc:
            if bid in unresolved_blocks and "is required" in str(exc):
                p = {q.name: given.get(q.name, q.default) for q in cls.params}
            else:
                bad = next((n for n in given if repr(n) in str(exc)), None)
                add(spec.param_lines.get(bad, spec.line), f"block {bid!r}: {exc}")
                continue
        params[bid] = p

    sources = [b for b, c in classes.items() if is_source(c)]
    if len(sources) == 0 and classes:
        add(None, "the graph has no source block (file_source, soapy_source, ...)")
    elif len(sources) > 1:
        for b in sources[1:]:
            add(graph.blocks[b].line, f"block {b!r}: a flowgraph has exactly one source "
                                      f"(already have {sources[0]!r})")

    edges: dict[tuple[str, str], list[tuple[str, str]]] = {}
    incoming: dict[tuple[str, str], list[Connection]] = {}
    conn_seen = set()
    resolved_conns = []
    for c in graph.connections:
        ok = True
        for bid in (c.src, c.dst):
            if bid not in graph.blocks:
                close = [b for b in graph.blocks if b.lower() == bid.lower()]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                add(c.line, f"connection {c}: no block named {bid!r}{hint}")
                ok = False
        if not ok or c.src not in classes or c.dst not in classes:
            continue
        try:
            sp = _resolve_port(classes[c.src], c.src, c.src_port, outputs=True)
            dp = _resolve_port(classes[c.dst], c.dst, c.dst_port, outputs=False)
        except FlowgraphError as exc:
            add(c.line, f"connection {c}: {exc}")
            continue
        ks = getattr(classes[c.src], "port_kinds", {}).get(sp)
        kd = getattr(classes[c.dst], "port_kinds", {}).get(dp)
        if ks and kd and ks != kd:
            # name the port that would take it when the block has one (rec.bursts for events)
            fits = [p for p in classes[c.dst].inputs if getattr(classes[c.dst], "port_kinds", {}).get(p) == ks]
            hint = f" (connect to {c.dst}.{fits[0]})" if len(fits) == 1 else ""
            add(c.line, f"connection {c}: {c.src}.{sp} carries {ks} but {c.dst}.{dp} takes {kd}{hint}")
            continue
        if (c.src, sp, c.dst, dp) in conn_seen:
            add(c.line, f"connection {c} is given twice")
            continue
        conn_seen.add((c.src, sp, c.dst, dp))
        edges.setdefault((c.src, sp), []).append((c.dst, dp))
        incoming.setdefault((c.dst, dp), []).append(c)
        resolved_conns.append((c, sp, dp))

    for bid, cls in classes.items():
        line = graph.blocks[bid].line
        optional = set(optional_ports(cls, outputs=False))
        for port in cls.inputs:
            if (bid, port) not in incoming and port not in optional:
                add(line, f"block {bid!r}: input port {port!r} is not connected")
        optional = set(optional_ports(cls, outputs=True))
        for port in cls.outputs:
            if (bid, port) not in edges and port not in optional:
                add(line, f"block {bid!r}: output port {port!r} is not connected")

    # Kahn's algorithm; what is left over sits on a cycle.
    succ = {b: set() for b in classes}
    indeg = {b: 0 for b in classes}
    for (s, _), dsts in edges.items():
        for d, _ in dsts:
            if d not in succ[s]:
                succ[s].add(d)
                indeg[d] += 1
    order = [b for b in graph.blocks if b in classes and indeg[b] == 0]
    i = 0
    while i < len(order):
        for d in sorted(succ[order[i]], key=list(graph.blocks).index):
            indeg[d] -= 1
            if indeg[d] == 0:
                order.append(d)
        i += 1
    if len(order) < len(classes):
        left = [b for b in graph.blocks if b in classes and b not in order]
        cycle = _find_cycle(left, succ)
        line = next((c.line for c, _, _ in resolved_conns if c.src == cycle[-2] and c.dst == cycle[-1]), None)
        add(line, f"cycle: {' -> '.join(cycle)} (a flowgraph must not loop back)")

    rates: dict[tuple[str, str], float | None] = {}
    if not failed:
        for bid in order:
            cls = classes[bid]
            ins = {}
            for port in cls.inputs:
                srcs = {rates.get((c.src, sp)) for c, sp, dp in resolved_conns if c.dst == bid and dp == port}
                known = {r for r in srcs if r is not None}
                if len(known) > 1:
                    add(graph.blocks[bid].line, f"block {bid!r}: rate mismatch: input {port!r} is fed at "
                                                f"{', '.join(f'{r:g}' for r in sorted(known))} Hz")
                ins[port] = known.pop() if known else None
            p = dict(params[bid])
            if is_source(cls) and source_rate is not None:
                p["_actual_rate"] = source_rate
            try:
                out = cls.output_rates(p, ins)
            except ArgosneoError as exc:
                add(graph.blocks[bid].line, f"block {bid!r}: {exc}")
                out = {port: None for port in cls.outputs}
            for port in cls.outputs:
                rates[(bid, port)] = out.get(port)
    probs.raise_if_any()
    if failed:   # only problems already reported for another configuration
        raise FlowgraphFileError([f"{source or 'graph'}: invalid (see above)"])
    return ValidGraph(graph=graph, params=params, classes=classes, order=order, source=sources[0],
                      edges=edges, rates=rates)


def _find_cycle(nodes: list[str], succ: dict[str, set]) -> list[str]:
    left = set(nodes)
    start = nodes[0]
    path, pos = [start], {start: 0}
    while True:
        nxt = next(d for d in sorted(succ[path[-1]]) if d in left)
        if nxt in pos:
            return path[pos[nxt]:] + [nxt]
        pos[nxt] = len(path)
        path.append(nxt)


# ------------------------------------------------------------------------------- file → model

_TOP_KEYS = ("flowgraph", "description", "mode", "queue_size", "variables", "blocks", "connections",
             "configurations", "initial", "schedule")
_BLOCK_KEYS = ("type", "params", "doc")
_CONF_KEYS = ("description", "set", "blocks", "remove", "connections", "disconnect")
_ACTIONS = ("configuration", "set", "add", "remove", "swap")


def _substitute(value, variables: dict):
    """``${name}`` → the variable's value (whole string: keeps its type; inside text: as text)."""
    if isinstance(value, str):
        m = _VAR_RE.fullmatch(value.strip())
        if m:
            name = m.group(1)
            if name not in variables:
                raise FlowgraphError(f"unknown variable {name!r} (declare it under 'variables:')")
            v = variables[name]
            return OMIT if v is None else v

        def one(m):
            name = m.group(1)
            if name not in variables:
                raise FlowgraphError(f"unknown variable {name!r} (declare it under 'variables:')")
            v = variables[name]
            if isinstance(v, Unresolved):
                raise _UnresolvedInText(name)
            return "" if v is None else str(v)

        try:
            return _VAR_RE.sub(one, value)
        except _UnresolvedInText as exc:
            return Unresolved(exc.name)
    return value


class _UnresolvedInText(Exception):
    def __init__(self, name):
        self.name = name


def _block_spec(bid, body, line, probs: _Problems, variables: dict, where: str = "") -> BlockSpec | None:
    if not isinstance(body, dict):
        probs.add(line, f"{where}block {bid!r}: expected a mapping with 'type' and 'params', got {body!r}")
        return None
    for k in body:
        if k not in _BLOCK_KEYS:
            probs.add(body.line_of(k) if isinstance(body, LMap) else line,
                      f"{where}block {bid!r}: unknown key {k!r} (a block has: type, params, doc; "
                      "parameters go under 'params:')")
    kind = body.get("type")
    if not isinstance(kind, str):
        probs.add(line, f"{where}block {bid!r}: 'type' must name a block type, got {kind!r}")
        return None
    raw = body.get("params") or {}
    if not isinstance(raw, dict):
        probs.add(body.line_of("params") if isinstance(body, LMap) else line,
                  f"{where}block {bid!r}: 'params' must be a mapping, got {raw!r}")
        return None
    params, plines = {}, {}
    for k, v in raw.items():
        pl = raw.line_of(k) if isinstance(raw, LMap) else line
        try:
            value = _substitute(_plain(v), variables)
        except FlowgraphError as exc:
            probs.add(pl, f"{where}block {bid!r}: parameter {k!r}: {exc}")
            continue
        if value is OMIT:
            continue   # a variable left empty: the parameter keeps its default
        params[k], plines[k] = value, pl
    return BlockSpec(id=str(bid), type=kind, params=params, line=line, param_lines=plines)


def _plain(v):
    """LMap/LList → dict/list (block parameters are plain data)."""
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def _connections(items, probs: _Problems, where: str = "") -> list[Connection]:
    out = []
    if items is None:
        return out
    if not isinstance(items, list):
        probs.add(getattr(items, "line", None), f"{where}'connections' must be a list")
        return out
    for i, item in enumerate(items):
        line = items.line_of(i) if isinstance(items, LList) else None
        try:
            out.append(parse_connection(_plain(item), line))
        except FlowgraphError as exc:
            probs.add(line, f"{where}{exc}")
    return out


def _schedule_entry(entry, line, probs: _Problems, conf_names) -> ScheduledChange | None:
    if not isinstance(entry, dict):
        probs.add(line, f"schedule entry must be a mapping (at_sample/at_time/at_utc + an action), got {entry!r}")
        return None
    lo = entry.line_of if isinstance(entry, LMap) else (lambda k: line)
    for k in entry:
        if k not in ("at_sample", "at_time", "at_utc", "note", *_ACTIONS):
            probs.add(lo(k), f"schedule: unknown key {k!r} (use at_sample, at_time or at_utc and one of "
                             f"{', '.join(_ACTIONS)})")
            return None
    whens = [k for k in ("at_sample", "at_time", "at_utc") if k in entry]
    actions = [k for k in _ACTIONS if k in entry]
    if len(whens) != 1:
        probs.add(line, "schedule entry needs exactly one of at_sample, at_time, at_utc")
        return None
    if len(actions) != 1:
        probs.add(line, f"schedule entry needs exactly one action ({', '.join(_ACTIONS)})")
        return None
    sc = ScheduledChange(command={}, line=line)
    w, v = whens[0], entry[whens[0]]
    if w == "at_sample":
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            probs.add(lo(w), f"schedule: at_sample must be a sample index >= 0, got {v!r}")
            return None
        sc.at_sample = v
    elif w == "at_time":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            probs.add(lo(w), f"schedule: at_time must be seconds >= 0 after the stream start, got {v!r}")
            return None
        sc.at_time = float(v)
    else:
        from argosneo.io.reader import parse_datetime
        try:
            sc.at_utc = parse_datetime(v)
        except ValueError as exc:
            probs.add(lo(w), f"schedule: at_utc: {exc}")
            return None
    a = actions[0]
    try:
        sc.command = command_from_action(a, _plain(entry[a]))
    except FlowgraphError as exc:
        probs.add(lo(a), f"schedule: {exc}")
        return None
    if a == "configuration" and sc.command["name"] not in conf_names:
        probs.add(lo(a), f"schedule: no configuration named {sc.command['name']!r} "
                         f"(this flowgraph has: {', '.join(conf_names)})")
        return None
    return sc


def command_from_action(action: str, value) -> dict:
    """A schedule entry's action (``set: {det: {threshold_db: 12}}`` ...) as a control command."""
    if action == "configuration":
        if not isinstance(value, str):
            raise FlowgraphError(f"configuration must be a configuration name, got {value!r}")
        return {"cmd": "configuration", "name": value}
    if action == "set":
        if not isinstance(value, dict) or not value or not all(isinstance(p, dict) for p in value.values()):
            raise FlowgraphError(f"set must map block ids to {{param: value}}, got {value!r}")
        return {"cmd": "set", "blocks": value}
    if action == "remove":
        if not isinstance(value, str):
            raise FlowgraphError(f"remove must be a block id, got {value!r}")
        return {"cmd": "remove", "block": value}
    if action in ("add", "swap"):
        if not isinstance(value, dict) or len(value) != 1:
            raise FlowgraphError(f"{action} must be {{block_id: {{type: .., params: ..}}}}, got {value!r}")
        (bid, body), = value.items()
        if not isinstance(body, dict):
            raise FlowgraphError(f"{action}: block {bid!r} must be a mapping, got {body!r}")
        cmd = {"cmd": action, "block": bid, "type": body.get("type"), "params": body.get("params") or {}}
        if action == "add":
            cmd["connections"] = body.get("connections") or []
        extra = set(body) - {"type", "params", "connections" if action == "add" else "type"}
        if extra:
            raise FlowgraphError(f"{action}: block {bid!r}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
        return cmd
    raise FlowgraphError(f"unknown action {action!r}")


def parse_value(text: str):
    """A command-line value (``--set``, ``--var``) read as a YAML scalar: 12 → int, 1e6 → float."""
    try:
        return _plain(yaml.load(text, Loader=_Loader))  # noqa: S506 - SafeLoader subclass
    except yaml.YAMLError:
        return text


def load_flowgraph(path, *, variables: dict | None = None, overrides: dict | None = None,
                   allow_unresolved: bool = False, text: str | None = None) -> Flowgraph:
    """Read and completely validate a flowgraph file.

    Parameters
    ----------
    path : str or path-like
        The ``.yaml`` file (also the name used in messages).
    variables : dict, optional
        Values for the file's ``variables`` (``--var name=value``).
    overrides : dict, optional
        ``{block_id: {param: value}}`` applied to the base graph before validation (``--set``).
    allow_unresolved : bool
        Accept variables without a value (``flowgraph check`` of a flowgraph meant to be given
        its input on the command line).
    text : str, optional
        The YAML text (default: read ``path``).

    Returns
    -------
    Flowgraph

    Raises
    ------
    FlowgraphFileError
        Every problem, each as ``FILE:LINE: what``.
    """
    source = os.fspath(path)
    if text is None:
        try:
            text = Path(source).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FlowgraphError(f"{source}: no such flowgraph file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FlowgraphError(f"{source}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    doc = load_yaml(text, source)
    probs = _Problems(source)
    if not isinstance(doc, dict):
        raise FlowgraphFileError([f"{source}:1: a flowgraph file is a mapping with 'blocks' and 'connections'"])
    for k in doc:
        if k not in _TOP_KEYS:
            probs.add(doc.line_of(k), f"unknown top-level key {k!r} (allowed: {', '.join(_TOP_KEYS)})")

    declared = doc.get("variables") or {}
    if not isinstance(declared, dict):
        probs.add(doc.line_of("variables"), "'variables' must map names to default values (null = must be given)")
        declared = {}
    values, required = {}, set()
    for k, v in declared.items():
        if isinstance(v, dict):
            extra = set(v) - {"default", "required", "doc"}
            if extra:
                probs.add(declared.line_of(k), f"variable {k!r}: unknown key(s) {', '.join(map(repr, sorted(extra)))} "
                                               "(a variable has default, required, doc)")
            values[str(k)] = _plain(v.get("default"))
            if v.get("required"):
                required.add(str(k))
        else:
            values[str(k)] = _plain(v)
    for k, v in (variables or {}).items():
        if k not in values:
            known = ", ".join(values) or "none"
            probs.add(None, f"--var {k}: the flowgraph has no variable {k!r} (its variables: {known})")
        values[k] = v
        required.discard(k)
    for k in required:
        values[k] = Unresolved(k)

    name = doc.get("flowgraph", Path(source).stem)
    description = doc.get("description") or ""
    mode = doc.get("mode")
    if mode is not None and mode not in MODES:
        probs.add(doc.line_of("mode"), f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    qsize = doc.get("queue_size", 8)
    if isinstance(qsize, bool) or not isinstance(qsize, int) or not 1 <= qsize <= 4096:
        probs.add(doc.line_of("queue_size"), f"queue_size must be an integer 1..4096, got {qsize!r}")
        qsize = 8

    blocks_raw = doc.get("blocks")
    blocks: dict[str, BlockSpec] = {}
    if not isinstance(blocks_raw, dict) or not blocks_raw:
        probs.add(doc.line_of("blocks"), "'blocks' must map block ids to {type: ..., params: {...}}")
    else:
        for bid, body in blocks_raw.items():
            spec = _block_spec(str(bid), body, blocks_raw.line_of(bid), probs, values)
            if spec is not None:
                blocks[str(bid)] = spec
    conns = _connections(doc.get("connections"), probs)
    base = Graph(blocks, conns)
    if overrides:
        for bid, ps in overrides.items():
            if bid not in base.blocks:
                probs.add(None, f"--set {bid}.…: no block named {bid!r} (blocks: {', '.join(base.blocks)})")
                continue
            base.blocks[bid].params.update(ps)

    confs: dict[str, Configuration] = {}
    craw = doc.get("configurations") or {}
    if not isinstance(craw, dict):
        probs.add(doc.line_of("configurations"), "'configurations' must map names to changes")
        craw = {}
    for cname, body in craw.items():
        line = craw.line_of(cname)
        where = f"configuration {cname!r}: "
        if cname == BASE:
            probs.add(line, f"'{BASE}' is the name of the top-level graph; choose another configuration name")
            continue
        if not isinstance(body, dict):
            probs.add(line, f"{where}expected a mapping of changes ({', '.join(_CONF_KEYS)})")
            continue
        conf = Configuration(name=str(cname), line=line, description=body.get("description") or "")
        for k in body:
            if k not in _CONF_KEYS:
                probs.add(body.line_of(k), f"{where}unknown key {k!r} (allowed: {', '.join(_CONF_KEYS)})")
        sets = body.get("set") or {}
        if not isinstance(sets, dict):
            probs.add(body.line_of("set"), f"{where}'set' must map block ids to {{param: value}}")
            sets = {}
        for bid, ps in sets.items():
            if not isinstance(ps, dict):
                probs.add(sets.line_of(bid), f"{where}set {bid!r}: expected {{param: value}}")
                continue
            try:
                subst = {k: _substitute(_plain(v), values) for k, v in ps.items()}
                conf.set[str(bid)] = {k: v for k, v in subst.items() if v is not OMIT}
            except FlowgraphError as exc:
                probs.add(sets.line_of(bid), f"{where}set {bid!r}: {exc}")
        braw = body.get("blocks") or {}
        if not isinstance(braw, dict):
            probs.add(body.line_of("blocks"), f"{where}'blocks' must map block ids to {{type, params}}")
            braw = {}
        for bid, b in braw.items():
            spec = _block_spec(str(bid), b, braw.line_of(bid), probs, values, where)
            if spec is not None:
                conf.blocks[str(bid)] = spec
        rem = body.get("remove") or []
        if isinstance(rem, str):
            rem = [rem]
        if not isinstance(rem, list) or not all(isinstance(r, str) for r in rem):
            probs.add(body.line_of("remove"), f"{where}'remove' must be a list of block ids")
            rem = []
        for i, r in enumerate(rem):
            if r not in base.blocks:
                probs.add(rem.line_of(i) if isinstance(rem, LList) else body.line_of("remove"),
                          f"{where}remove: no block named {r!r} in the base graph")
        conf.remove = list(rem)
        for bid in conf.set:
            if bid in conf.remove:
                probs.add(sets.line_of(bid), f"{where}set {bid!r}: the block is also removed")
            elif bid not in base.blocks and bid not in conf.blocks:
                probs.add(sets.line_of(bid), f"{where}set: no block named {bid!r}")
        conf.connections = _connections(body.get("connections"), probs, where)
        conf.disconnect = _connections(body.get("disconnect"), probs, where)
        confs[conf.name] = conf

    initial = doc.get("initial", BASE)
    if initial != BASE and initial not in confs:
        probs.add(doc.line_of("initial"), f"initial: no configuration named {initial!r}")
        initial = BASE

    schedule: list[ScheduledChange] = []
    sraw = doc.get("schedule") or []
    if not isinstance(sraw, list):
        probs.add(doc.line_of("schedule"), "'schedule' must be a list of {at_sample|at_time|at_utc, action}")
        sraw = []
    for i, entry in enumerate(sraw):
        sc = _schedule_entry(entry, sraw.line_of(i), probs, [BASE, *confs])
        if sc is not None:
            schedule.append(sc)

    probs.raise_if_any()   # structure first: validating graphs built from broken parts helps nobody

    fg = Flowgraph(path=source, name=str(name), description=str(description), base=base,
                   configurations=confs, schedule=schedule, mode=mode, queue_size=qsize, initial=initial,
                   variables=values)
    seen: set = set()
    for cname in fg.configuration_names():
        try:
            validate_graph(fg.graph_for(cname), source=source, allow_unresolved=allow_unresolved,
                           prefix="" if cname == BASE else f"configuration {cname!r}: ", seen=seen)
        except FlowgraphFileError as exc:
            probs.items.extend(e for e in exc.errors if not e.endswith(": invalid (see above)"))
    for sc in schedule:
        if sc.command["cmd"] == "set":
            for bid, ps in sc.command["blocks"].items():
                in_some = [c for c in fg.configuration_names() if bid in fg.graph_for(c).blocks]
                if not in_some:
                    probs.add(sc.line, f"schedule: set: no block named {bid!r} in any configuration")
    probs.raise_if_any()
    return fg


def copy_command(cmd: dict) -> dict:
    return copy.deepcopy(cmd)
