"""The block registry: flowgraph ``type:`` names → :class:`~argosneo.flowgraph.block.Block` classes.

Blocks register themselves with :func:`register_block`; :func:`load_builtin_blocks` imports
every module that defines shipped blocks (modules of parts not yet present are skipped), and
:func:`validate_params` checks a parameter mapping against a block's ``Param`` declarations.
"""

from __future__ import annotations

import difflib
import importlib
import math
from typing import Any

from argosneo.errors import FlowgraphError
from argosneo.flowgraph.block import Block, Param, SourceBlock

#: kind -> class, in registration order
BLOCKS: dict[str, type[Block]] = {}

#: Modules whose import registers the shipped blocks. A module that does not exist (a part of
#: the receiver not written yet) is skipped; any other import error is a real bug and raises.
BUILTIN_BLOCK_MODULES = (
    "argosneo.flowgraph.blocks_io",
    "argosneo.flowgraph.blocks_dsp",
    "argosneo.flowgraph.blocks_a2",
    "argosneo.flowgraph.blocks_stages",
    "argosneo.receiver.blocks",
    "argosneo.channelize.block",
    "argosneo.detect.block",
    "argosneo.demodulate.block",
    "argosneo.deframe.block",
    "argosneo.sinks.block",
    "argosneo.channelize.blocks",
    "argosneo.detect.blocks",
    "argosneo.demodulate.blocks",
    "argosneo.deframe.blocks",
    "argosneo.sinks.blocks",
)

_loaded = False


def register_block(cls: type[Block]) -> type[Block]:
    """Class decorator: make a :class:`Block` subclass available to flowgraphs by its ``kind``.

    Raises
    ------
    FlowgraphError
        If ``kind`` is empty, already taken by another class, or a declaration is malformed.
    """
    if not (isinstance(cls, type) and issubclass(cls, Block)):
        raise FlowgraphError(f"register_block: {cls!r} is not a Block subclass")
    kind = cls.kind
    if not kind or not isinstance(kind, str):
        raise FlowgraphError(f"register_block: {cls.__name__} has no kind")
    other = BLOCKS.get(kind)
    if other is not None and other.__qualname__ != cls.__qualname__:
        raise FlowgraphError(
            f"block kind {kind!r} registered twice ({other.__module__}.{other.__qualname__} "
            f"and {cls.__module__}.{cls.__qualname__})")
    names = [p.name for p in cls.params]
    if len(set(names)) != len(names) or not all(isinstance(p, Param) for p in cls.params):
        raise FlowgraphError(f"register_block: {kind}: params must be Param objects with distinct names")
    BLOCKS[kind] = cls
    return cls


def load_builtin_blocks() -> dict[str, type[Block]]:
    """Import every module that registers shipped blocks; return the registry."""
    global _loaded
    if not _loaded:
        for name in BUILTIN_BLOCK_MODULES:
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                # Only "this module does not exist (yet)" is tolerated.
                if exc.name is None or not name.startswith(exc.name):
                    raise
        _loaded = True
    return BLOCKS


def get_block_class(kind: str) -> type[Block]:
    """The class registered for ``kind``.

    Raises
    ------
    FlowgraphError
        ``unknown block type 'x'`` with the closest known names.
    """
    load_builtin_blocks()
    if not isinstance(kind, str):
        raise FlowgraphError(f"block type must be a name, got {kind!r}")
    try:
        return BLOCKS[kind]
    except KeyError:
        close = difflib.get_close_matches(kind, list(BLOCKS), n=3, cutoff=0.5)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise FlowgraphError(f"unknown block type {kind!r}{hint}; `argosneo flowgraph blocks` lists them") from None


def is_source(cls: type[Block]) -> bool:
    """True for source blocks (no inputs, produce the stream)."""
    return issubclass(cls, SourceBlock)


def _type_name(t) -> str:
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string",
            list: "a list", dict: "a mapping"}.get(t, getattr(t, "__name__", str(t)))


def check_param_value(p: Param, value: Any) -> Any:
    """Check one value against its declaration; return it converted (int → float for floats).

    Raises
    ------
    FlowgraphError
        ``parameter 'x': expected ..., got ...`` (no location; callers add it).
    """
    if value is None:
        if p.required:
            raise FlowgraphError(f"parameter {p.name!r} is required")
        return None
    t = p.type
    bad = FlowgraphError(f"parameter {p.name!r}: expected {_type_name(t)}, got {value!r} "
                         f"({type(value).__name__})")
    if t is bool:
        if not isinstance(value, bool):
            raise bad
    elif t is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
    elif t is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        value = float(value)
        if not math.isfinite(value):
            raise FlowgraphError(f"parameter {p.name!r}: must be finite, got {value!r}")
    elif t is str:
        if not isinstance(value, str):
            raise bad
    elif isinstance(t, type) and not isinstance(value, t):
        raise bad
    if p.choices is not None and value not in p.choices:
        raise FlowgraphError(f"parameter {p.name!r}: {value!r} is not one of "
                             f"{', '.join(repr(c) for c in p.choices)}")
    if p.minimum is not None and value < p.minimum:
        raise FlowgraphError(f"parameter {p.name!r}: {value!r} is below the minimum {p.minimum!r}")
    if p.maximum is not None and value > p.maximum:
        raise FlowgraphError(f"parameter {p.name!r}: {value!r} is above the maximum {p.maximum!r}")
    return value


def validate_params(cls: type[Block], params: dict, *, partial: bool = False) -> dict:
    """Validate a parameter mapping for block class ``cls``.

    Parameters
    ----------
    cls : type
        The block class.
    params : dict
        Parameter values given by the user.
    partial : bool
        Only check the given names (a reconfiguration); do not fill defaults or require any.

    Returns
    -------
    dict
        Every declared parameter with its value (defaults filled in), or with ``partial`` only
        the given ones, converted.

    Raises
    ------
    FlowgraphError
        The first problem: unknown parameter (with suggestions), missing required one, bad
        type, out of range or not one of the choices.
    """
    declared = {p.name: p for p in cls.params}
    for name in params:
        if name not in declared:
            close = difflib.get_close_matches(str(name), list(declared), n=2, cutoff=0.5)
            hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
            known = ", ".join(declared) or "none"
            raise FlowgraphError(f"unknown parameter {name!r} for block type {cls.kind!r}{hint}; "
                                 f"its parameters: {known}")
    out = {}
    for name, p in declared.items():
        if name in params:
            out[name] = check_param_value(p, params[name])
        elif not partial:
            if p.required:
                raise FlowgraphError(f"parameter {name!r} is required for block type {cls.kind!r}")
            out[name] = p.default
    return out


def describe_block(cls: type[Block]) -> dict:
    """A plain description of a block class (for ``argosneo flowgraph blocks --json``)."""
    return {
        "type": cls.kind,
        "source": is_source(cls),
        "doc": " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split()),
        "inputs": list(cls.inputs),
        "outputs": list(cls.outputs),
        "optional_inputs": list(getattr(cls, "optional_inputs", ())),
        "optional_outputs": list(getattr(cls, "optional_outputs", ())),
        "port_kinds": dict(getattr(cls, "port_kinds", {})),
        "params": [
            {"name": p.name, "type": getattr(p.type, "__name__", str(p.type)), "default": p.default,
             "required": p.required, "minimum": p.minimum, "maximum": p.maximum,
             "choices": list(p.choices) if p.choices is not None else None,
             "reconfigurable": p.reconfigurable, "doc": p.doc}
            for p in cls.params
        ],
    }
