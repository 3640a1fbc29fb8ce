"""xqueeze, step by step: pruning keeps its masks and reaches the requested sparsity, neuron removal is exact
where the removed neurons carry nothing, k-means codebooks have the requested size, the network transforms
are lossless on the shared Caffe models, and the whole pipeline turns a trained network into a smaller .xnn
file that the C runtime loads and that still classifies."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import caffe_tools
import xnn
from xnn.errors import UnsupportedError
from xnn.format import CodedWeight, encode
from xnn.graph import Graph, Node
from xnn.xqueeze import compress, finetune, prune, quantize, reconstruct, transform
from xnn.xqueeze.data import Dataset, _idx_array
from xnn.xqueeze.torchnet import TorchNet, evaluate, spatial_sizes


def run_xnn(graph: Graph, x: np.ndarray) -> np.ndarray:
    out = xnn.Model.from_bytes(encode(graph)).predict(x)
    return next(iter(out.values())) if isinstance(out, dict) else out


def small_cnn(seed: int = 0) -> Graph:
    """conv(3x3, 6) -> ReLU -> max pool -> conv(1x1, 8) -> flatten -> ip(16) -> ReLU -> ip(4) -> softmax on 1x8x8."""
    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s) * 0.5).astype(np.float32)  # noqa: E731
    g = Graph(tensors=["x", "c1", "r1", "p1", "c2", "f", "i1", "r2", "i2", "prob"], inputs=[(0, (1, 1, 8, 8))],
              outputs=[9])
    g.nodes = [
        Node("conv1", "Convolution", [0], [1], {"num_output": [6], "kernel": [3, 3], "pad": [1, 1, 1, 1]},
             [r(6, 1, 3, 3), r(6)]),
        Node("relu1", "ReLU", [1], [2]),
        Node("pool1", "Pooling", [2], [3], {"method": [0], "kernel": [2, 2], "stride": [2, 2]}),
        Node("conv2", "Convolution", [3], [4], {"num_output": [8], "kernel": [1, 1]}, [r(8, 6, 1, 1), r(8)]),
        Node("flat", "Flatten", [4], [5]),
        Node("ip1", "InnerProduct", [5], [6], {"num_output": [16]}, [r(16, 8 * 16), r(16)]),
        Node("relu2", "ReLU", [6], [7]),
        Node("ip2", "InnerProduct", [7], [8], {"num_output": [4]}, [r(4, 16), r(4)]),
        Node("prob", "Softmax", [8], [9]),
    ]
    return g


def blobs_dataset(n_train: int = 4000, n_test: int = 1000, seed: int = 0) -> Dataset:
    """Four classes of 8x8 images: a class is a fixed random pattern, plus noise."""
    rng = np.random.default_rng(seed)
    protos = rng.standard_normal((4, 1, 8, 8)).astype(np.float32)

    def make(n):
        y = rng.integers(0, 4, n)
        x = protos[y] + 1.2 * rng.standard_normal((n, 1, 8, 8)).astype(np.float32)
        return x.astype(np.float32), y.astype(np.int64)

    xtr, ytr = make(n_train)
    xte, yte = make(n_test)
    return Dataset(xtr, ytr, xte, yte)


# ------------------------------------------------------------------------------ torch net


@pytest.mark.parametrize("name", ["lenet_mnist", "mtcnn_det2", "squeezenet_v1.1", "mobilenet_v2", "bvlc_googlenet"])
def test_torchnet_matches_the_c_runtime(name, random_caffe_model):
    prototxt, caffemodel = random_caffe_model(name)
    g = Graph.from_caffe(prototxt, caffemodel)
    x = next(iter(caffe_tools.random_inputs(caffe_tools.net_input_shapes(prototxt, batch=1), seed=3).values()))
    want = xnn.Model.load(prototxt, caffemodel).run({g.tensors[g.inputs[0][0]]: x})
    with torch.no_grad():
        got = TorchNet(g)(torch.from_numpy(x))
    got = got if isinstance(got, list) else [got]
    for o, v in zip(g.outputs, got):
        ref = want[g.tensors[o]]
        np.testing.assert_allclose(v.numpy(), ref, rtol=0, atol=2e-5 * float(np.abs(ref).max()))


# ------------------------------------------------------------------------------ pruning


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.75, 0.99])
def test_magnitude_mask_exact_sparsity(sparsity):
    w = np.random.default_rng(1).standard_normal((37, 53)).astype(np.float32)
    m = prune.magnitude_mask(w, sparsity)
    assert int((m == 0).sum()) == int(round(sparsity * w.size))
    kept, dropped = np.abs(w[m == 1]), np.abs(w[m == 0])
    assert dropped.size == 0 or dropped.max() <= kept.min()
    with pytest.raises(ValueError):
        prune.magnitude_mask(w, 1.0)


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.8])
def test_block_mask_drops_whole_blocks_by_norm(sparsity):
    rng = np.random.default_rng(2)
    w = rng.standard_normal((12, 5, 3, 3)).astype(np.float32)
    w[4:8, 2, 1, 1] = 0.0  # an all-zero block goes first
    m = prune.magnitude_mask(w, sparsity, block=4)
    blocks = m.reshape(3, 4, -1)
    assert (blocks == blocks[:, :1]).all(), "a block kept in part"
    keep = blocks[:, 0]
    assert int((keep == 0).sum()) == int(round(sparsity * keep.size))
    norms = np.sqrt((w.astype(np.float64).reshape(3, 4, -1) ** 2).sum(axis=1))
    if 0 < sparsity:
        assert keep[1, 2 * 9 + 4] == 0
        assert norms[keep == 0].max() <= norms[keep == 1].min()
    with pytest.raises(ValueError, match="10 output channels are not whole blocks of 4"):
        prune.magnitude_mask(w[:10], 0.5, block=4)


def test_block_synapse_pruning_runs_blocked(monkeypatch):
    """A config's ``block``: conv2 and ip1 pruned in blocks of 4 output channels keep them through
    fine-tuning, and the runtime runs the convolution on its blocked kernels ("blocks of 4" in its type)."""
    data = blobs_dataset()
    g = finetune(small_cnn(), data, 1, progress=False)
    cfg = {"validation": 500, "finetune": {"lr": 0.01},
           "steps": [{"step": "synapse_prune", "layers": {"conv2": 0.5, "ip1": 0.75}, "block": 4, "epochs": 1}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None)
    for name, s in {"conv2": 0.5, "ip1": 0.75}.items():
        w = np.asarray(out.graph.node(name).weights[0]).reshape(-1, 4, int(np.prod(g.node(name).weights[0].shape[1:])))
        zero = w == 0
        assert (zero == zero[:, :1]).all(), name
        assert abs(zero.mean() - s) < 1e-9, name
    monkeypatch.setenv("XNN_SPARSE", "1")
    monkeypatch.delenv("XNN_ISA", raising=False)
    model = xnn.Model.from_bytes(encode(out.graph))
    conv2 = next(l.type for l in model.layers if l.name == "conv2")
    assert conv2.endswith("[sparse: 50.0% nonzero, blocks of 4]"), conv2
    # Per layer: conv2 in blocks, conv1 (6 channels, no whole blocks of 4) one weight at a time.
    cfg = {"steps": [{"step": "synapse_prune", "layers": {"conv*": 0.5}, "block": {"conv2": 4}}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None)
    zero2 = np.asarray(out.graph.node("conv2").weights[0]).reshape(2, 4, 6) == 0
    assert (zero2 == zero2[:, :1]).all() and abs(zero2.mean() - 0.5) < 1e-9
    zero1 = np.asarray(out.graph.node("conv1").weights[0]).reshape(6, 9) == 0
    assert abs(zero1.mean() - 0.5) < 1 / 54 and not (zero1[:4] == zero1[:1]).all()
    with pytest.raises(ValueError, match="synapse_prune: layer 'conv1': 6 output channels are not whole blocks"):
        compress(g, {"steps": [{"step": "synapse_prune", "layers": {"conv1": 0.5}, "block": 4}]}, data,
                 progress=False, log=lambda s: None)


def test_synapse_pruning_keeps_masks_through_finetuning():
    data = blobs_dataset()
    g = finetune(small_cnn(), data, 1, progress=False)
    cfg = {"validation": 500, "finetune": {"lr": 0.01},
           "steps": [{"step": "synapse_prune", "layers": {"ip1": 0.9, "conv*": 0.5}, "iterations": 2, "epochs": 1}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None)
    for name, s in {"ip1": 0.9, "conv1": 0.5, "conv2": 0.5}.items():
        w = out.graph.node(name).weights[0]
        assert abs(prune.sparsity_of(w) - s) <= 1.0 / w.size, name
    assert prune.sparsity_of(out.graph.node("ip2").weights[0]) == 0.0
    assert out.report.steps[0].error < 0.25  # still a classifier (chance: 0.75)


def test_neuron_removal_is_exact_when_the_neurons_carry_nothing():
    g = small_cnn(2)
    x = np.random.default_rng(3).standard_normal((5, 1, 8, 8)).astype(np.float32)
    spatial = spatial_sizes(g, x)
    # conv2 channels 1 and 5, and ip1 neurons 0, 7, 8: make their readers ignore them.
    ip1 = g.node("ip1")
    for c in (1, 5):
        ip1.weights[0][:, c * 16 : (c + 1) * 16] = 0
    g.node("ip2").weights[0][:, [0, 7, 8]] = 0
    want = run_xnn(g, x)
    prune.remove_neurons(g, "conv2", [0, 2, 3, 4, 6, 7], spatial)
    prune.remove_neurons(g, "ip1", [i for i in range(16) if i not in (0, 7, 8)], spatial)
    assert g.node("conv2").weights[0].shape == (6, 6, 1, 1) and g.node("conv2").attrs["num_output"] == [6]
    assert g.node("ip1").weights[0].shape == (13, 6 * 16) and g.node("ip2").weights[0].shape == (4, 13)
    np.testing.assert_allclose(run_xnn(g, x), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(UnsupportedError, match="'ip2': they reach 'prob' \\(Softmax\\)"):
        prune.remove_neurons(g, "ip2", [0, 1], spatial)


def test_neuron_pruning_step_shrinks_the_network():
    data = blobs_dataset()
    g = finetune(small_cnn(), data, 1, progress=False)
    cfg = {"validation": 500, "steps": [{"step": "neuron_prune", "layers": {"ip1": 0.5, "conv2": 3}, "iterations": 2,
                                         "epochs": 1}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None)
    assert out.graph.node("ip1").weights[0].shape == (8, 3 * 16)
    assert out.graph.node("conv2").weights[0].shape == (3, 6, 1, 1)
    assert out.report.steps[0].error < 0.25


# ------------------------------------------------------------------------------ quantization


@pytest.mark.parametrize("bits", [1, 2, 4, 6, 8])
def test_kmeans_codebook(bits):
    rng = np.random.default_rng(bits)
    v = np.concatenate([rng.standard_normal(5000), rng.standard_normal(50) * 6]).astype(np.float32)
    c, idx = quantize.kmeans_1d(v, 1 << bits)
    assert len(c) <= 1 << bits and np.all(np.diff(c) > 0)
    assert idx.min() >= 0 and idx.max() < len(c) and len(np.unique(idx)) == len(c)
    # Each value sits with its nearest centroid, and the codebook beats a uniform grid of the same size.
    assert np.array_equal(idx, np.abs(v[:, None] - c[None, :]).argmin(1))
    grid = np.linspace(v.min(), v.max(), 1 << bits)
    assert np.mean((c[idx] - v) ** 2) <= np.mean((grid[np.abs(v[:, None] - grid).argmin(1)] - v) ** 2) + 1e-12


def test_int8_linear_round_trip():
    w = np.random.default_rng(0).standard_normal((7, 3, 3, 3)).astype(np.float32)
    scale, q = quantize.int8_linear(w)
    assert q.dtype == np.int8 and scale.shape == (7,)
    np.testing.assert_allclose(scale[:, None, None, None] * q, w, atol=float(scale.max()) / 2 + 1e-7)


def test_quantize_step_uses_the_requested_bits_and_trains_centroids():
    data = blobs_dataset()
    g = finetune(small_cnn(), data, 1, progress=False)
    cfg = {"validation": 500, "steps": [
        {"step": "synapse_prune", "layers": {"ip1": 0.8}, "epochs": 1},
        {"step": "quantize", "bits": {"ip1": 3, "conv*": 5, "ip2": 2}, "epochs": 1}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None)
    for name, bits in {"ip1": 3, "conv1": 5, "conv2": 5, "ip2": 2}.items():
        w = out.graph.node(name).weights[0]
        assert isinstance(w, CodedWeight) and len(w.centroids) <= 1 << bits
    ip1 = out.graph.node("ip1").weights[0]
    assert ip1.positions is not None and len(ip1.positions) == int(round(0.2 * ip1.dense().size))
    # What the file holds is what was trained: the C runtime and the torch net agree.
    x = data.x_test[:50]
    with torch.no_grad():
        want = TorchNet(out.graph)(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(run_xnn(out.graph, x), want, rtol=1e-4, atol=1e-6)
    sizes = {l.name: l for l in out.report.layers}
    assert sizes["ip1"].bits == 3 and sizes["ip1"].form == "codebook" and sizes["ip1"].gap_bytes > 0


def test_int8_mode():
    data = blobs_dataset()
    g = finetune(small_cnn(), data, 1, progress=False)
    out = compress(g, {"validation": 500, "steps": [{"step": "quantize", "mode": "int8"}]}, data, progress=False,
                   log=lambda s: None)
    assert all(isinstance(out.graph.node(n).weights[0], CodedWeight) for n in ("conv1", "conv2", "ip1", "ip2"))
    assert abs(out.report.steps[0].error - out.report.baseline_error) <= 0.02


# ------------------------------------------------------------------------------ transforms


@pytest.mark.parametrize("name", ["mobilenet_v2", "resnet50", "bvlc_googlenet", "mtcnn_det3"])
def test_transforms_are_lossless(name, random_caffe_model):
    prototxt, caffemodel = random_caffe_model(name)
    g = Graph.from_caffe(prototxt, caffemodel)
    x = next(iter(caffe_tools.random_inputs(caffe_tools.net_input_shapes(prototxt, batch=1), seed=5).values()))
    want = run_xnn(g, x)
    done = transform.lossless(g, spatial_sizes(g, x))
    assert sum(done.values()) > 0 and len(g.nodes) < len(Graph.from_caffe(prototxt, caffemodel).nodes)
    np.testing.assert_allclose(run_xnn(g, x), want, rtol=0, atol=2e-5 * float(np.abs(want).max()))


def test_dead_neurons_are_removed_losslessly():
    g = small_cnn(4)
    x = np.random.default_rng(6).standard_normal((4, 1, 8, 8)).astype(np.float32)
    spatial = spatial_sizes(g, x)
    ip1 = g.node("ip1")
    ip1.weights[0][[2, 9, 11]] = 0
    ip1.weights[1][2] = -0.5   # ReLU makes it 0: removed
    ip1.weights[1][9] = 0.7    # a constant 0.7 after ReLU: moved into ip2's bias
    ip1.weights[1][11] = 0.0
    g.node("conv2").weights[0][3] = 0  # constant bias[3] channel read through Flatten by ip1 only
    want = run_xnn(g, x)
    n = transform.remove_dead_neurons(g, spatial)
    assert n == 4 and g.node("ip1").weights[0].shape == (13, 7 * 16)
    np.testing.assert_allclose(run_xnn(g, x), want, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------ the pipeline


def test_pipeline_end_to_end(tmp_path):
    data = blobs_dataset()
    g = finetune(small_cnn(), data, 2, progress=False)
    cfg = {"validation": 500, "steps": [
        {"step": "transform"},
        {"step": "neuron_prune", "layers": {"ip1": 0.75}, "epochs": 1},
        {"step": "synapse_prune", "layers": {"conv1": 0.3, "conv2": 0.5, "ip*": 0.8}, "iterations": 2, "epochs": 1},
        {"step": "quantize", "bits": {"conv*": 6, "ip*": 4}, "epochs": 1},
        {"step": "transform"},
        {"step": "encode"}]}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    out = compress(g, tmp_path / "cfg.json", data, progress=False, log=lambda s: None)
    path = tmp_path / "small.xnn"
    size = out.save(path)
    dense = len(encode(g))
    assert size < dense / 4
    assert [s.step for s in out.report.steps] == [s["step"] for s in cfg["steps"]]
    model = xnn.Model.load(path)
    pred = model.predict(data.x_test).argmax(1)
    err = float(np.mean(pred != data.y_test))
    assert err == pytest.approx(out.report.steps[-1].error)
    assert err <= out.report.baseline_error + 0.05
    table = out.report.table()
    assert "ip1" in table and "codebook" in table and "total" in table


def test_config_errors():
    g = small_cnn()
    with pytest.raises(ValueError, match="unknown step 'prune'"):
        compress(g, {"steps": [{"step": "prune"}]}, log=lambda s: None)
    with pytest.raises(ValueError, match="not weighted layers.*nope"):
        compress(g, {"steps": [{"step": "synapse_prune", "layers": {"nope": 0.5}}]}, log=lambda s: None)


def test_idx_reader():
    body = np.arange(24, dtype=np.uint8)
    data = b"\0\0\x08\x03" + np.array([2, 3, 4], ">u4").tobytes() + body.tobytes()
    assert np.array_equal(_idx_array(data), body.reshape(2, 3, 4))
    with pytest.raises(ValueError):
        _idx_array(data[:-1])


def test_cli_compress(tmp_path, capsys):
    from xnn import cli

    data = blobs_dataset()
    np.savez(tmp_path / "blobs.npz", x_train=data.x_train, y_train=data.y_train, x_test=data.x_test,
             y_test=data.y_test)
    model = tmp_path / "cnn.xnn"
    finetune(small_cnn(), data, 2, progress=False).save(model)
    cfg = {"data": str(tmp_path / "blobs.npz"), "validation": 500, "steps": [
        {"step": "synapse_prune", "layers": {"ip*": 0.7}, "epochs": 1},
        {"step": "quantize", "bits": {"*": 5}, "epochs": 1}]}
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    rc = cli.main(["compress", str(model), "--config", str(tmp_path / "cfg.json"), "-o", str(tmp_path / "out.xnn"),
                   "--report", str(tmp_path / "r.md"), "--quiet"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "smaller than the fp32 source" in out and "| ip1 |" in (tmp_path / "r.md").read_text()
    err = lambda path: float(np.mean(xnn.Model.load(path).predict(data.x_test).argmax(1) != data.y_test))  # noqa: E731
    assert err(tmp_path / "out.xnn") <= err(model) + 0.05
    (tmp_path / "bad.json").write_text(json.dumps({"steps": [{"step": "nope"}]}))
    assert cli.main(["compress", str(model), "--config", str(tmp_path / "bad.json")]) == 1
    assert "unknown step 'nope'" in capsys.readouterr().err


def test_distillation_from_teacher_logits():
    """Float (N, classes) targets are a teacher's logits: fine-tuning matches them, the error is disagreement
    with the teacher's top-1."""
    data = blobs_dataset(2000, 500)
    teacher = finetune(small_cnn(), data, 2, progress=False)
    with torch.no_grad():
        t_train = TorchNet(teacher)(torch.from_numpy(data.x_train), logits=True).numpy()
        t_test = TorchNet(teacher)(torch.from_numpy(data.x_test), logits=True).numpy()
    distill = Dataset(data.x_train, t_train.astype(np.float32), data.x_test, t_test.argmax(1))
    errors = []
    for epochs in (0, 2):
        cfg = {"validation": 200, "steps": [{"step": "quantize", "bits": {"*": 3}, "epochs": epochs}]}
        out = compress(teacher, cfg, distill, progress=False, log=lambda s: None)
        assert out.report.baseline_error == 0.0  # the teacher agrees with itself
        errors.append(out.report.steps[0].error)
    assert errors[1] < 0.7 * errors[0], errors  # training the centroids on the teacher's logits helps


# ------------------------------------------------------------------------------ reconstruction (OBS)


def correlated_inputs(rows: int, k: int, seed: int) -> np.ndarray:
    """Inputs with strongly correlated features, as a layer's inputs are (where OBS beats magnitude)."""
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((k, k)) * np.linspace(2.0, 0.1, k)[:, None]
    return rng.standard_normal((rows, k)) @ mix


@pytest.mark.parametrize("sparsity", [0.3, 0.6])
def test_obs_pruning_beats_magnitude_pruning(sparsity):
    rng = np.random.default_rng(int(sparsity * 100))
    o, k = 13, 37
    w = rng.standard_normal((o, k))
    x = correlated_inputs(600, k, 1)
    h = x.T @ x
    got, mask = reconstruct.obs_compress(w[None], h[None], sparsity, None, damp=0.1)
    got, mask = got[0], mask[0]
    want_zeros = int(round(sparsity * o * k))
    assert int((mask == 0).sum()) == want_zeros
    assert np.all(got[mask == 0] == 0)
    mag = w * prune.magnitude_mask(w, sparsity)
    assert int((mag == 0).sum()) == want_zeros
    err = lambda v: float(np.sum(((w - v) @ x.T) ** 2))  # noqa: E731
    assert err(got) < 0.8 * err(mag)


@pytest.mark.parametrize("bits,sparsity", [(2, 0.0), (3, 0.5)])
def test_obs_quantization_uses_the_codebook_and_beats_rounding(bits, sparsity):
    rng = np.random.default_rng(bits)
    g, o, k = 3, 5, 19  # groups, as a grouped convolution has
    w = rng.standard_normal((g, o, k))
    xs = [correlated_inputs(300, k, s) for s in range(g)]
    h = np.stack([x.T @ x for x in xs])
    cents, _ = quantize.kmeans_1d(w.reshape(-1), 1 << bits)
    got, mask = reconstruct.obs_compress(w, h, sparsity, cents, damp=1e-6)
    assert set(np.unique(got[mask > 0])) <= set(cents.astype(np.float64))
    for gi in range(g):
        assert int((mask[gi] == 0).sum()) == int(round(sparsity * o * k))
    nearest = cents[np.abs(w[..., None] - cents).argmin(-1)] * mask
    err = lambda v: sum(float(np.sum(((w[i] - v[i]) @ xs[i].T) ** 2)) for i in range(g))  # noqa: E731
    assert err(got) < 0.8 * err(nearest)


def test_refit_centroids_lowers_the_output_error():
    rng = np.random.default_rng(5)
    w = rng.standard_normal((1, 8, 21))
    x = correlated_inputs(400, 21, 2)
    h = (x.T @ x)[None]
    cents, idx = quantize.kmeans_1d(w.reshape(-1), 4)
    idx = idx.reshape(w.shape)
    mask = (rng.random(w.shape) > 0.3).astype(np.float64)
    better = reconstruct.refit_centroids(w, h, idx, mask, len(cents))
    err = lambda c: float(np.einsum("gok,gkm,gom->", w - c[idx] * mask, h, w - c[idx] * mask))  # noqa: E731
    assert err(better) < err(cents.astype(np.float64))
    for i in range(len(cents)):  # the optimum: no single centroid move helps
        for d in (-1e-3, 1e-3):
            moved = better.copy()
            moved[i] += d
            assert err(moved) >= err(better)


def bn_cnn(seed: int = 0) -> Graph:
    """conv(3x3, 6, no bias) -> BatchNorm Affine -> ReLU -> grouped conv(3x3, 6, 3 groups) -> Affine -> ReLU
    -> ip(4) on 2x8x8: the layouts reconstruction rescales into the Affine (grouped, and plain)."""
    rng = np.random.default_rng(seed)
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    g = Graph(tensors=["x", "c1", "a1", "r1", "c2", "a2", "r2", "out"], inputs=[(0, (1, 2, 8, 8))], outputs=[7])
    conv = lambda name, i, o, group, w: Node(name, "Convolution", [i], [o], {  # noqa: E731
        "num_output": [6], "kernel": [3, 3], "pad": [1, 1, 1, 1], "group": [group], "bias": [0]}, [w])
    g.nodes = [
        conv("conv1", 0, 1, 1, r(6, 2, 3, 3) * np.float32([[[[10.0]]], [[[0.1]]], [[[1]]], [[[3]]], [[[0.3]]], [[[1]]]])),
        Node("bn1", "Affine", [1], [2], {}, [np.abs(r(6)) + 0.5, r(6)]),
        Node("relu1", "ReLU", [2], [3]),
        conv("conv2", 3, 4, 3, r(6, 2, 3, 3)),
        Node("bn2", "Affine", [4], [5], {}, [np.abs(r(6)) + 0.5, r(6)]),
        Node("relu2", "ReLU", [5], [6]),
        Node("ip", "InnerProduct", [6], [7], {"num_output": [4]}, [r(4, 6 * 64) * 0.1, r(4)]),
    ]
    return g


def test_reconstruct_step_corrects_means_and_runs_in_the_c_runtime(tmp_path):
    g = bn_cnn()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((300, 2, 8, 8)).astype(np.float32)
    with torch.no_grad():
        teacher = TorchNet(g).trace(torch.from_numpy(x))
    data = Dataset(x, teacher[7].numpy(), x[:50], teacher[7].numpy()[:50].argmax(1))
    cfg = {"validation": 50, "steps": [
        {"step": "reconstruct", "images": 250, "damp": 0.01,
         "layers": {"conv1": {"bits": 4}, "conv2": {"sparsity": 0.5, "bits": 3}, "ip": {"sparsity": 0.7, "bits": 2}}},
        {"step": "encode"}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None)
    for name, bits, sparsity in (("conv1", 4, 0.0), ("conv2", 3, 0.5), ("ip", 2, 0.7)):
        w = out.graph.node(name).weights[0]
        assert isinstance(w, CodedWeight) and len(w.centroids) <= 1 << bits
        numel = int(np.prod(w.shape))
        assert w.nnz == numel - int(round(sparsity * numel))
    # conv1's per-channel magnitudes (10x to 0.1x) moved into bn1: its codebook serves unit-RMS channels.
    dense = out.graph.node("conv1").weights[0].dense().reshape(6, -1)
    rms = np.sqrt((dense ** 2).mean(1))
    assert rms.max() / rms.min() < 2
    # Bias correction: each channel's mean after the Affine matches the original's on the calibration images
    # (all 250 training images; conv1 sees the same inputs in both networks, so only float16 rounding is left).
    with torch.no_grad():
        student = TorchNet(out.graph).trace(torch.from_numpy(x[:250]))
        ref = TorchNet(g).trace(torch.from_numpy(x[:250]))
    got, want = student[2].numpy().mean((0, 2, 3)), ref[2].numpy().mean((0, 2, 3))
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-3 * float(np.abs(ref[2].numpy()).max()))
    # Still the same function, roughly, and the C runtime reads the file as PyTorch computes it.
    path = tmp_path / "bn.xnn"
    out.save(path)
    c_out = xnn.Model.load(path, num_threads=1).predict(x[250:])
    with torch.no_grad():
        t_out = TorchNet(out.graph)(torch.from_numpy(x[250:])).numpy()
    np.testing.assert_allclose(c_out, t_out, rtol=0, atol=1e-4 * float(np.abs(t_out).max()))
    assert np.mean(c_out.argmax(1) == teacher[7].numpy()[250:].argmax(1)) >= 0.7


# ------------------------------------------------------------------------------ distillation


def bn_cnn_data(n: int, seed: int):
    """:func:`bn_cnn`, ``n`` random inputs, and a Dataset of them labelled with its logits (its first 50
    images as the test set)."""
    g = bn_cnn()
    x = np.random.default_rng(seed).standard_normal((n, 2, 8, 8)).astype(np.float32)
    with torch.no_grad():
        logits = TorchNet(g)(torch.from_numpy(x)).numpy()
    return g, x, Dataset(x, logits, x[:50], logits[:50].argmax(1))


@pytest.mark.parametrize("assign", ["fixed", "nearest"])
def test_distill_step_lowers_the_loss_and_keeps_masks_and_codebooks(assign):
    """After reconstruction at 2-3 bits with pruning, the distill step trains centroids (and with "nearest",
    the latent weights that pick them), Affines and biases towards the uncompressed network: the loss on the
    training images drops, pruned weights stay zero and every layer keeps at most 2^bits distinct values."""
    from xnn.xqueeze import distill

    g, x, data = bn_cnn_data(300, 1)
    bits = {"conv1": (3, 0.0), "conv2": (2, 0.5), "ip": (2, 0.7)}
    rec = {"step": "reconstruct", "images": 60, "damp": 0.1,
           "layers": {n: {"bits": b, "sparsity": s} for n, (b, s) in bits.items()}}
    dis = {"step": "distill", "steps": 60, "batch": 16, "lr": 0.01, "temperature": 2.0, "features": {"relu1": 0.5},
           "assign": assign, "lr_affine": 0.01, "threads": 1}
    quiet = dict(progress=False, log=lambda s: None)
    before = compress(g, {"validation": 50, "steps": [rec]}, data, **quiet).graph
    after = compress(g, {"validation": 50, "steps": [rec, dis]}, data, **quiet).graph
    opts = distill.DistillOptions(temperature=2.0, features={"relu1": 0.5})
    loss = lambda graph: distill.loss_on(TorchNet(graph), TorchNet(g), x[:250], opts)  # noqa: E731
    assert loss(after) < 0.8 * loss(before), (loss(before), loss(after))
    for name, (b, sparsity) in bits.items():
        w0, w1 = before.node(name).weights[0], after.node(name).weights[0]
        assert isinstance(w1, CodedWeight) and len(w1.centroids) <= 1 << b
        d0, d1 = w0.dense(), w1.dense()
        assert np.array_equal(d0 == 0, d1 == 0) and np.mean(d1 == 0) >= sparsity - 0.01
        assert len(np.unique(d1[d1 != 0])) <= 1 << b
        assert not np.array_equal(w0.centroids, w1.centroids)  # the centroids did train
    # The Affine after conv1 trained too, and the C runtime reads the trained file as PyTorch computes it.
    assert not np.array_equal(before.node("bn1").weights[0], after.node("bn1").weights[0])
    c_out = xnn.Model.from_bytes(encode(after), num_threads=1).predict(x[250:])
    with torch.no_grad():
        t_out = TorchNet(after)(torch.from_numpy(x[250:])).numpy()
    np.testing.assert_allclose(c_out, t_out, rtol=0, atol=1e-4 * float(np.abs(t_out).max()))


def test_distill_step_config_errors():
    data = Dataset(np.zeros((20, 2, 8, 8), np.float32), np.zeros((20, 4), np.float32), np.zeros((2, 2, 8, 8), np.float32),
                   np.zeros(2, np.int64))
    for bad, msg in (({"step": "distill", "stepz": 3}, "unknown keys"),
                     ({"step": "distill", "steps": 1, "features": {"nope*": 1.0}}, r"feature pattern 'nope\*'")):
        with pytest.raises(ValueError, match=msg):
            compress(bn_cnn(), {"validation": 5, "steps": [bad]}, data, progress=False, log=lambda s: None)


def test_encode_puts_wide_affines_on_codebooks():
    """``affine_bits``: an Affine of 64 channels whose scales and shifts take 10 values each goes on 4-bit
    codebooks (exact up to float16), the file shrinks and the C runtime computes the same outputs."""
    rng = np.random.default_rng(2)
    g = Graph(tensors=["x", "a", "out"], inputs=[(0, (1, 64, 2, 2))], outputs=[2])
    levels = rng.standard_normal(10).astype(np.float32)
    g.nodes = [Node("bn", "Affine", [0], [1], {}, [levels[rng.integers(0, 10, 64)], levels[rng.integers(0, 10, 64)]]),
               Node("ip", "InnerProduct", [1], [2], {"num_output": [4]},
                    [rng.standard_normal((4, 256)).astype(np.float32), rng.standard_normal(4).astype(np.float32)])]
    x = rng.standard_normal((60, 64, 2, 2)).astype(np.float32)
    y = run_xnn(g, x)
    data = Dataset(x, y, x[:10], y[:10].argmax(1))
    quiet = dict(progress=False, log=lambda s: None)
    plain = compress(g, {"validation": 20, "steps": [{"step": "encode"}]}, data, **quiet)
    coded = compress(g, {"validation": 20, "steps": [{"step": "encode", "affine_bits": 4}]}, data, **quiet)
    for w in coded.graph.node("bn").weights:
        assert isinstance(w, CodedWeight) and w.centroids is not None and len(w.centroids) <= 16
    assert "Affine on 4-bit codebooks" in coded.report.steps[0].note
    assert len(encode(coded.graph)) < len(encode(plain.graph))
    np.testing.assert_allclose(run_xnn(coded.graph, x), y, rtol=0, atol=2e-3 * float(np.abs(y).max()))


def test_reconstruct_on_a_uniform_grid():
    """``step``: the codebook is the used levels of a uniform grid around zero (spacing ``step`` times the
    RMS of the unit-RMS-scaled weights), at most 2^bits of them, and the layer still approximates the
    original."""
    g, x, data = bn_cnn_data(200, 3)
    y = data.y_train
    cfg = {"validation": 50, "steps": [{"step": "reconstruct", "images": 150, "damp": 0.01, "refit_codebook": False,
                                        "layers": {"conv1": {"bits": 3, "step": 0.4}, "ip": {"bits": 4, "step": 0.3}}}]}
    out = compress(g, cfg, data, progress=False, log=lambda s: None).graph
    for name, bits in (("conv1", 3), ("ip", 4)):
        c = np.sort(out.node(name).weights[0].centroids.astype(np.float64))
        assert 2 <= len(c) <= 1 << bits
        unit = np.min(np.diff(c))
        np.testing.assert_allclose(np.diff(c) / unit, np.round(np.diff(c) / unit), atol=1e-4)
        assert np.any(np.abs(c) < 1e-6 * unit)  # zero is a level (midtread grid)
    with torch.no_grad():
        got = TorchNet(out)(torch.from_numpy(x[150:])).numpy()
    assert np.mean(got.argmax(1) == y[150:].argmax(1)) >= 0.7
