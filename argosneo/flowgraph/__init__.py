"""Flowgraphs: blocks wired by a YAML file, run by a streaming runtime, reconfigured in flight.

``schema`` loads and validates files, ``registry`` knows the block types, ``runtime`` runs a
graph, ``control`` is the local control socket; the shipped flowgraphs live in ``flowgraphs/``
at the top of the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The shipped flowgraphs (``flowgraphs/*.yaml`` next to the package).
SHIPPED_DIR = Path(__file__).resolve().parents[2] / "flowgraphs"


def shipped_flowgraphs() -> dict[str, Path]:
    """Name → path of every shipped flowgraph."""
    return {p.stem: p for p in sorted(SHIPPED_DIR.glob("*.yaml"))}


def resolve_flowgraph(name_or_path) -> Path:
    """A flowgraph file given by path, or by the name of a shipped one (``a2_receiver``)."""
    p = Path(os.fspath(name_or_path))
    if p.exists() or p.suffix in (".yaml", ".yml") or len(p.parts) > 1:
        return p
    shipped = shipped_flowgraphs()
    return shipped.get(str(name_or_path), p)
