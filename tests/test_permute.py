"""Permute (Caffe's Permute, the IR's transpose) against NumPy's transpose: every rank the core takes,
every permutation of 4-D, odd sizes, the threaded paths, Caffe's short orders, the no-copy case, the
.xnn round trip and bad orders."""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

from test_ops import layer, load, net_text, rng_for  # noqa: E402

import xnn  # noqa: E402
from xnn.graph import Graph  # noqa: E402

MAX_DIMS = 8


def permute_net(shape, order) -> str:
    orders = " ".join(f"order: {int(a)}" for a in order)
    return net_text({"data": shape}, layer("perm", "Permute", "data", "out", f"permute_param {{ {orders} }}"))


def run_permute(shape, order, num_threads=None, rng=None) -> None:
    rng = rng or rng_for("permute", tuple(shape), tuple(order))
    x = rng.standard_normal(shape).astype(np.float32)
    got = load(permute_net(shape, order), num_threads=num_threads).predict(x)
    want = np.transpose(x, order)
    assert got.shape == want.shape, (shape, order)
    np.testing.assert_array_equal(got, want, err_msg=f"shape {shape} order {order}")


@pytest.mark.parametrize("ndim", range(1, MAX_DIMS + 1))
def test_random_shapes_every_rank(ndim):
    rng = rng_for("ranks", ndim)
    for _ in range(6):
        # Small odd sizes, with some 1s, so that 8-D stays small and size-1 dims are skipped.
        shape = tuple(int(d) for d in rng.choice([1, 2, 3, 5, 7, 9, 13], size=ndim))
        order = tuple(int(a) for a in rng.permutation(ndim))
        run_permute(shape, order, rng=rng)


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))), ids=lambda o: "".join(map(str, o)))
def test_every_4d_permutation(order):
    for shape in [(2, 3, 5, 7), (1, 17, 9, 11), (3, 1, 1, 13), (2, 37, 3, 41)]:
        run_permute(shape, order)


@pytest.mark.parametrize(
    "shape,order",
    [
        ((1, 64, 56, 56), (0, 2, 3, 1)),  # NCHW -> NHWC: a 64 x 3136 transpose, many tiles
        ((1, 56, 56, 64), (0, 3, 1, 2)),  # NHWC -> NCHW
        ((3, 33, 17, 9), (0, 2, 3, 1)),   # tails of every tile
        ((2, 5, 300, 7), (2, 0, 1, 3)),   # innermost dim stays: row copies
        ((4099, 3), (1, 0)),
    ],
)
@pytest.mark.parametrize("threads", [1, 3])
def test_large_and_threaded(shape, order, threads):
    run_permute(shape, order, num_threads=threads)


def test_caffe_short_order_is_completed():
    """Caffe appends the axes not given, in increasing order: `order: 2` on 4-D means (2, 0, 1, 3)."""
    shape = (2, 3, 4, 5)
    x = rng_for("short").standard_normal(shape).astype(np.float32)
    for given, full in [((2,), (2, 0, 1, 3)), ((0, 2), (0, 2, 1, 3)), ((), (0, 1, 2, 3)), ((3, 1), (3, 1, 0, 2))]:
        orders = " ".join(f"order: {a}" for a in given)
        model = load(net_text({"data": shape}, layer("perm", "Permute", "data", "out", f"permute_param {{ {orders} }}")))
        np.testing.assert_array_equal(model.predict(x), np.transpose(x, full))


def test_order_completed_in_graph(tmp_path):
    """The IR carries the full order, so the .xnn file does too, and loads back to the same output."""
    shape = (2, 3, 4, 5)
    proto = tmp_path / "p.prototxt"
    proto.write_text(permute_net(shape, (0, 3)))
    g = Graph.from_caffe(proto)
    assert [n.op for n in g.nodes] == ["Permute"]
    assert g.nodes[0].attrs["order"] == [0, 3, 1, 2]
    g.save(tmp_path / "p.xnn")
    x = rng_for("roundtrip").standard_normal(shape).astype(np.float32)
    np.testing.assert_array_equal(xnn.Model.load(tmp_path / "p.xnn").predict(x), np.transpose(x, (0, 3, 1, 2)))


@pytest.mark.parametrize("shape,order", [((2, 3, 4), (0, 1, 2)), ((1, 6, 1, 1), (0, 2, 3, 1)), ((5, 1, 7), (1, 0, 2))])
def test_no_data_movement_is_an_alias(shape, order):
    """A permutation that moves only dims of size 1 costs no memory: the output shares the input's
    storage, as a Reshape's does."""
    want_shape = tuple(shape[a] for a in order)
    dims = " ".join(f"dim: {d}" for d in want_shape)
    perm = load(permute_net(shape, order))
    reshape = load(net_text({"data": shape}, layer("r", "Reshape", "data", "out", f"reshape_param {{ shape {{ {dims} }} }}")))
    assert perm.arena_bytes() == reshape.arena_bytes()
    run_permute(shape, order)
    # And one that moves data does take memory of its own.
    moved = load(permute_net((2, 3, 4), (0, 2, 1)))
    same_size = load(net_text({"data": (2, 3, 4)}, layer("r", "Reshape", "data", "out",
                                                         "reshape_param { shape { dim: 2 dim: 4 dim: 3 } }")))
    assert moved.arena_bytes() > same_size.arena_bytes()


def test_permute_after_conv_and_other_batch():
    """The SSD head pattern: a convolution's NCHW output to NHWC, then Flatten; and a new batch size."""
    rng = rng_for("head")
    w = rng.standard_normal((6, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    text = net_text(
        {"data": (1, 3, 9, 7)},
        layer("conv", "Convolution", "data", "conv", "convolution_param { num_output: 6 kernel_size: 3 pad: 1 }"),
        layer("perm", "Permute", "conv", "perm", "permute_param { order: 0 order: 2 order: 3 order: 1 }"),
        layer("flat", "Flatten", "perm", "flat", "flatten_param { axis: 1 }"),
    )
    model = load(text, {"conv": [w, b]})
    for n in (1, 3):
        x = rng.standard_normal((n, 3, 9, 7)).astype(np.float32)
        # The convolution through NumPy: zero pad, then a sum over the 3x3 window.
        xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
        conv = np.zeros((n, 6, 9, 7))
        for dy in range(3):
            for dx in range(3):
                conv += np.einsum("nchw,oc->nohw", xp[:, :, dy:dy + 9, dx:dx + 7], w[:, :, dy, dx])
        conv += b[None, :, None, None]
        want = conv.transpose(0, 2, 3, 1).reshape(n, -1)
        got = model.predict(x)
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


@pytest.mark.parametrize(
    "param,message",
    [
        ("permute_param { order: 0 order: 0 }", "order gives axis 0 twice"),
        ("permute_param { order: 4 }", "order 4 is not an axis of the 4-D bottom"),
        ("permute_param { order: 9 }", "at most 8 axes"),
        ("permute_param { order: 0 order: 1 order: 2 order: 3 order: 4 }", "order 4 is not an axis of the 4-D bottom"),
    ],
)
def test_bad_caffe_order(param, message):
    text = net_text({"data": (1, 2, 3, 4)}, layer("perm", "Permute", "data", "out", param))
    with pytest.raises(xnn.XnnError) as e:
        load(text)
    assert "perm" in str(e.value) and message in str(e.value)


def _graph_with_order(order, shape=(2, 3, 4)) -> Graph:
    from xnn.graph import Node

    return Graph(tensors=["data", "out"], inputs=[(0, shape)], outputs=[1],
                 nodes=[Node(name="t", op="Permute", inputs=[0], outputs=[1], attrs={"order": list(order)})])


@pytest.mark.parametrize(
    "order,message",
    [([0, 0, 1], "not a permutation"), ([0, 1, 3], "not a permutation"), ([1, 0], "order has 2 entries but the input is 3-D"),
     ([], "order"), ([0, 1, 2, 3, 4, 5, 6, 7, 8], "order")],
)
def test_bad_xnn_order(tmp_path, order, message):
    path = tmp_path / "bad.xnn"
    _graph_with_order(order).save(path)
    with pytest.raises(xnn.XnnError) as e:
        xnn.Model.load(path)
    assert "'t'" in str(e.value) and message in str(e.value), str(e.value)
