"""Flowgraph files: validation before running, with FILE:LINE: what for every problem."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from argosneo.cli import main
from argosneo.flowgraph import shipped_flowgraphs
from argosneo.flowgraph.schema import FlowgraphFileError, load_flowgraph, parse_value
from argosneo.io.writer import SigMFWriter


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    base = tmp_path_factory.mktemp("cap") / "tone"
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(48000) + 1j * rng.standard_normal(48000)).astype(np.complex64) * 0.01
    with SigMFWriter(base, sample_rate=48000, center_freq=401.65e6) as w:
        w.write(x)
    return str(base) + ".sigmf-meta"


def errors_of(tmp_path, text, **kw):
    p = tmp_path / "fg.yaml"
    p.write_text(textwrap.dedent(text))
    with pytest.raises(FlowgraphFileError) as ei:
        load_flowgraph(p, **kw)
    return [e.replace(str(p), "FG") for e in ei.value.errors]


def test_shipped_flowgraphs_validate():
    shipped = shipped_flowgraphs()
    assert {"a2_receiver", "a2_payload", "a2_scheduled_reconfig"} <= set(shipped)
    for path in shipped.values():
        fg = load_flowgraph(path, allow_unresolved=True)
        assert fg.base.blocks
        for name in fg.configuration_names():
            fg.graph_for(name)


def test_every_problem_has_file_line_and_reason(tmp_path, capture):
    errs = errors_of(tmp_path, f"""\
        flowgraph: bad
        blocks:
          src: {{type: file_source, params: {{path: {capture}, chunk_size: -5}}}}
          shift: {{type: frequency_shfit}}
          dec: {{type: decimate, params: {{factor: "ten"}}}}
          g1: {{type: gain, params: {{gain_db: 3, bogus: 1}}}}
          rec: {{type: sigmf_record_sink, params: {{path: x, datatype: cs99}}}}
          pm: {{type: power_meter}}
        connections:
          - src -> g1
          - g1 -> rec
          - src -> nothere
          - g1.foo -> rec
        """)
    assert "FG:3: block 'src': parameter 'chunk_size': -5 is below the minimum 1" in errs
    assert any(e.startswith("FG:4: block 'shift': unknown block type 'frequency_shfit' (did you mean "
                            "'frequency_shift'?)") for e in errs)
    assert "FG:5: block 'dec': parameter 'factor': expected an integer, got 'ten' (str)" in errs
    assert any(e.startswith("FG:6: block 'g1': unknown parameter 'bogus'") for e in errs)
    assert any(e.startswith("FG:7: block 'rec': parameter 'datatype': 'cs99' is not one of") for e in errs)
    assert "FG:12: connection src -> nothere: no block named 'nothere'" in errs
    assert any(e.startswith("FG:13: connection g1.foo -> rec: block 'g1' (gain) has no output port 'foo'")
               for e in errs)
    assert "FG:8: block 'pm': input port 'in' is not connected" in errs
    assert "FG:8: block 'pm': output port 'out' is not connected" in errs


def test_cycle_and_rate_mismatch(tmp_path, capture):
    errs = errors_of(tmp_path, f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}}}}}
          a: {{type: gain}}
          b: {{type: gain}}
          rec: {{type: sigmf_record_sink, params: {{path: x}}}}
        connections:
          - src -> a
          - a -> b
          - b -> a
          - b -> rec
        """)
    assert errs == ["FG:9: cycle: a -> b -> a (a flowgraph must not loop back)"]
    errs = errors_of(tmp_path, f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}}}}}
          dec: {{type: decimate, params: {{factor: 4}}}}
          rec: {{type: sigmf_record_sink, params: {{path: x}}}}
        connections:
          - src -> dec
          - src -> rec
          - dec -> rec
        """)
    assert errs == ["FG:4: block 'rec': rate mismatch: input 'in' is fed at 12000, 48000 Hz"]


def test_yaml_errors_duplicates_and_numbers(tmp_path, capture):
    assert errors_of(tmp_path, "blocks:\n  a: {type: gain\n  b: 1\n")[0].startswith("FG:3: YAML syntax error")
    assert errors_of(tmp_path, "blocks:\n  a: {type: gain}\n  a: {type: gain}\n") == ["FG:3: duplicate key 'a'"]
    assert parse_value("1e6") == 1e6 and parse_value("12") == 12 and parse_value("true") is True
    assert parse_value("x.sigmf-meta") == "x.sigmf-meta"
    p = tmp_path / "ok.yaml"
    p.write_text(f"blocks:\n  src: {{type: file_source, params: {{path: {capture}, samp_rate: 48e3}}}}\n"
                 "  rec: {type: sigmf_record_sink, params: {path: x}}\nconnections: [[src, rec]]\n")
    assert load_flowgraph(p).base.blocks["src"].params["samp_rate"] == 48e3


def test_configurations_schedule_and_variables(tmp_path, capture):
    errs = errors_of(tmp_path, f"""\
        variables:
          input: {{required: true}}
        blocks:
          src: {{type: file_source, params: {{path: "${{input}}"}}}}
          g: {{type: gain}}
          rec: {{type: sigmf_record_sink, params: {{path: x}}}}
        connections: [src -> g, g -> rec]
        configurations:
          loud:
            set: {{g: {{gain_db: 500}}}}
          other:
            remove: [nothing]
        schedule:
          - {{at_time: 1.0, configuration: nope}}
          - {{at_sample: -3, configuration: loud}}
        """, variables={"input": capture})
    assert "FG:12: configuration 'other': remove: no block named 'nothing' in the base graph" in errs
    assert any(e.startswith("FG:14: schedule: no configuration named 'nope'") for e in errs)
    assert "FG:15: schedule: at_sample must be a sample index >= 0, got -3" in errs
    errs = errors_of(tmp_path, """\
        variables:
          input: {required: true}
        blocks:
          src: {type: file_source, params: {path: "${input}"}}
          g: {type: gain}
          rec: {type: sigmf_record_sink, params: {path: x}}
        connections: [src -> g, g -> rec]
        configurations:
          loud:
            set: {g: {gain_db: 500}}
        """)
    assert errs == [
        "FG:4: block 'src': parameter 'path' uses variable 'input', which has no value (give it with --var input=VALUE)",
        "FG:5: configuration 'loud': block 'g': parameter 'gain_db': 500.0 is above the maximum 200.0",
    ]


def test_cli_check_and_blocks(tmp_path, capsys, capture):
    p = tmp_path / "bad.yaml"
    p.write_text("blocks:\n  src: {type: file_source, params: {path: x}}\n  a: {type: nope}\n")
    assert main(["flowgraph", "check", str(p)]) == 2
    err = capsys.readouterr().err
    assert f"{p}:3: block 'a': unknown block type 'nope'" in err
    assert "argosneo: error: " in err
    assert main(["flowgraph", "check", "a2_receiver", "a2_payload", "a2_scheduled_reconfig"]) == 0
    out = capsys.readouterr().out
    assert out.count(": ok: ") == 3 and "run needs --var input=..." in out
    assert main(["flowgraph", "blocks", "--json"]) == 0
    described = {d["type"]: d for d in json.loads(capsys.readouterr().out)}
    for kind in ("file_source", "soapy_source", "jsonl_sink", "sigmf_record_sink", "frequency_shift",
                 "gain", "decimate", "power_meter", "a2_receiver"):
        assert kind in described
    pfa = next(q for q in described["a2_receiver"]["params"] if q["name"] == "pfa")
    assert pfa["reconfigurable"] and pfa["maximum"] == 0.1
    assert described["sigmf_record_sink"]["optional_inputs"] == ["bursts"]
    assert main(["flowgraph", "blocks", "sigmf_record_sink", "a2_decoder"]) == 0
    text = capsys.readouterr().out
    assert "sigmf_record_sink [in: in (samples), bursts (events, optional); out: -]" in text
    assert "a2_decoder [in: in (candidates); out: out (events)]" in text


def test_recorder_has_a_sample_input_and_an_optional_burst_input(tmp_path, capture):
    """sigmf_record_sink: samples on ``in`` (a bare ``rec`` means it), burst events on the
    optional ``bursts``; a wrong connection is refused before running, naming the right port."""
    head = textwrap.dedent(f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}}}}}
          channels: {{type: a2_channelizer}}
          a2: {{type: a2_burst_windows}}
          decode: {{type: a2_decoder}}
          out: {{type: jsonl_sink, params: {{path: b.jsonl}}}}
          rec: {{type: sigmf_record_sink, params: {{path: x}}}}
        connections:
          - src -> channels
          - channels -> a2
          - a2 -> decode
          - decode -> out
        """)
    ok = tmp_path / "ok.yaml"
    for extra in ("  - src -> rec\n", "  - src -> rec.in\n  - decode -> rec.bursts\n"):
        ok.write_text(head + extra)
        g = load_flowgraph(ok).base
        assert g.blocks["rec"].type == "sigmf_record_sink"
    assert errors_of(tmp_path, head + "  - decode -> rec\n  - src -> rec.in\n") == [
        "FG:13: connection decode -> rec: decode.out carries events but rec.in takes samples "
        "(connect to rec.bursts)"]
    assert errors_of(tmp_path, head + "  - src -> rec.bursts\n") == [
        "FG:13: connection src -> rec.bursts: src.out carries samples but rec.bursts takes events "
        "(connect to rec.in)",
        "FG:7: block 'rec': input port 'in' is not connected"]
    # the required input must still be connected; the optional one alone does not do
    assert errors_of(tmp_path, head + "  - decode -> rec.bursts\n") == [
        "FG:7: block 'rec': input port 'in' is not connected"]


def test_a_bare_port_name_means_the_only_required_input(monkeypatch, capture):
    from argosneo.flowgraph import registry
    from argosneo.flowgraph.block import Block
    from argosneo.flowgraph.schema import BlockSpec, Connection, Graph, validate_graph

    class _Two(Block):
        kind = "two_inputs_test"
        inputs = ("a", "b")
        outputs = ()

        def process(self, item, port="in"):
            return []

    class _OneOptional(_Two):
        kind = "one_optional_test"
        optional_inputs = ("b",)

    registry.load_builtin_blocks()
    for cls in (_Two, _OneOptional):
        monkeypatch.setitem(registry.BLOCKS, cls.kind, cls)

    def graph(kind):
        return Graph({"src": BlockSpec("src", "file_source", {"path": capture}), "t": BlockSpec("t", kind, {})},
                     [Connection("src", None, "t", None)])

    with pytest.raises(FlowgraphFileError, match=r"has several inputs \(a, b\); write t.PORT"):
        validate_graph(graph("two_inputs_test"))
    assert validate_graph(graph("one_optional_test")).edges[("src", "out")] == [("t", "a")]


@pytest.mark.parametrize("args", [["run", "a2_receiver", "--duration", "0"],
                                  ["run", "a2_receiver", "--queue-seconds", "-1"],
                                  ["rx", "-d", "driver=none", "--rate", "0"],
                                  ["gui", "--replay", "x", "--pfa", "0"]])
def test_non_positive_numbers_are_refused_in_one_line(args, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "must be > 0" in err and "Traceback" not in err
