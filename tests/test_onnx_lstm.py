"""ONNX LSTM through the converter: torch.nn.LSTM exports (stacked, bidirectional, with states) and the
pretrained Silero VAD model, against onnxruntime."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

import torch_nets as tn  # noqa: E402
from onnx import helper  # noqa: E402
from test_onnx import close, run_xnn  # noqa: E402

import xnn  # noqa: E402
from xnn.convert.onnx import from_onnx  # noqa: E402
from xnn.format.writer import encode  # noqa: E402


class Stacked(torch.nn.Module):
    def __init__(self, bidirectional: bool) -> None:
        super().__init__()
        self.lstm = torch.nn.LSTM(11, 13, num_layers=2, bidirectional=bidirectional)

    def forward(self, x, h0, c0):
        return self.lstm(x, (h0, c0))


@pytest.mark.parametrize("bidirectional", [False, True], ids=["forward", "bidirectional"])
def test_torch_lstm_with_states(bidirectional):
    torch.manual_seed(int(bidirectional))
    net = Stacked(bidirectional)
    t, n, d = 9, 3, 2 if bidirectional else 1
    args = [torch.zeros(t, n, 11), torch.zeros(2 * d, n, 13), torch.zeros(2 * d, n, 13)]
    data = tn.export(net, args, ["x", "h0", "c0"], ["y", "hn", "cn"])
    assert sum(nd.op_type == "LSTM" for nd in onnx.load_from_string(data).graph.node) == 2
    rng = np.random.default_rng(5)
    feeds = {"x": rng.standard_normal((t, n, 11)).astype(np.float32),
             "h0": rng.standard_normal((2 * d, n, 13)).astype(np.float32) * 0.5,
             "c0": rng.standard_normal((2 * d, n, 13)).astype(np.float32) * 0.5}
    want = dict(zip(["y", "hn", "cn"], ort.InferenceSession(data).run(None, feeds)))
    got = run_xnn(from_onnx(data), feeds)
    for k in want:
        close(got[k], want[k], k)


def lstm_node_model(direction: str, t=5, n=2, i=4, h=3, seq=False, initial=("h", "c"), outputs=3, **attrs):
    rng = np.random.default_rng(len(direction) + 10 * seq + outputs)
    d = 2 if direction == "bidirectional" else 1
    inits = [helper.make_tensor("W", 1, [d, 4 * h, i], rng.standard_normal(d * 4 * h * i) * 0.5),
             helper.make_tensor("R", 1, [d, 4 * h, h], rng.standard_normal(d * 4 * h * h) * 0.5),
             helper.make_tensor("B", 1, [d, 8 * h], rng.standard_normal(d * 8 * h) * 0.5)]
    ins = [helper.make_tensor_value_info("X", 1, [t, n, i])]
    names = ["X", "W", "R", "B", "", "", ""]
    if seq:
        ins.append(helper.make_tensor_value_info("lens", 6, [n]))
        names[4] = "lens"
    for k, s in enumerate(("h", "c")):
        if s in initial:
            ins.append(helper.make_tensor_value_info(f"init_{s}", 1, [d, n, h]))
            names[5 + k] = f"init_{s}"
    outs = ["Y", "Y_h", "Y_c"][:outputs]
    node = helper.make_node("LSTM", names, outs, name="lstm", hidden_size=h, direction=direction, **attrs)
    g = helper.make_graph([node], "lstm", ins, [helper.make_tensor_value_info(o, 1, None) for o in outs], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)]).SerializeToString()


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("variant", ["plain", "seq_lens", "initial_h_only", "Y_only", "clip"])
def test_onnx_lstm_node_vs_onnxruntime(direction, variant):
    kw = {"seq": variant == "seq_lens", "initial": ("h",) if variant == "initial_h_only" else ("h", "c"),
          "outputs": 1 if variant == "Y_only" else 3}
    if variant == "clip":
        kw["clip"] = 0.7
    data = lstm_node_model(direction, **kw)
    rng = np.random.default_rng(1)
    d = 2 if direction == "bidirectional" else 1
    feeds = {"X": rng.standard_normal((5, 2, 4)).astype(np.float32) * 2}
    if kw["seq"]:
        feeds["lens"] = np.array([3, 5], np.int32)
    for s in kw["initial"]:
        feeds[f"init_{s}"] = rng.standard_normal((d, 2, 3)).astype(np.float32)
    sess = ort.InferenceSession(data)
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    xfeeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    got = run_xnn(from_onnx(data), xfeeds)
    for k in want:
        close(got[k], want[k], f"{direction} {variant} {k}")


@pytest.mark.parametrize("attr,value", [("activations", ["Relu", "Tanh", "Tanh"]), ("input_forget", 1),
                                        ("layout", 1)])
def test_onnx_lstm_unsupported_attributes(attr, value):
    data = lstm_node_model("forward", **{attr: value})
    with pytest.raises(xnn.UnsupportedError, match=f"'lstm' \\(LSTM\\).*{attr}"):
        from_onnx(data)


def test_onnx_lstm_peepholes_unsupported():
    m = onnx.load_from_string(lstm_node_model("forward"))
    m.graph.initializer.append(helper.make_tensor("P", 1, [1, 9], np.zeros(9)))
    m.graph.node[0].input.append("P")
    with pytest.raises(xnn.UnsupportedError, match="'lstm' \\(LSTM\\).*peephole"):
        from_onnx(m.SerializeToString())


def speech_like(seconds: float, sr: int, seed: int) -> np.ndarray:
    """A synthetic voice: a glottal pulse train at a wandering pitch through three vowel formants, in
    syllables of about 200 ms, with pauses and a little noise."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = np.cumsum(pitch / sr)
    pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(np.float64)
    voice = np.zeros(n)
    for f, bw in ((700, 110), (1220, 120), (2600, 160)):  # a resonator per formant
        r = np.exp(-np.pi * bw / sr)
        a1, a2 = 2 * r * np.cos(2 * np.pi * f / sr), -r * r
        y = np.zeros(n)
        for k in range(n):
            y[k] = pulses[k] + a1 * (y[k - 1] if k else 0) + a2 * (y[k - 2] if k > 1 else 0)
        voice += y
    envelope = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 0.5 * (t % 2.0 < 1.4)
    x = voice * envelope
    x = 0.5 * x / np.abs(x).max() + 0.005 * rng.standard_normal(n)
    return x.astype(np.float32)


def test_silero_vad_matches_onnxruntime_over_chunks():
    silero_vad = pytest.importorskip("silero_vad")
    path = Path(os.path.dirname(silero_vad.__file__)) / "data" / "silero_vad_16k_op15.onnx"
    sr = 16000
    # 512-sample chunks at 16 kHz; the sample rate input selects the model's 16 kHz branch at conversion.
    graph = from_onnx(path, input_shapes={"input": (1, 512)}, constants={"sr": np.array(sr, np.int64)})
    assert sum(n.op == "LSTM" for n in graph.nodes) == 1  # the 16 kHz branch of the model's If
    model = xnn.Model.from_bytes(encode(graph))
    sess = ort.InferenceSession(str(path))
    audio = speech_like(3.0, sr, 0)
    state_x = state_o = np.zeros((2, 1, 128), np.float32)
    probs = []
    for k in range(len(audio) // 512):
        chunk = audio[None, k * 512:(k + 1) * 512]
        p_o, state_o = sess.run(None, {"input": chunk, "state": state_o, "sr": np.array(sr, np.int64)})
        got = model.run({"input": chunk, "state": state_x})
        p_x, state_x = got["output"], got["stateN"]  # each call's state feeds the next one
        close(p_x, p_o, f"chunk {k} probability")
        close(state_x, state_o, f"chunk {k} state")
        probs.append(float(p_o.ravel()[0]))
    # The model does not take this synthetic voice for speech (probabilities stay below 0.01), but they
    # follow the signal and the carried state: a constant output would not test the recurrence.
    assert len(probs) >= 90 and max(probs) > 2 * min(probs)


def test_gather_from_constant_table_is_embed():
    rng = np.random.default_rng(2)
    table = rng.standard_normal((10, 6)).astype(np.float32)
    node = helper.make_node("Gather", ["table", "ids"], ["y"], name="lookup", axis=0)
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("ids", 7, [2, 3])],
                          [helper.make_tensor_value_info("y", 1, None)],
                          [helper.make_tensor("table", 1, [10, 6], table.ravel())])
    data = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString()
    graph = from_onnx(data)
    assert [n.op for n in graph.nodes] == ["Embed"]
    # ONNX indices may count from the end: -10 is row 0, -1 row 9.
    ids = np.array([[0, 9, 3], [-1, -10, 1]], np.int64)
    want = ort.InferenceSession(data).run(None, {"ids": ids})[0]
    got = run_xnn(graph, {"ids": ids.astype(np.float32)})["y"]
    close(got, want, "lookup")
    np.testing.assert_array_equal(got[1, :2], table[[9, 0]])
    # Out of range either way (onnxruntime rejects them): a row of zeros, never a read outside the table.
    bad = run_xnn(graph, {"ids": np.array([[-11, 10, 0.5], [np.nan, 1e10, -1e10]], np.float32)})["y"]
    np.testing.assert_array_equal(bad, 0.0)
