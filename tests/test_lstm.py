"""LSTM and Embed: the operators on random shapes against the NumPy references of tests/numpy_ref.py
(Caffe's gates and clip markers, ONNX's directions, lengths, initial states and clip), Caffe's LSTM and
Embed layers, the two LRCN nets with seeded random weights, and the .xnn round trip. Every test runs on
every kernel set this CPU has. Tolerance: 1e-4 of the largest magnitude of each output, and for an LSTM's
states at least 1e-4 of GATE_FLOOR."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pytest

import caffe_tools
import numpy_ref as ref
import xnn
from test_ops import caffemodel_bytes, check, layer, load, net_text, rng_for
from xnn.format import encode
from xnn.graph import Graph, Node

# h and c are products of gates in [0, 1] and [-1, 1], each rounded to an ulp of 1 (tanh(x) = 2 sigmoid(2x) - 1
# in every kernel set): their error is absolute, so a state that comes out near 0 by cancellation is compared
# at this scale, not at its own.
GATE_FLOOR = 1e-2


@pytest.fixture(autouse=True, params=xnn.available_isas())
def isa(request, monkeypatch):
    monkeypatch.setenv("XNN_ISA", request.param)
    return request.param


def randn(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def markers(rng, t, n):
    """Caffe clip markers: 0 starts a sequence; each item restarts somewhere in the middle too."""
    cont = (rng.random((t, n)) > 0.3).astype(np.float32)
    cont[0] = 0
    if t > 2:
        cont[1 + rng.integers(0, t - 1, n), np.arange(n)] = 0
    return cont


# ============================================================================== the operator

DIRECTIONS = {"forward": 0, "reverse": 1, "bidirectional": 2}


def lstm_graph(x_shape, h, direction, weights, opts, num_outputs):
    """A one-node .xnn graph: inputs x then the optional ones in the operator's order."""
    names = ["x"] + [k for k in ("cont", "static", "seq_lens", "initial_h", "initial_c") if k in opts]
    attrs = {"hidden_size": [h], "direction": [DIRECTIONS[direction]]}
    attrs.update({"has_cont": [int("cont" in opts)], "has_static": [int("static" in opts)],
                  "has_seq_lens": [int("seq_lens" in opts)], "has_initial": [int("initial_h" in opts)]})
    if opts.get("clip"):
        attrs["clip"] = [float(opts["clip"])]
    shapes = [x_shape] + [opts[k].shape for k in names[1:]]
    outs = ["y", "y_h", "y_c"][:num_outputs]
    g = Graph(tensors=names + outs, inputs=[(i, tuple(s)) for i, s in enumerate(shapes)],
              outputs=list(range(len(names), len(names) + num_outputs)),
              nodes=[Node("lstm", "LSTM", list(range(len(names))), list(range(len(names), len(names) + num_outputs)),
                          attrs, weights)])
    return g, names


CASES = [
    # T, N, input dims after T and N, H, direction, options, outputs
    (1, 1, (1,), 1, "forward", (), 1),
    (4, 3, (17,), 3, "forward", ("cont",), 3),
    (5, 2, (3, 3), 17, "reverse", ("cont", "static"), 2),
    (3, 4, (33,), 33, "bidirectional", ("seq_lens",), 3),
    (6, 2, (5,), 9, "bidirectional", ("seq_lens", "initial"), 3),
    (1, 5, (7,), 16, "reverse", ("initial", "clip"), 3),
    (7, 1, (20,), 8, "forward", ("clip", "seq_lens", "initial"), 3),
    (2, 3, (4,), 65, "forward", ("cont", "static", "initial", "clip"), 3),
    (3, 2, (3,), 31, "bidirectional", ("cont", "static", "seq_lens", "initial", "clip"), 3),
]


def case_id(c):
    return f"T{c[0]}N{c[1]}I{'x'.join(map(str, c[2]))}H{c[3]}-{c[4]}-{'+'.join(c[5]) or 'plain'}-{c[6]}out"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_lstm_op(case):
    t, n, feat, h, direction, options, num_outputs = case
    rng = rng_for(case_id(case))
    d = 2 if direction == "bidirectional" else 1
    i_size = int(np.prod(feat))
    x = randn(rng, t, n, *feat)
    w, r = randn(rng, d, 4 * h, i_size, scale=i_size ** -0.5), randn(rng, d, 4 * h, h, scale=h ** -0.5)
    b = randn(rng, d, 4 * h, scale=0.5)
    opts, kw = {}, {}
    if "cont" in options:
        opts["cont"] = kw["cont"] = markers(rng, t, n)
    weights = [w, r, b]
    if "static" in options:
        s = 6
        opts["static"] = kw["x_static"] = randn(rng, n, 2, 3)
        kw["w_static"] = randn(rng, d, 4 * h, s, scale=s ** -0.5)
        weights.append(kw["w_static"])
    if "seq_lens" in options:
        lens = rng.integers(0, t + 1, n).astype(np.float32)
        lens[0] = t                    # one full item, the others short (0 included when drawn)
        opts["seq_lens"] = kw["seq_lens"] = lens
    if "initial" in options:
        opts["initial_h"] = kw["h0"] = randn(rng, d, n, h)
        opts["initial_c"] = kw["c0"] = randn(rng, d, n, h)
    if "clip" in options:
        opts["clip"] = kw["clip"] = 0.7
    g, names = lstm_graph(x.shape, h, direction, weights, opts, num_outputs)
    model = xnn.Model.from_bytes(encode(g))
    got = model.run({"x": x, **{k: opts[k] for k in names[1:]}})
    want = ref.lstm(x, w, r, b, hidden=h, direction=direction, **kw)
    for name, wv in zip(["y", "y_h", "y_c"][:num_outputs], want):
        check(got[name], wv, f"{case_id(case)} {name}", floor=GATE_FLOOR)
    if "seq_lens" in options:  # steps past an item's length are zeros
        for i, ln in enumerate(opts["seq_lens"]):
            assert not got["y"][int(ln):, :, i].any()


def test_lstm_replans_for_other_shapes():
    """One model, several (T, N): the plan follows the input shape."""
    rng = np.random.default_rng(5)
    h, i_size = 12, 10
    w, r, b = randn(rng, 1, 4 * h, i_size, scale=0.3), randn(rng, 1, 4 * h, h, scale=0.3), randn(rng, 1, 4 * h)
    cont = markers(rng, 2, 1)
    g, _ = lstm_graph((2, 1, i_size), h, "forward", [w, r, b], {"cont": cont}, 1)
    model = xnn.Model.from_bytes(encode(g))
    for t, n in [(2, 1), (9, 4), (1, 7), (3, 1)]:
        x, cont = randn(rng, t, n, i_size), markers(rng, t, n)
        check(model.run({"x": x, "cont": cont})["y"], ref.lstm(x, w, r, b, hidden=h, cont=cont)[0], f"T{t} N{n}",
              floor=GATE_FLOOR)


def test_lstm_threads_identical():
    rng = np.random.default_rng(6)
    h, i_size, t, n = 70, 150, 5, 3
    w, r, b = randn(rng, 2, 4 * h, i_size, scale=0.1), randn(rng, 2, 4 * h, h, scale=0.1), randn(rng, 2, 4 * h)
    g, _ = lstm_graph((t, n, i_size), h, "bidirectional", [w, r, b], {}, 1)
    x = randn(rng, t, n, i_size)
    outs = [xnn.Model.from_bytes(encode(g), num_threads=k).run({"x": x})["y"] for k in (1, 2, 3)]
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    check(outs[0], ref.lstm(x, w, r, b, hidden=h, direction="bidirectional")[0], "bidirectional", floor=GATE_FLOOR)


# ============================================================================== Caffe layers

def caffe_lstm_blobs(rng, h, i_size, s_size=None):
    blobs = [randn(rng, 4 * h, i_size, scale=i_size ** -0.5), randn(rng, 4 * h, scale=0.5)]
    if s_size:
        blobs.append(randn(rng, 4 * h, s_size, scale=s_size ** -0.5))
    return blobs + [randn(rng, 4 * h, h, scale=h ** -0.5)]


def caffe_lstm_ref(x, cont, blobs, h, x_static=None):
    """Caffe's LSTM layer through the reference operator: W_xc, b_c[, W_xc_static], W_hc."""
    w, b, r = blobs[0][None], blobs[1][None], blobs[-1][None]
    kw = {"x_static": x_static.reshape(x_static.shape[0], -1), "w_static": blobs[2][None]} if x_static is not None else {}
    y = ref.lstm(x, w, r, b, hidden=h, cont=cont, **kw)[0]
    return y[:, 0]


@pytest.mark.parametrize("t,n,feat,h,static", [(1, 1, (3,), 1, False), (5, 3, (17,), 33, False),
                                                (4, 2, (2, 5), 7, True), (6, 1, (9,), 16, True)])
def test_caffe_lstm_layer(t, n, feat, h, static):
    rng = np.random.default_rng(t * 100 + h)
    i_size = int(np.prod(feat))
    inputs = {"x": (t, n) + feat, "cont": (t, n)}
    bottoms = ["x", "cont"]
    if static:
        inputs["xs"] = (n, 4)
        bottoms.append("xs")
    blobs = caffe_lstm_blobs(rng, h, i_size, 4 if static else None)
    proto = net_text(inputs, layer("lstm1", "LSTM", bottoms, "lstm1", f"recurrent_param {{ num_output: {h} }}"))
    model = load(proto, {"lstm1": blobs})
    x, cont = randn(rng, t, n, *feat), markers(rng, t, n)
    feed = {"x": x, "cont": cont}
    xs = None
    if static:
        xs = feed["xs"] = randn(rng, n, 4)
    got = model.run(feed)
    got = got["lstm1"] if isinstance(got, dict) else got
    check(got, caffe_lstm_ref(x, cont, blobs, h, xs), f"LSTM T{t} N{n} H{h}", floor=GATE_FLOOR)


@pytest.mark.parametrize("shape,dim,out,bias", [((7,), 5, 3, True), ((2, 9), 17, 1, False), ((3, 1, 4), 1, 33, True)])
def test_caffe_embed(shape, dim, out, bias):
    rng = np.random.default_rng(dim * 7 + out)
    w = randn(rng, dim, out)
    blobs = [w] + ([randn(rng, out)] if bias else [])
    param = f"embed_param {{ input_dim: {dim} num_output: {out} bias_term: {str(bias).lower()} }}"
    model = load(net_text({"idx": shape}, layer("emb", "Embed", "idx", "emb", param)), {"emb": blobs})
    # Every valid index, repeated, then the ones that give zeros: past the end, negative, fractional, NaN.
    valid = np.arange(dim, dtype=np.float32)
    pool = np.concatenate([valid, valid, [dim, dim + 1, -1, 1e9, -1e9, 0.5, np.nan, np.inf]]).astype(np.float32)
    idx = rng.choice(pool, size=shape).astype(np.float32)
    idx.flat[0], idx.flat[-1] = dim, dim - 1
    got = model.run({"idx": idx})
    got = got["emb"] if isinstance(got, dict) else got
    want = ref.embed(idx, w, blobs[1] if bias else None)
    check(got, want, f"Embed {shape} into {dim}x{out}")
    assert not got.reshape(-1, out)[0].any()


# ============================================================================== the LRCN nets

def lrcn(name):
    return caffe_tools.model_prototxt(name)


def truncated(prototxt_text, last_layer):
    """The prototxt up to and including the layer named `last_layer` (a net ending there)."""
    blocks = re.split(r"(?m)^(?=layer \{)", prototxt_text)
    out = []
    for blk in blocks:
        out.append(blk)
        if re.search(rf'name:\s*"{re.escape(last_layer)}"', blk):
            break
    return "".join(out)


@pytest.mark.parametrize("t,n", [(3, 2), (1, 4), (5, 1)])
def test_lrcn_caption_lm(t, n, random_caffe_model):
    prototxt, caffemodel = random_caffe_model("lrcn_caption_lm")
    weights = caffe_tools.caffemodel_weights(caffemodel, prototxt)
    rng = np.random.default_rng(t * 10 + n)
    words = rng.integers(0, 8801, (t, n)).astype(np.float32)
    cont = markers(rng, t, n)
    feats = randn(rng, n, 1000)
    feed = {"cont_sentence": cont, "input_sentence": words, "image_features": feats}
    emb = ref.embed(words, weights["embedding"][0])
    l1 = caffe_lstm_ref(emb, cont, weights["lstm1"], 1000)
    l2 = caffe_lstm_ref(l1, cont, weights["lstm2"], 1000, feats)
    # The recurrent part alone (a net ending at lstm2), then the whole net.
    text = prototxt.read_text()
    head = xnn.Model.from_caffe_bytes(truncated(text, "lstm2").encode(), caffemodel.read_bytes())
    check(head.run(feed)["lstm2"], l2, f"caption lm lstm2 T{t} N{n}", floor=GATE_FLOOR)
    logits = ref.inner_product(l2, *weights["predict"], axis=2)
    model = xnn.Model.load(prototxt, caffemodel)
    check(model.run(feed)["probs"], ref.softmax(logits, axis=2), f"caption lm probs T{t} N{n}")


def activity_prototxt(t, n):
    """lrcn_activity_lstm with its two Reshapes for T x N clips instead of 16 x 10 (a batch of T*N frames)."""
    text = lrcn("lrcn_activity_lstm").read_text()
    text, k = re.subn(r"dim: 16\s+dim: 10", f"dim: {t}\n      dim: {n}", text)
    assert k == 2
    return text.replace("input_dim: 160", f"input_dim: {t * n}")


def test_lrcn_activity_lstm(random_caffe_model):
    prototxt, caffemodel = random_caffe_model("lrcn_activity_lstm")
    weights = caffe_tools.caffemodel_weights(caffemodel, prototxt)
    t, n = 3, 2
    rng = np.random.default_rng(3)
    frames = randn(rng, t * n, 3, 227, 227)
    cont = markers(rng, t, n)
    feed = {"data": frames, "clip_markers": cont.reshape(t * n, 1, 1, 1)}
    text = activity_prototxt(t, n)
    blob = caffemodel.read_bytes()
    # The CNN's features as xnn computes them (the CNN layers are tested against OpenCV elsewhere) feed
    # the NumPy LSTM; the LSTM and the classifier of the whole net are checked against it.
    cnn = xnn.Model.from_caffe_bytes(truncated(text, "reshape-data").encode(), blob)
    feats = cnn.run(feed)["fc6-reshape"]
    # Gates of a few units' size: the cells neither linear nor saturated throughout.
    assert feats.shape == (t, n, 4096) and 0.5 < float(feats.std()) < 20
    lstm = ref.lstm(feats, *(a[None] for a in (weights["lstm1"][0], weights["lstm1"][2], weights["lstm1"][1])),
                    hidden=256, cont=cont)[0][:, 0]
    probs = ref.softmax(ref.inner_product(lstm, *weights["fc8-final"], axis=2), axis=2)
    model = xnn.Model.from_caffe_bytes(text.encode(), blob)
    got = model.run(feed)
    check(got["probs"], probs, "activity probs")
    head = xnn.Model.from_caffe_bytes(truncated(text, "lstm1").encode(), blob)
    check(head.run(feed)["lstm1"], lstm, "activity lstm1", floor=GATE_FLOOR)


@pytest.mark.parametrize("name", ["lrcn_caption_lm", "lrcn_activity_lstm"])
def test_lrcn_xnn_round_trip(name, random_caffe_model, tmp_path):
    prototxt, caffemodel = random_caffe_model(name)
    if name == "lrcn_activity_lstm":  # 2 x 1 clips: the file is the same, the check 80 times cheaper
        prototxt = tmp_path / "deploy.prototxt"
        prototxt.write_text(activity_prototxt(2, 1))
    graph = xnn.graph.Graph.from_caffe(prototxt, caffemodel)
    lstm_nodes = [nd for nd in graph.nodes if nd.op == "LSTM"]
    assert lstm_nodes and all(nd.attrs["has_cont"] == [1] for nd in lstm_nodes)
    path = tmp_path / f"{name}.xnn"
    graph.save(path)
    a, b = xnn.Model.load(prototxt, caffemodel), xnn.Model.load(path)
    assert [i.shape for i in a.inputs] == [i.shape for i in b.inputs]
    rng = np.random.default_rng(1)
    if name == "lrcn_caption_lm":
        t, n = 2, 3
        feed = {"cont_sentence": markers(rng, t, n), "input_sentence": rng.integers(0, 8801, (t, n)).astype(np.float32),
                "image_features": randn(rng, n, 1000)}
    else:
        feed = {"data": randn(rng, 2, 3, 227, 227), "clip_markers": markers(rng, 2, 1).reshape(2, 1, 1, 1)}
    ga, gb = a.run(feed), b.run(feed)
    for k in ga:
        assert np.array_equal(ga[k], gb[k]), k
    stats = {s.name: s for s in b.layer_shapes(*[v.shape for v in feed.values()])}
    for nd in lstm_nodes:
        assert stats[nd.name].macs > 0


def test_layer_shapes_and_macs():
    """xnn info / Model.profile: the LSTM and its Reshape, with the projection and recurrent MACs."""
    rng = np.random.default_rng(2)
    t, n, i_size, h = 4, 3, 6, 5
    blobs = caffe_lstm_blobs(rng, h, i_size, 2)
    proto = net_text({"x": (t, n, i_size), "cont": (t, n), "xs": (n, 2)},
                     layer("lstm1", "LSTM", ["x", "cont", "xs"], "lstm1", f"recurrent_param {{ num_output: {h} }}"))
    model = load(proto, {"lstm1": blobs})
    stats = model.layer_shapes()
    by_type = {s.type: s for s in stats}
    assert by_type["LSTM"].shape == (t, 1, n, h) and by_type["Reshape"].shape == (t, n, h)
    assert by_type["LSTM"].macs == 4 * h * t * n * (i_size + h) + 4 * h * n * 2
    assert [s.name for s in stats] == ["lstm1", "lstm1/reshape"]
    assert model.profile(runs=1)


# ============================================================================== bad input

from xnn.errors import ModelFormatError, ShapeError, UnsupportedError  # noqa: E402


def lstm_net(h=4, i_size=3, t=2, n=2, bottoms=("x", "cont"), param=""):
    inputs = {"x": (t, n, i_size), "cont": (t, n), "xs": (n, 5)}
    return net_text({k: v for k, v in inputs.items() if k in bottoms},
                    layer("lstm1", "LSTM", list(bottoms), "lstm1", f"recurrent_param {{ num_output: {h} {param} }}"))


@pytest.mark.parametrize("blobs,pattern", [
    (lambda b: b[:2], r"layer 'lstm1' \(LSTM\): the caffemodel has 2 blobs for this layer, expected 3"),
    (lambda b: b + [b[0]], r"layer 'lstm1' \(LSTM\): the caffemodel has 4 blobs for this layer, expected 3"),
    (lambda b: [b[0][:12]] + b[1:], r"layer 'lstm1' \(LSTM\): blob 0 \(W_xc\) has shape 12x3, expected 16x-1"),
    (lambda b: [b[0], b[1][:15], b[2]], r"layer 'lstm1' \(LSTM\): blob 1 \(b_c\) has shape 15, expected 16"),
    (lambda b: b[:2] + [b[2][:, :3]], r"layer 'lstm1' \(LSTM\): blob 2 \(W_hc\) has shape 16x3, expected 16x4"),
    (lambda b: b[:2] + [b[2].reshape(1, 16, 4)], r"blob 2 \(W_hc\) has shape 1x16x4, expected 16x4"),
])
def test_lstm_wrong_blobs(blobs, pattern):
    good = caffe_lstm_blobs(np.random.default_rng(0), 4, 3)
    with pytest.raises(ModelFormatError, match=pattern):
        load(lstm_net(), {"lstm1": blobs(good)})


def test_lstm_static_blob_wrong_shape():
    b = caffe_lstm_blobs(np.random.default_rng(0), 4, 3, 5)
    b[2] = b[2][:, :4]  # the declared static input has 5 features: planned at load
    with pytest.raises(ShapeError, match=r"layer 'lstm1' \(LSTM\): static input 2x5 must be \[N = 2, 4\]"):
        load(lstm_net(bottoms=("x", "cont", "xs")), {"lstm1": b})


def test_lstm_expose_hidden_is_unsupported():
    b = caffe_lstm_blobs(np.random.default_rng(0), 4, 3)
    with pytest.raises(UnsupportedError, match=r"layer 'lstm1' \(LSTM\): recurrent_param.expose_hidden"):
        load(lstm_net(param="expose_hidden: true"), {"lstm1": b})
    load(lstm_net(param="expose_hidden: false debug_info: false"), {"lstm1": b})


@pytest.mark.parametrize("bottoms", [("x",), ("x", "cont", "xs", "x")])
def test_lstm_wrong_bottom_count(bottoms):
    b = caffe_lstm_blobs(np.random.default_rng(0), 4, 3)
    with pytest.raises(ModelFormatError, match=r"layer 'lstm1' \(LSTM\): expected 2 or 3 bottoms"):
        load(lstm_net(bottoms=bottoms), {"lstm1": b})


LSTM_CONT = r"layer 'lstm1' \(LSTM\): cont has shape (2x3|3x2), expected 2x2 "


@pytest.mark.parametrize("cont_shape,pattern", [((2, 3), LSTM_CONT), ((3, 2), LSTM_CONT),
                                                ((2, 2, 2), r"input 'cont': got a 3-D array")])
def test_lstm_cont_of_wrong_shape(cont_shape, pattern):
    b = caffe_lstm_blobs(np.random.default_rng(0), 4, 3)
    model = load(lstm_net(), {"lstm1": b})
    with pytest.raises(ShapeError, match=pattern):
        model.run({"x": np.zeros((2, 2, 3), np.float32), "cont": np.ones(cont_shape, np.float32)})
    # Declared that way, the same is an error at load.
    text = lstm_net().replace("input_shape { dim: 2 dim: 2 }", "input_shape { dim: 2 dim: 3 }")
    with pytest.raises(ShapeError, match=LSTM_CONT):
        load(text, {"lstm1": b})


def test_lstm_input_of_wrong_size():
    model = load(lstm_net(), {"lstm1": caffe_lstm_blobs(np.random.default_rng(0), 4, 3)})
    with pytest.raises(ShapeError, match=r"layer 'lstm1' \(LSTM\): input 2x2x4 gives 4 features per step, the weights expect 3"):
        model.run({"x": np.zeros((2, 2, 4), np.float32), "cont": np.ones((2, 2), np.float32)})


@pytest.mark.parametrize("w_shape,bias,pattern", [
    ((5, 4), True, r"blob 0 \(weights\) has shape 5x4, expected 6x4"),
    ((6, 3), False, r"blob 0 \(weights\) has shape 6x3, expected 6x4"),
    ((24,), False, r"blob 0 \(weights\) has shape 24, expected 6x4"),
])
def test_embed_wrong_weight_shape(w_shape, bias, pattern):
    blobs = [np.zeros(w_shape, np.float32)] + ([np.zeros(4, np.float32)] if bias else [])
    param = f"embed_param {{ input_dim: 6 num_output: 4 bias_term: {str(bias).lower()} }}"
    with pytest.raises(ModelFormatError, match=r"layer 'emb' \(Embed\): " + pattern):
        load(net_text({"idx": (3,)}, layer("emb", "Embed", "idx", "emb", param)), {"emb": blobs})


def test_embed_bias_blob_missing():
    param = "embed_param { input_dim: 6 num_output: 4 }"
    with pytest.raises(ModelFormatError, match=r"layer 'emb' \(Embed\): the caffemodel has 1 blobs for this layer, expected 2"):
        load(net_text({"idx": (3,)}, layer("emb", "Embed", "idx", "emb", param)), {"emb": [np.zeros((6, 4), np.float32)]})


def test_xnn_lstm_flags_and_inputs_disagree():
    rng = np.random.default_rng(0)
    w, r, b = randn(rng, 1, 8, 3), randn(rng, 1, 8, 2), randn(rng, 1, 8)
    g, _ = lstm_graph((2, 1, 3), 2, "forward", [w, r, b], {"cont": np.ones((2, 1), np.float32)}, 1)
    g.nodes[0].attrs["has_cont"] = [0]
    with pytest.raises(ModelFormatError, match=r"node 0 'lstm' \(LSTM\): 2 inputs, the has_\* attributes give 1"):
        xnn.Model.from_bytes(encode(g))
    g.nodes[0].attrs["has_cont"] = [1]
    g.nodes[0].weights[1] = randn(rng, 1, 8, 3)
    with pytest.raises(ModelFormatError, match=r"node 0 'lstm' \(LSTM\).*shape 1x8x3, expected 1x8x2"):
        xnn.Model.from_bytes(encode(g))
    g.nodes[0].weights[1] = r
    g.nodes[0].attrs["clip"] = [-1.0]
    with pytest.raises(ModelFormatError, match=r"node 0 'lstm' \(LSTM\): clip must be finite and >= 0"):
        xnn.Model.from_bytes(encode(g))


@pytest.mark.parametrize("name,shape,pattern", [
    ("seq_lens", (3,), r"sequence_lens has shape 3, expected 2 "),
    ("initial_h", (1, 2, 4), r"initial_h has shape 1x2x4, expected 1x2x3 "),
    ("initial_c", (2, 2, 3), r"initial_c has shape 2x2x3, expected 1x2x3 "),
    ("static", (3, 5), r"static input 3x5 must be \[N = 2, 5\]"),
])
def test_lstm_optional_inputs_of_wrong_shape(name, shape, pattern):
    rng = np.random.default_rng(0)
    opts = {"seq_lens": np.ones(2, np.float32), "static": randn(rng, 2, 5), "initial_h": randn(rng, 1, 2, 3),
            "initial_c": randn(rng, 1, 2, 3)}
    weights = [randn(rng, 1, 12, 4), randn(rng, 1, 12, 3), randn(rng, 1, 12), randn(rng, 1, 12, 5)]
    g, names = lstm_graph((2, 2, 4), 3, "forward", weights, opts, 1)
    model = xnn.Model.from_bytes(encode(g))
    feed = {"x": randn(rng, 2, 2, 4), **{k: opts[k] for k in names[1:]}}
    model.run(feed)
    feed[name] = np.zeros(shape, np.float32)
    with pytest.raises(ShapeError, match=r"layer 'lstm' \(LSTM\): " + pattern):
        model.run(feed)
