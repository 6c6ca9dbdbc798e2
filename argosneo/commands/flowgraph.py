"""``argosneo flowgraph``: validate flowgraph files, list block types and shipped flowgraphs."""

from __future__ import annotations

import json

import click

from argosneo.errors import ArgosneoError


@click.group("flowgraph")
def flowgraph():
    """Validate flowgraph files and list the blocks they can use."""


@flowgraph.command("check")
@click.argument("files", nargs=-1, required=True)
@click.option("-v", "--var", "variables", multiple=True, metavar="NAME=VALUE", help="Variable value (repeatable).")
@click.option("-s", "--set", "sets", multiple=True, metavar="BLOCK.PARAM=VALUE", help="Parameter override.")
@click.option("--require-vars", is_flag=True,
              help="Treat required variables without a value as errors (as `run` does).")
def check(files, variables, sets, require_vars):
    """Validate flowgraph FILES (or shipped names) completely, without running them.

    Prints every problem as FILE:LINE: what is wrong; exit status 2 if there is any.
    """
    from argosneo.commands.run import parse_assignments
    from argosneo.flowgraph import resolve_flowgraph
    from argosneo.flowgraph.schema import FlowgraphFileError, Unresolved, load_flowgraph

    var_values = parse_assignments(variables, "--var", False)
    overrides = parse_assignments(sets, "--set", True)
    problems = 0
    for name in files:
        path = resolve_flowgraph(name)
        try:
            fg = load_flowgraph(path, variables=var_values, overrides=overrides, allow_unresolved=not require_vars)
        except FlowgraphFileError as exc:
            for e in exc.errors:
                click.echo(e, err=True)
            problems += len(exc.errors)
            continue
        except ArgosneoError as exc:
            click.echo(str(exc), err=True)
            problems += 1
            continue
        missing = [k for k, v in fg.variables.items() if isinstance(v, Unresolved)]
        g = fg.base
        confs = ", ".join(fg.configuration_names())
        needs = f"; run needs {' '.join(f'--var {m}=...' for m in missing)}" if missing else ""
        click.echo(f"{path}: ok: {len(g.blocks)} blocks, {len(g.connections)} connections, "
                   f"configurations {confs}, {len(fg.schedule)} scheduled change(s){needs}")
    if problems:
        raise ArgosneoError(f"{problems} problem{'s' if problems > 1 else ''} found")


@flowgraph.command("blocks")
@click.argument("types", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def blocks(types, as_json):
    """List the registered block types with their ports and parameters (or only TYPES)."""
    from argosneo.flowgraph.registry import describe_block, get_block_class, load_builtin_blocks

    registry = load_builtin_blocks()
    classes = [get_block_class(t) for t in types] if types else list(registry.values())
    described = [describe_block(c) for c in classes]
    if as_json:
        click.echo(json.dumps(described, indent=2, default=str))
        return
    for d in described:
        ports = f"in: {_ports(d, 'inputs')}; out: {_ports(d, 'outputs')}"
        click.echo(f"{d['type']}{' (source)' if d['source'] else ''} [{ports}]")
        if d["doc"]:
            click.echo(f"    {d['doc']}")
        for p in d["params"]:
            bits = [p["type"]]
            if p["required"]:
                bits.append("required")
            elif p["default"] is not None:
                bits.append(f"default {p['default']!r}")
            if p["minimum"] is not None or p["maximum"] is not None:
                lo = "" if p["minimum"] is None else f"{p['minimum']!r}"
                hi = "" if p["maximum"] is None else f"{p['maximum']!r}"
                bits.append(f"range {lo}..{hi}")
            if p["choices"]:
                bits.append("one of " + "/".join(map(str, p["choices"])))
            if p["reconfigurable"]:
                bits.append("reconfigurable")
            click.echo(f"    {p['name']:<16} {', '.join(bits)}" + (f" — {p['doc']}" if p["doc"] else ""))
        click.echo()


def _ports(described: dict, side: str) -> str:
    """``name`` per port, with what it carries and whether it may stay unconnected."""
    out = []
    for port in described[side]:
        notes = [n for n in (described["port_kinds"].get(port),
                             "optional" if port in described[f"optional_{side}"] else None) if n]
        out.append(f"{port} ({', '.join(notes)})" if notes else port)
    return ", ".join(out) or "-"


@flowgraph.command("list")
def list_flowgraphs():
    """List the shipped flowgraphs."""
    from argosneo.flowgraph import shipped_flowgraphs
    from argosneo.flowgraph.schema import load_yaml

    for name, path in shipped_flowgraphs().items():
        try:
            doc = load_yaml(path.read_text(encoding="utf-8"), str(path))
            desc = doc.get("description", "") if isinstance(doc, dict) else ""
        except ArgosneoError:
            desc = "(unreadable)"
        click.echo(f"{name:<24} {desc}  [{path}]")
