"""The receiver as separate flowgraph stages (a2_channelizer → a2_burst_windows → a2_decoder):
same output as the hand-wired A2Receiver whatever the chunking, demodulator banks added,
reconfigured and swapped in flight without losing bursts, wrong connections refused with the
file line, and absolute frequencies kept across a device retune."""

from __future__ import annotations

import dataclasses
import json
import textwrap

import numpy as np
import pytest

from argosneo.errors import FlowgraphError
from argosneo.flowgraph.blocks_stages import A2BurstWindowsBlock, A2ChannelizerBlock, A2DecoderBlock
from argosneo.flowgraph.runtime import Runtime
from argosneo.flowgraph.schema import load_flowgraph
from argosneo.io.chunk import ChannelChunk, SampleChunk
from argosneo.io.reader import open_capture
from argosneo.io.writer import SigMFWriter
from argosneo.receiver import A2Receiver
from argosneo.synth.emulator import synthesize
from argosneo.synth.scenario import Platform, Scenario

FS = 250e3


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    """A2, VLD and A3 bursts, two of them close in time and frequency, as a SigMF capture."""
    plats = [(0x1A00001, "A2", -20e3, 0.2), (0x1A00002, "A2", 8e3, 0.9), (0x1A00003, "VLD", 10e3, 1.5),
             (0x1A00004, "A2", -5e3, 2.2), (0x1A00005, "A3", 30e3, 2.8), (0x1A00006, "A2", 31.5e3, 3.9)]
    sc = Scenario(sample_rate=FS, duration_s=5.0, seed=5, platforms=[
        Platform(platform_id=pid, format=fmt, n_blocks=1 if fmt == "VLD" else 2, offset_hz=off, ebn0_db=16,
                 first_tx_s=t0) for pid, fmt, off, t0 in plats])
    samples, _ = synthesize(sc)
    base = tmp_path_factory.mktemp("stages") / "cap"
    with SigMFWriter(base, sample_rate=FS, center_freq=sc.center_freq, start_time=sc.start_time) as w:
        w.write(samples.astype(np.complex64))
    return str(base) + ".sigmf-meta"


def _hand_wired(capture, chunk=65536, formats=("A2", "VLD", "A3")):
    with open_capture(capture) as r:
        rx = A2Receiver(r.info, keep_rejected=True, formats=formats)
        out = [b for c in r.chunks(chunk) for b in rx.process(c)] + rx.flush()
    return [b.to_record() for b in out]


def _graph(tmp_path, capture, *, chunk=65536, configurations="{}", schedule="", name="g"):
    p = tmp_path / f"{name}.yaml"
    p.write_text(textwrap.dedent(f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}, chunk_size: {chunk}}}}}
          channels: {{type: a2_channelizer}}
          a2: {{type: a2_burst_windows, params: {{formats: "A2,VLD,A3"}}}}
          decode: {{type: a2_decoder, params: {{formats: "A2,VLD,A3", keep_rejected: true}}}}
          bursts: {{type: jsonl_sink, params: {{path: {name}.jsonl}}}}
        connections: [src -> channels, channels -> a2, a2 -> decode, decode -> bursts]
        configurations: {configurations}
        schedule: [{schedule}]
        """))
    return p


def _run(tmp_path, path, name="g"):
    rt = Runtime(load_flowgraph(path), output_dir=tmp_path)
    summary = rt.run()
    return rt, summary, _read(tmp_path / f"{name}.jsonl")


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _decoded(records):
    return [r for r in records if r.get("decoded", True)]


def _same_burst(a, b):
    return ((a["format"], a.get("decoded", True), a.get("message_hex")) ==
            (b["format"], b.get("decoded", True), b.get("message_hex"))
            and abs(a["sample_start"] - b["sample_start"]) <= 2 and abs(a["frequency_hz"] - b["frequency_hz"]) < 1.0)


def test_stage_graph_equals_the_hand_wired_receiver_for_any_chunking(tmp_path, capture):
    ref = _hand_wired(capture)
    assert len(_decoded(ref)) >= 5 and {r["format"] for r in _decoded(ref)} >= {"A2", "VLD"}
    for chunk in (65536, 9973, 1024):
        rt, summary, got = _run(tmp_path, _graph(tmp_path, capture, chunk=chunk, name=f"c{chunk}"), f"c{chunk}")
        assert got == ref, chunk
        st = rt.status()["blocks"]
        assert st["a2"]["detections"] == st["decode"]["candidates"] == len(ref) + st["decode"]["duplicates"]
        assert st["channels"]["samples"] == summary.samples
    # the composite block type is the same chain
    p = tmp_path / "composite.yaml"
    p.write_text(f"blocks:\n  src: {{type: file_source, params: {{path: {capture}}}}}\n"
                 "  a2: {type: a2_receiver, params: {keep_rejected: true, formats: 'A2,VLD,A3'}}\n"
                 "  bursts: {type: jsonl_sink, params: {path: composite.jsonl}}\n"
                 "connections: [src -> a2, a2 -> bursts]\n")
    Runtime(load_flowgraph(p), output_dir=tmp_path).run()
    assert _read(tmp_path / "composite.jsonl") == ref


@pytest.mark.parametrize("seed", [1, 2])
def test_banks_added_changed_and_swapped_in_flight_lose_no_burst(tmp_path, capture, seed):
    ref = _hand_wired(capture)
    with open_capture(capture) as r:
        total = r.info.total_samples
    at = int(np.random.default_rng(seed).integers(FS // 2, total - FS))
    second = ("{second: {blocks: {decode2: {type: a2_decoder, params: {formats: 'A2,VLD'}}, "
              "bursts2: {type: jsonl_sink, params: {path: add%d_2.jsonl}}}, "
              "connections: [a2 -> decode2, decode2 -> bursts2]}}" % seed)
    p = _graph(tmp_path, capture, name=f"add{seed}", configurations=second, schedule=", ".join([
        "{at_sample: %d, configuration: second}" % at,
        # the main bank drops A3 and takes it back; then it is rebuilt (polarity is fixed at
        # construction, so the runtime builds a new decoder and flushes the old one)
        "{at_sample: %d, set: {decode: {formats: 'A3,A2,VLD'}}}" % (at + 1),
        "{at_sample: %d, swap: {decode: {type: a2_decoder, params: {formats: 'A2,VLD,A3', "
        "keep_rejected: true, polarity: normal}}}}" % (at + 2)]))
    rt, summary, got = _run(tmp_path, p, f"add{seed}")
    assert [c["ok"] for c in summary.changes] == [True] * 3, summary.changes
    assert summary.changes[2]["replaced"] == ["decode"]
    # the stages that stayed kept every burst: every reference burst is in the main stream, those
    # decoded before the swap record for record. (A decoder that joins mid-stream does not know
    # where the bursts decoded before it ended, so a window next to one is not narrowed: the
    # same burst, its start possibly a sample off.)
    assert len(got) == len(ref)
    assert all(_same_burst(g, r) for g, r in zip(got, ref))
    swapped = summary.changes[2]["sample"]
    done_before = [r for r in ref if r["sample_start"] + (0.965 + 0.15 + 0.05) * FS < swapped]
    assert got[:len(done_before)] == done_before
    # the added bank decodes every A2/VLD burst whose window closed after it joined
    late = _read(tmp_path / f"add{seed}_2.jsonl")
    assert all(any(_same_burst(r, w) for w in _decoded(ref)) for r in late)
    want = [r for r in _decoded(ref) if r["format"] != "A3"
            and r["sample_start"] + (r["duration_s"] + 0.15) * FS > at + 0.1 * FS]
    assert want and all(any(_same_burst(r, w) for r in late) for w in want)
    assert rt.status()["blocks"]["decode2"]["formats"] == "A2,VLD"


def test_a_channel_stream_into_a_sample_port_is_refused_with_the_line(tmp_path, capture):
    p = tmp_path / "bad.yaml"
    p.write_text(textwrap.dedent(f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}}}}}
          channels: {{type: a2_channelizer}}
          g: {{type: gain}}
          rec: {{type: sigmf_record_sink, params: {{path: x}}}}
        connections:
          - src -> channels
          - channels -> g
          - g -> rec
        """))
    with pytest.raises(FlowgraphError) as exc:
        load_flowgraph(p)
    assert f"{p}:8:" in str(exc.value)
    assert "channels.out carries channels but g.in takes samples" in str(exc.value)
    # and candidates are not bursts
    p.write_text(textwrap.dedent(f"""\
        blocks:
          src: {{type: file_source, params: {{path: {capture}}}}}
          channels: {{type: a2_channelizer}}
          a2: {{type: a2_burst_windows}}
          out: {{type: jsonl_sink, params: {{path: x.jsonl}}}}
        connections: [src -> channels, channels -> a2, a2 -> out]
        """))
    with pytest.raises(FlowgraphError, match=r":6: .*a2.out carries candidates but out.in takes events"):
        load_flowgraph(p)
    # a block fed the wrong item at run time says so
    with pytest.raises(FlowgraphError, match="takes channel chunks"):
        A2BurstWindowsBlock().process(SampleChunk(np.zeros(4, np.complex64), 0, None))


def test_reconfigure_checks_everything_before_changing_anything():
    dec = A2DecoderBlock()
    with pytest.raises(FlowgraphError, match="unknown"):
        dec.reconfigure(formats="A2,QQ", id_bits=20)
    assert dec.state()["formats"] == "A2,VLD" and dec.state()["id_bits"] == 28
    with pytest.raises(FlowgraphError, match="cannot change polarity"):
        dec.reconfigure(polarity="normal")
    dec.reconfigure(formats="vld, a2", id_bits=20)
    assert dec.state()["formats"] == "VLD,A2" and dec.state()["id_bits"] == 20
    win = A2BurstWindowsBlock()
    with pytest.raises(FlowgraphError, match=r"pfa must be in \(0, 1\)"):
        win.reconfigure(pfa=2.0)
    with pytest.raises(FlowgraphError, match="even"):
        A2ChannelizerBlock(num_channels=33)


def test_retune_keeps_absolute_frequencies(capture):
    """A device retune: from the middle on, the capture is re-centred 6 kHz higher (the samples
    shifted by −6 kHz and a discontinuity). The stages report the bursts on either side at their
    true absolute frequency, and the burst cut by the retune as cut by it."""
    step = 6e3
    with open_capture(capture) as r:
        info = r.info
        x = np.concatenate([c.samples for c in r.chunks(1 << 20)])
    ref = [b for b in _hand_wired(capture)]
    ref_dec = {b["sample_start"]: b for b in _decoded(ref)}
    cut = int(3.75 * FS)     # between the end of the A3 burst and the start of the last A2 one
    n = np.arange(cut, len(x))
    shifted = (x[cut:] * np.exp(-2j * np.pi * step * n / FS)).astype(np.complex64)
    info2 = dataclasses.replace(info, center_freq=info.center_freq + step)
    chunks = [SampleChunk(x[i:min(i + 40000, cut)], i, info) for i in range(0, cut, 40000)]
    chunks += [SampleChunk(shifted[i - cut:i - cut + 40000], i, info2, discontinuity=(i == cut))
               for i in range(cut, len(x), 40000)]
    blocks = [A2ChannelizerBlock(), A2BurstWindowsBlock(formats="A2,VLD,A3"),
              A2DecoderBlock(formats="A2,VLD,A3", keep_rejected=True)]
    got = []

    def push(outs, k):
        for _, item in outs:
            if k == len(blocks):
                got.extend(item)
            else:
                if k == 1:
                    assert isinstance(item, ChannelChunk)
                push(blocks[k].process(item), k + 1)

    for c in chunks:
        push([("out", c)], 0)
    push(blocks[1].flush(), 2)
    dec = _decoded([b.to_record() for b in got])
    assert len(dec) == len(ref_dec)
    for rec in dec:
        # the same burst (a window cut by the retune, or one in the restarted channelizer, may
        # place it a few samples (µs) differently)
        want = min(ref_dec.values(), key=lambda r: abs(r["sample_start"] - rec["sample_start"]))
        assert abs(want["sample_start"] - rec["sample_start"]) <= 10 and want.get("message_hex") == rec.get("message_hex")
        assert rec["frequency_hz"] == pytest.approx(want["frequency_hz"], abs=5.0)
        if rec["sample_start"] >= cut:
            assert rec["offset_hz"] == pytest.approx(want["offset_hz"] - step, abs=5.0)
        else:
            assert rec["offset_hz"] == pytest.approx(want["offset_hz"], abs=1e-6)
    assert blocks[0].state()["retunes"] == 1 and blocks[0].state()["center_freq"] == info2.center_freq


def test_block_format_names_are_the_decoders():
    """The registry lists the formats without importing the DSP; the two lists must agree."""
    from argosneo.deframe.decoder import DEMODULATORS
    from argosneo.flowgraph.blocks_stages import FORMAT_NAMES

    assert set(FORMAT_NAMES) == set(DEMODULATORS)
