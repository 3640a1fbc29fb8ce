"""Sparse layers: pruned convolutions, fully connected layers and LSTMs forced onto the sparse path
(XNN_SPARSE=1) and onto the dense one (XNN_SPARSE=0), both against NumPy, on every kernel set and with 1
and 2 threads; the choice made at load shows in the layer type, and XNN_SPARSE unset follows the measured
thresholds."""
from __future__ import annotations

import numpy as np
import pytest

import numpy_ref as ref
import xnn
from test_lstm import lstm_graph
from test_ops import caffemodel_bytes, check, conv_param, layer, net_text, randn, rng_for
from xnn.format import encode


@pytest.fixture(autouse=True, params=xnn.available_isas())
def isa(request, monkeypatch):
    monkeypatch.setenv("XNN_ISA", request.param)
    return request.param


def prune(w: np.ndarray, zeros: float) -> np.ndarray:
    """Magnitude pruning: the smallest `zeros` fraction of the weights set to 0."""
    w = w.copy()
    cut = int(round(zeros * w.size))
    if cut:
        w.flat[np.argsort(np.abs(w), axis=None)[:cut]] = 0.0
    return w


def load(monkeypatch, sparse: str, proto: str, weights, num_threads: int) -> xnn.Model:
    if sparse is None:
        monkeypatch.delenv("XNN_SPARSE", raising=False)
    else:
        monkeypatch.setenv("XNN_SPARSE", sparse)
    return xnn.Model.from_caffe_bytes(proto.encode(), caffemodel_bytes(weights), num_threads=num_threads)


def sparse_layers(model: xnn.Model):
    return [l.type for l in model.layers if "[sparse:" in l.type]


# (N, C, H, W, O, (kh, kw), (sh, sw), (ph, pw), (dh, dw), group)
CONV_CASES = [
    (1, 16, 7, 7, 24, (1, 1), (1, 1), (0, 0), (1, 1), 1),     # 1x1 on a 7x7 map: 32 + 16 + 1 pixel tails
    (2, 33, 13, 11, 40, (1, 1), (1, 1), (0, 0), (1, 1), 1),   # batch 2, odd sizes
    (1, 64, 20, 20, 37, (1, 1), (1, 1), (0, 0), (1, 1), 1),   # 400 pixels, many tiles
    (2, 20, 33, 35, 18, (1, 1), (1, 1), (0, 0), (1, 1), 2),   # 1155 pixels, K 10: input read in place
    (1, 24, 9, 9, 30, (1, 1), (1, 1), (0, 0), (1, 1), 3),     # grouped 1x1
    (1, 8, 1, 1, 100, (1, 1), (1, 1), (0, 0), (1, 1), 1),     # one pixel: the gathers
    (1, 12, 13, 13, 20, (1, 1), (2, 2), (0, 0), (1, 1), 1),   # strided 1x1: im2col
    (1, 16, 15, 15, 24, (3, 3), (2, 2), (1, 1), (1, 1), 1),   # 3x3 stride 2 pad 1
    (1, 8, 17, 17, 12, (3, 3), (1, 1), (2, 2), (2, 2), 1),    # dilated
    (2, 12, 11, 11, 18, (3, 3), (1, 1), (1, 1), (1, 1), 3),   # grouped 3x3, batch 2
    (1, 64, 30, 30, 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),   # K = 576 (two chunks of im2col), 900 pixels
    (1, 3, 33, 31, 16, (5, 5), (2, 2), (2, 2), (1, 1), 1),    # 5x5 on 3 channels
]


def conv_case_id(case) -> str:
    n, c, h, w, o, k, s, p, d, g = case
    return f"n{n}c{c}_{h}x{w}_o{o}_k{k[0]}_s{s[0]}_p{p[0]}_d{d[0]}_g{g}"


@pytest.mark.parametrize("case", CONV_CASES, ids=conv_case_id)
@pytest.mark.parametrize("zeros", [0.5, 0.9, 1.0])
@pytest.mark.parametrize("threads", [1, 2])
def test_sparse_convolution(case, zeros, threads, monkeypatch):
    n, c, h, w, o, k, s, p, d, g = case
    rng = rng_for("sparse-conv", case, zeros)
    weight = prune(randn(rng, o, c // g, k[0], k[1], scale=1.0 / np.sqrt(c // g * k[0] * k[1])), zeros)
    bias = randn(rng, o)
    relu = layer("relu", "ReLU", "conv", "conv")
    proto = net_text({"data": (n, c, h, w)}, layer("conv", "Convolution", "data", "conv",
                                                   conv_param(o, k, s, p, d, g, True)), relu)
    x = randn(rng, n, c, h, w)
    want = np.maximum(ref.conv2d(x, weight, bias, s, p, d, g), 0)
    for mode in ("1", "0"):
        model = load(monkeypatch, mode, proto, {"conv": [weight, bias]}, threads)
        assert len(sparse_layers(model)) == (mode == "1"), [l.type for l in model.layers]
        check(model.predict(x), want, f"XNN_SPARSE={mode} {conv_case_id(case)} zeros={zeros}")


def prune_blocks(w: np.ndarray, zeros: float, block: int = 4) -> np.ndarray:
    """Magnitude pruning in blocks: the `zeros` fraction of blocks of `block` output channels x one input
    position with the smallest L2 norm set to 0."""
    o = w.shape[0]
    flat = w.reshape(o // block, block, -1).copy()
    norms = np.sqrt((flat.astype(np.float64) ** 2).sum(axis=1))
    cut = int(round(zeros * norms.size))
    if cut:
        idx = np.unravel_index(np.argsort(norms, axis=None)[:cut], norms.shape)
        flat[idx[0], :, idx[1]] = 0.0
    return flat.reshape(w.shape)


BLOCKED_CASES = [
    (1, 16, 7, 7, 24, (1, 1), (1, 1), (0, 0), (1, 1), 1),     # 7x7 map: 32-pixel tile masked to 17
    (2, 33, 13, 11, 40, (1, 1), (1, 1), (0, 0), (1, 1), 1),   # batch 2, odd sizes
    (1, 64, 20, 20, 36, (1, 1), (1, 1), (0, 0), (1, 1), 1),   # 400 pixels, 9 blocks
    (2, 20, 33, 35, 16, (1, 1), (1, 1), (0, 0), (1, 1), 2),   # 1155 pixels, K 10: input read in place, groups
    (1, 24, 9, 9, 24, (1, 1), (1, 1), (0, 0), (1, 1), 3),     # grouped 1x1, 8 channels a group
    (1, 16, 15, 15, 24, (3, 3), (2, 2), (1, 1), (1, 1), 1),   # 3x3 stride 2 pad 1
    (1, 64, 30, 30, 32, (3, 3), (1, 1), (1, 1), (1, 1), 1),   # K = 576, two chunks of im2col
    (1, 8, 1, 1, 100, (1, 1), (1, 1), (0, 0), (1, 1), 1),     # one pixel: stays one channel a tile
]


@pytest.mark.parametrize("case", BLOCKED_CASES, ids=conv_case_id)
@pytest.mark.parametrize("zeros", [0.5, 0.8, 1.0])
@pytest.mark.parametrize("threads", [1, 2])
def test_sparse_convolution_blocked(case, zeros, threads, isa, monkeypatch):
    """Weights pruned in blocks of four output channels run on the set's blocked kernel where it has one
    (the layer type says so), and give the dense result; a fused ReLU."""
    n, c, h, w, o, k, s, p, d, g = case
    rng = rng_for("sparse-blocked", case, zeros)
    weight = prune_blocks(randn(rng, o, c // g, k[0], k[1], scale=1.0 / np.sqrt(c // g * k[0] * k[1])), zeros)
    bias = randn(rng, o)
    proto = net_text({"data": (n, c, h, w)}, layer("conv", "Convolution", "data", "conv",
                                                   conv_param(o, k, s, p, d, g, True)),
                     layer("relu", "ReLU", "conv", "conv"))
    x = randn(rng, n, c, h, w)
    want = np.maximum(ref.conv2d(x, weight, bias, s, p, d, g), 0)
    model = load(monkeypatch, "1", proto, {"conv": [weight, bias]}, threads)
    types = sparse_layers(model)
    assert len(types) == 1, [l.type for l in model.layers]
    blocked = "spmm_blocked" in xnn._xnn.testing.families(isa).split() and h * w > 1
    assert types[0].endswith(", blocks of 4]") == blocked, types
    check(model.predict(x), want, f"blocked {conv_case_id(case)} zeros={zeros}")


def test_unstructured_zeros_stay_one_channel(monkeypatch):
    """Zeros pruned one by one share few columns between neighbouring channels: the one-channel kernel."""
    rng = rng_for("sparse-unstructured")
    weight = prune(randn(rng, 32, 64, 1, 1), 0.8)
    proto = net_text({"data": (1, 64, 10, 10)}, layer("conv", "Convolution", "data", "conv",
                                                      conv_param(32, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)))
    types = sparse_layers(load(monkeypatch, "1", proto, {"conv": [weight, randn(rng, 32)]}, 1))
    assert len(types) == 1 and "blocks" not in types[0], types


@pytest.mark.parametrize("kernel", [1, 3])
@pytest.mark.parametrize("threads", [1, 2])
def test_sparse_convolution_residual(kernel, threads, monkeypatch):
    """A convolution with an Eltwise SUM and a ReLU fused into it (a ResNet block's last layer): the sum is
    the sparse kernels' residual epilogue."""
    c, o, h, w = 20, 24, 14, 15
    rng = rng_for("sparse-residual", kernel)
    weight = prune(randn(rng, o, c, kernel, kernel, scale=0.3), 0.8)
    bias = randn(rng, o)
    pad = kernel // 2
    proto = net_text({"data": (1, c, h, w), "skip": (1, o, h, w)},
                     layer("conv", "Convolution", "data", "conv",
                           conv_param(o, (kernel, kernel), (1, 1), (pad, pad), (1, 1), 1, True)),
                     layer("sum", "Eltwise", ["conv", "skip"], "sum"),
                     layer("relu", "ReLU", "sum", "sum"))
    x, skip = randn(rng, 1, c, h, w), randn(rng, 1, o, h, w)
    want = np.maximum(ref.conv2d(x, weight, bias, (1, 1), (pad, pad), (1, 1), 1) + skip, 0)
    for mode in ("1", "0"):
        model = load(monkeypatch, mode, proto, {"conv": [weight, bias]}, threads)
        types = [l.type for l in model.layers]
        assert len(types) == 1 and types[0].startswith("Convolution+Eltwise+ReLU"), types
        check(model.run({"data": x, "skip": skip})["sum"], want, f"XNN_SPARSE={mode} residual k{kernel}")


@pytest.mark.parametrize("batch", [1, 5])
@pytest.mark.parametrize("zeros", [0.5, 0.9, 0.99, 1.0])
@pytest.mark.parametrize("threads", [1, 2])
def test_sparse_inner_product(batch, zeros, threads, monkeypatch):
    k, no = 300, 130
    rng = rng_for("sparse-fc", batch, zeros)
    weight = prune(randn(rng, no, k, scale=1.0 / np.sqrt(k)), zeros)
    bias = randn(rng, no)
    proto = net_text({"data": (batch, 3, 10, 10)},
                     layer("fc", "InnerProduct", "data", "fc", f"inner_product_param {{ num_output: {no} }}"),
                     layer("relu", "ReLU", "fc", "fc"))
    x = randn(rng, batch, 3, 10, 10)
    want = np.maximum(ref.inner_product(x, weight, bias), 0)
    for mode in ("1", "0"):
        model = load(monkeypatch, mode, proto, {"fc": [weight, bias]}, threads)
        assert len(sparse_layers(model)) == (mode == "1"), [l.type for l in model.layers]
        check(model.predict(x), want, f"XNN_SPARSE={mode} fc batch={batch} zeros={zeros}")


def test_sparse_type_names_density(monkeypatch):
    rng = rng_for("sparse-type")
    weight = randn(rng, 10, 20)
    weight[:, :15] = 0  # 25% of the weights are nonzero
    proto = net_text({"data": (1, 20)},
                     layer("fc", "InnerProduct", "data", "fc", "inner_product_param { num_output: 10 }"))
    model = load(monkeypatch, "1", proto, {"fc": [weight, randn(rng, 10)]}, 1)
    assert [l.type for l in model.layers] == ["InnerProduct [sparse: 25.0% nonzero]"]


def test_dense_weights_stay_dense(monkeypatch):
    """Without a zero weight nothing runs sparse, even when forced; XNN_SPARSE=0 keeps pruned weights dense."""
    rng = rng_for("sparse-dense")
    pointwise = conv_param(16, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)
    proto = net_text({"data": (1, 8, 9, 9)}, layer("conv", "Convolution", "data", "conv", pointwise))
    weight = randn(rng, 16, 8, 1, 1)
    assert not sparse_layers(load(monkeypatch, "1", proto, {"conv": [weight, randn(rng, 16)]}, 1))
    assert not sparse_layers(load(monkeypatch, "0", proto, {"conv": [prune(weight, 0.9), randn(rng, 16)]}, 1))


def test_sparse_other_input_sizes(monkeypatch):
    """The packed weights index input rows, not offsets: a session planned for other input sizes (a new
    row stride) and batch gives the right output."""
    rng = rng_for("sparse-reshape")
    weight = prune(randn(rng, 24, 16, 1, 1, scale=0.25), 0.8)
    bias = randn(rng, 24)
    pointwise = conv_param(24, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)
    proto = net_text({"data": (1, 16, 8, 8)}, layer("conv", "Convolution", "data", "conv", pointwise))
    model = load(monkeypatch, "1", proto, {"conv": [weight, bias]}, 2)
    assert sparse_layers(model)
    for shape in [(1, 16, 8, 8), (3, 16, 21, 5), (1, 16, 1, 1), (2, 16, 40, 40)]:
        x = randn(rng, *shape)
        check(model.predict(x), ref.conv2d(x, weight, bias, 1, 0, 1, 1), f"input {shape}")


@pytest.mark.parametrize("kind", ["1x1", "fc"])
def test_threshold_choice(kind, isa, monkeypatch):
    """With XNN_SPARSE unset the planner follows the measured thresholds: 97% zeros run sparse, weights
    without a zero dense, and so do lightly pruned ones, except 1x1 convolutions on the portable set (its
    sparse kernel beats its GEMM at any density)."""
    rng = rng_for("sparse-threshold", kind)
    if kind == "fc":
        proto = net_text({"data": (1, 256)}, layer("fc", "InnerProduct", "data", "fc",
                                                   "inner_product_param { num_output: 64 }"))
        weight = randn(rng, 64, 256)
    else:
        pointwise = conv_param(64, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)
        proto = net_text({"data": (1, 256, 14, 14)}, layer("fc", "Convolution", "data", "fc", pointwise))
        weight = randn(rng, 64, 256, 1, 1)
    bias = randn(rng, 64)
    for zeros, sparse in [(0.97, True), (0.1, isa == "ref" and kind == "1x1"), (0.0, False)]:
        model = load(monkeypatch, None, proto, {"fc": [prune(weight, zeros), bias]}, 1)
        assert bool(sparse_layers(model)) == sparse, (zeros, [l.type for l in model.layers])


def test_threshold_choice_blocked(isa, monkeypatch):
    """Weights pruned in blocks have thresholds of their own (csrc/core/kernels.c: nonzero shares below
    which the blocked kernel beats the dense one for 1x1 layers: portable 100%, AVX2 60%, AVX-512 35%,
    NEON 55%): at 55% and 70% zeros in blocks of 4, a 1x1 layer runs sparse (blocked) where its density
    is below the set's threshold, and the same zeros pruned one by one follow the one-channel threshold
    (35% on both x86 sets, 15% on NEON)."""
    rng = rng_for("sparse-threshold-blocked")
    pointwise = conv_param(64, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)
    proto = net_text({"data": (1, 256, 14, 14)}, layer("fc", "Convolution", "data", "fc", pointwise))
    weight, bias = randn(rng, 64, 256, 1, 1), randn(rng, 64)
    threshold = {"ref": 1.0, "avx2": 0.60, "avx512": 0.35, "neon": 0.55}[isa]
    one_channel = {"ref": 1.0, "avx2": 0.35, "avx512": 0.35, "neon": 0.15}[isa]
    for zeros in (0.55, 0.7):
        blocked = load(monkeypatch, None, proto, {"fc": [prune_blocks(weight, zeros), bias]}, 1)
        want = ["blocks of 4"] if 1.0 - zeros < threshold else []
        assert [t[-12:-1] for t in sparse_layers(blocked)] == want, (zeros, [l.type for l in blocked.layers])
        scattered = load(monkeypatch, None, proto, {"fc": [prune(weight, zeros), bias]}, 1)
        assert bool(sparse_layers(scattered)) == (1.0 - zeros < one_channel), (zeros, scattered.layers[0].type)


def test_threshold_choice_streamed_classifier(isa, monkeypatch):
    """A fully connected layer larger than any L2 (8 MB of weights) is read from memory once per inference:
    at 80% zeros it runs sparse on the x86 and portable sets (their thresholds for streamed weights are
    25-45% nonzero, for cached ones 5-10%); NEON's single threshold (15%) keeps it dense."""
    rng = rng_for("sparse-streamed")
    proto = net_text({"data": (1, 2048)}, layer("fc", "InnerProduct", "data", "fc",
                                                "inner_product_param { num_output: 1024 }"))
    weight = prune(randn(rng, 1024, 2048), 0.8)
    model = load(monkeypatch, None, proto, {"fc": [weight, randn(rng, 1024)]}, 1)
    assert bool(sparse_layers(model)) == (isa != "neon"), [l.type for l in model.layers]


def test_cli_shows_sparse_layers(tmp_path, monkeypatch, capsys):
    """`xnn info` and `xnn profile` name the layers that run sparse and their density."""
    from xnn import cli

    rng = rng_for("sparse-cli")
    pointwise = conv_param(32, (1, 1), (1, 1), (0, 0), (1, 1), 1, True)
    proto = tmp_path / "net.prototxt"
    proto.write_text(net_text({"data": (1, 16, 10, 10)}, layer("conv", "Convolution", "data", "conv", pointwise)))
    weights = tmp_path / "net.caffemodel"
    weights.write_bytes(caffemodel_bytes({"conv": [prune(randn(rng, 32, 16, 1, 1), 0.75), randn(rng, 32)]}))
    monkeypatch.setenv("XNN_SPARSE", "1")
    for command in ("info", "profile"):
        assert cli.main([command, str(proto), "--weights", str(weights)]) == 0
        assert "Convolution [sparse: 25.0% nonzero]" in capsys.readouterr().out, command


# (T, N, I, H, direction, initial states): every odd size, both directions, with and without h0/c0
LSTM_CASES = [
    (1, 1, 3, 5, "forward", False),
    (7, 3, 17, 13, "bidirectional", True),
    (7, 1, 17, 37, "reverse", False),
    (1, 3, 3, 37, "bidirectional", False),
    (7, 3, 3, 5, "forward", True),
    (7, 1, 17, 13, "bidirectional", True),
]


def lstm_case_id(case) -> str:
    t, n, i, h, direction, initial = case
    return f"T{t}N{n}I{i}H{h}-{direction}{'-initial' if initial else ''}"


@pytest.mark.parametrize("case", LSTM_CASES, ids=lstm_case_id)
@pytest.mark.parametrize("zeros", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("pruned", ["input", "recurrent", "input+recurrent"])
def test_sparse_lstm(case, zeros, pruned, monkeypatch):
    """A pruned LSTM forced sparse: against NumPy and against the same model forced dense, 1e-5 of the
    largest output; the type names each pruned matrix that runs sparse (none when nothing is zero)."""
    t, n, i_size, h, direction, initial = case
    rng = rng_for("sparse-lstm", lstm_case_id(case), zeros, pruned)
    d = 2 if direction == "bidirectional" else 1
    x = randn(rng, t, n, i_size)
    w, r = randn(rng, d, 4 * h, i_size, scale=i_size ** -0.5), randn(rng, d, 4 * h, h, scale=h ** -0.5)
    w, r = (prune(w, zeros) if "input" in pruned else w), (prune(r, zeros) if "recurrent" in pruned else r)
    b = randn(rng, d, 4 * h, scale=0.5)
    opts, kw = {}, {}
    if initial:
        opts["initial_h"] = kw["h0"] = randn(rng, d, n, h)
        opts["initial_c"] = kw["c0"] = randn(rng, d, n, h)
    g, names = lstm_graph(x.shape, h, direction, [w, r, b], opts, 3)
    feeds = {"x": x, **{k: opts[k] for k in names[1:]}}
    want = dict(zip(["y", "y_h", "y_c"], ref.lstm(x, w, r, b, hidden=h, direction=direction, **kw)))
    runs = {}
    for mode in ("1", "0"):
        monkeypatch.setenv("XNN_SPARSE", mode)
        model = xnn.Model.from_bytes(encode(g), num_threads=1 + n % 2)
        tags = [tag for tag in ("input", "recurrent") if f"[sparse: {tag} " in model.layers[0].type]
        assert tags == ([tag for tag in ("input", "recurrent") if tag in pruned] if mode == "1" and zeros else []), \
            model.layers[0].type
        runs[mode] = model.run(feeds)
        for name, wv in want.items():
            check(runs[mode][name], wv, f"XNN_SPARSE={mode} {name}", rtol=1e-5)
    for name in want:
        check(runs["1"][name], runs["0"][name], f"sparse against dense {name}", rtol=1e-5)


def lstm_types(monkeypatch, sparse, x_shape, w, r) -> str:
    """The type of a one-node LSTM (bidirectional when w has two directions) loaded with XNN_SPARSE=sparse
    (None: unset)."""
    g, _ = lstm_graph(x_shape, r.shape[2], "bidirectional" if len(w) == 2 else "forward",
                      [w, r, np.zeros(r.shape[:2], np.float32)], {}, 1)
    if sparse is None:
        monkeypatch.delenv("XNN_SPARSE", raising=False)
    else:
        monkeypatch.setenv("XNN_SPARSE", sparse)
    return xnn.Model.from_bytes(encode(g)).layers[0].type


def test_sparse_lstm_threshold_choice(isa, monkeypatch):
    """With XNN_SPARSE unset: 97% zeros run sparse, no zeros dense; at 80% zeros R (a step's product of a few
    columns, the fully connected thresholds) stays dense, and so does W for a one-column sequence, while W
    of a 7-step sequence runs sparse (the 1x1 convolution thresholds). The NEON set has one threshold for
    every kind (15% nonzero): there both stay dense at 80% zeros and both run sparse at 90%."""
    rng = rng_for("sparse-lstm-threshold")
    w, r = randn(rng, 1, 4 * 64, 96), randn(rng, 1, 4 * 64, 64)
    assert lstm_types(monkeypatch, None, (7, 1, 96), w, r) == "LSTM"
    assert lstm_types(monkeypatch, None, (7, 1, 96), prune(w, 0.97), prune(r, 0.97)) == \
        "LSTM [sparse: input 3.0% nonzero] [sparse: recurrent 3.0% nonzero]"
    if isa == "neon":
        assert lstm_types(monkeypatch, None, (7, 1, 96), prune(w, 0.8), prune(r, 0.8)) == "LSTM"
        assert lstm_types(monkeypatch, None, (1, 1, 96), prune(w, 0.9), prune(r, 0.9)) == \
            "LSTM [sparse: input 10.0% nonzero] [sparse: recurrent 10.0% nonzero]"
        return
    assert lstm_types(monkeypatch, None, (7, 1, 96), prune(w, 0.8), prune(r, 0.8)) == \
        "LSTM [sparse: input 20.0% nonzero]"
    assert lstm_types(monkeypatch, None, (1, 1, 96), prune(w, 0.8), prune(r, 0.8)) == "LSTM"


def test_sparse_lstm_type_names_density(monkeypatch):
    rng = rng_for("sparse-lstm-type")
    w, r = randn(rng, 2, 8, 4), randn(rng, 2, 8, 2)
    w[:, :, :3] = 0  # 25% of W nonzero; R dense
    assert lstm_types(monkeypatch, "1", (3, 1, 4), w, r) == "LSTM [sparse: input 25.0% nonzero]"
    assert lstm_types(monkeypatch, "0", (3, 1, 4), w, r) == "LSTM"


def test_sparse_lstm_too_long_input(monkeypatch):
    """The kernels index the transposed input with 31 bits: a plan for a longer one is a shape error naming
    the layer (planning allocates nothing, so no such input is needed)."""
    rng = rng_for("sparse-lstm-long")
    w, r = prune(randn(rng, 1, 20, 3), 0.5), randn(rng, 1, 20, 5)
    monkeypatch.setenv("XNN_SPARSE", "1")
    model = xnn.Model.from_bytes(encode(lstm_graph((7, 1, 3), 5, "forward", [w, r, randn(rng, 1, 20)], {}, 1)[0]))
    assert model.arena_bytes((1 << 20, 1, 3)) > 0
    with pytest.raises(xnn.ShapeError, match=r"'lstm'.*too long for the sparse weights"):
        model.arena_bytes((1 << 30, 1, 3))
