"""Bad input gets a clear Python exception, never a crash or a hang.

Every error is a subclass of ``xnn.errors.XnnError`` whose message names the layer, field or prototxt
line at fault. Broken model files are derived from the real MTCNN det1 (PNet) and det2 (RNet) files.

The fuzz-style cases (truncations, bit flips, garbage, text mutations) and the cases that could crash
the interpreter (deep nesting, huge dims) run in a child Python process, so that a crash fails one test
instead of killing pytest: the child must exit with 0 within its timeout and report what it saw.
"""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np
import pytest

import xnn
from xnn.errors import ModelFormatError, ShapeError, UnsupportedError, XnnError, XnnIOError

from caffe_tools import caffe_pb2

TESTS_DIR = Path(__file__).resolve().parent
MTCNN_DIR = TESTS_DIR.parent / "python" / "xnn" / "models" / "mtcnn"
DET1_PROTOTXT = MTCNN_DIR / "det1.prototxt"
DET1_CAFFEMODEL = MTCNN_DIR / "det1.caffemodel"
DET2_PROTOTXT = MTCNN_DIR / "det2.prototxt"

#: Seconds a child process may take (each needs well under 10 s).
CHILD_TIMEOUT = 120


@pytest.fixture(scope="module")
def det1_text() -> str:
    return DET1_PROTOTXT.read_text()


@pytest.fixture(scope="module")
def det1_bytes() -> bytes:
    return DET1_CAFFEMODEL.read_bytes()


@pytest.fixture(scope="module")
def det1_input() -> np.ndarray:
    return np.sin(0.37 * np.arange(3 * 12 * 12)).astype(np.float32).reshape(1, 3, 12, 12)


def _load(prototxt, caffemodel) -> xnn.Model:
    if isinstance(prototxt, str):
        prototxt = prototxt.encode()
    return xnn.Model.from_caffe_bytes(prototxt, caffemodel, num_threads=1)


def _replace_once(text: str, old: str, new: str) -> str:
    assert old in text, f"{old!r} not in the prototxt"
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the `occurrence`-th line containing `needle`."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} occurs {len(hits)} times"
    return hits[occurrence - 1]


def _edit_caffemodel(data: bytes, edit) -> bytes:
    """Parses a caffemodel with the Caffe protobuf schema, applies `edit(net)` and serializes it."""
    net = caffe_pb2().NetParameter()
    net.ParseFromString(data)
    edit(net)
    return net.SerializeToString()


def _layer(net, name: str):
    found = [l for l in net.layer if l.name == name]
    assert len(found) == 1, name
    return found[0]


# ---------------------------------------------------------------------------------------------
# child processes
# ---------------------------------------------------------------------------------------------

#: Runs the variants of one fuzz batch: every variant must raise an XnnError (with a message) or load
#: and predict; it prints a JSON summary as its last line. Any other exception is reported in "bad".
_FUZZ_CHILD = r'''
import faulthandler, json, sys
import numpy as np
faulthandler.enable()
import xnn
from xnn.errors import XnnError

cfg = json.loads(sys.argv[1])
proto = open(cfg["prototxt"], "rb").read()
model = open(cfg["caffemodel"], "rb").read()
rng = np.random.default_rng(cfg["seed"])
x = np.sin(0.37 * np.arange(3 * 12 * 12)).astype(np.float32).reshape(1, 3, 12, 12)
intact = xnn.Model.from_caffe_bytes(proto, model, num_threads=1)
ref = intact.predict(x)
shapes = {k: v.shape for k, v in ref.items()}


def float_payload_mask(data):
    """True for the bytes of the caffemodel that are packed float weights."""
    sys.path.insert(0, cfg["tests_dir"])
    from caffe_tools import caffe_pb2
    net = caffe_pb2().NetParameter()
    net.ParseFromString(data)
    mask = np.zeros(len(data), bool)
    for layer in net.layer:
        for blob in layer.blobs:
            raw = np.asarray(blob.data, "<f4").tobytes()
            at = data.find(raw)
            if len(raw) and at >= 0:
                mask[at:at + len(raw)] = True
    return mask


def variants():
    mode = cfg["mode"]
    if mode == "truncate":
        n = len(model)
        lengths = sorted({n * i // 50 + d for i in range(50) for d in (0, 1, 3)} | {1, 2, n - 1})
        for length in lengths:
            if length < n:
                yield f"truncate:{length}", proto, model[:length]
    elif mode in ("bitflip", "bitflip_structure"):
        data = np.frombuffer(model, np.uint8)
        pool = np.arange(len(data))
        if mode == "bitflip_structure":
            pool = np.flatnonzero(~float_payload_mask(model))
        for i in range(cfg["count"]):
            b = data.copy()
            k = int(rng.integers(1, 9))
            pos = rng.choice(pool, size=k)
            b[pos] ^= (1 << rng.integers(0, 8, size=k)).astype(np.uint8)
            yield f"{mode}:{i}:{pos.tolist()}", proto, b.tobytes()
    elif mode == "garbage":
        for i in range(cfg["count"]):
            n = int(rng.integers(0, 40000)) if i % 4 else int(rng.integers(0, 16))
            g = rng.integers(0, 256, size=n, dtype=np.uint8).tobytes()
            if i % 3 == 1:
                g = model[:64] + g  # a valid start, then garbage
            yield f"garbage:{i}:{n}", proto, g
    elif mode == "text":
        data = np.frombuffer(proto, np.uint8)
        syntax = np.frombuffer(b'{}<>[]:;,"\'#\n -.0123456789', np.uint8)
        for i in range(cfg["count"]):
            b = data.copy()
            k = int(rng.integers(1, 4))
            pos = rng.integers(0, len(b), size=k)
            if i % 2:
                b[pos] = rng.choice(syntax, size=k)
            else:
                b[pos] ^= (1 << rng.integers(0, 8, size=k)).astype(np.uint8)
            yield f"text:{i}:{pos.tolist()}", b.tobytes(), model
    else:
        raise ValueError(mode)


summary = {"cases": 0, "loaded": 0, "errors": {}, "bad": [], "messages": []}
for label, p, m in variants():
    print(label, flush=True)
    summary["cases"] += 1
    try:
        net = xnn.Model.from_caffe_bytes(p, m, num_threads=1)
    except XnnError as e:
        name = type(e).__name__
        summary["errors"][name] = summary["errors"].get(name, 0) + 1
        if not str(e):
            summary["bad"].append(f"{label}: {name} without a message")
        if len(summary["messages"]) < 400:
            summary["messages"].append([name, str(e)])
        continue
    except BaseException as e:
        summary["bad"].append(f"{label}: load raised {type(e).__name__}: {e}")
        continue
    summary["loaded"] += 1
    try:
        inp = [np.zeros(i.shape, np.float32) + 0.5 for i in net.inputs]
        out = net.predict(x if cfg["mode"] != "text" else inp[0]) if len(inp) == 1 else net.run(
            {i.name: a for i, a in zip(net.inputs, inp)})
    except BaseException as e:
        summary["bad"].append(f"{label}: predict raised {type(e).__name__}: {e}")
        continue
    outs = out if isinstance(out, dict) else {net.outputs[0].name: out}
    if cfg["mode"] != "text":
        if {k: v.shape for k, v in outs.items()} != shapes:
            summary["bad"].append(f"{label}: output shapes {[v.shape for v in outs.values()]}")
        if cfg["mode"] == "truncate" and any(not np.array_equal(outs[k], ref[k]) for k in ref):
            summary["bad"].append(f"{label}: a truncated caffemodel loads with other outputs")
print(json.dumps(summary))
'''


def _run_child(code: str, *args: str, stdin: str = "", timeout: float = CHILD_TIMEOUT) -> subprocess.CompletedProcess:
    # The child runs in tests/ and must import the xnn under test, also when PYTHONPATH is relative.
    package_root = str(Path(xnn.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin, capture_output=True, text=True, timeout=timeout, cwd=str(TESTS_DIR), env=env,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-5:])
        pytest.fail(
            f"child process exited with {proc.returncode} (a negative code is the signal that killed it);\n"
            f"last output lines (the case it was running is the last one):\n{tail}\nstderr:\n{proc.stderr[-3000:]}"
        )
    return proc


def _fuzz(mode: str, count: int = 0, seed: int = 0, prototxt: Path = DET1_PROTOTXT) -> dict:
    cfg = dict(mode=mode, count=count, seed=seed, prototxt=str(prototxt), caffemodel=str(DET1_CAFFEMODEL),
               tests_dir=str(TESTS_DIR))
    proc = _run_child(_FUZZ_CHILD, json.dumps(cfg))
    summary = json.loads(proc.stdout.splitlines()[-1])
    assert summary["bad"] == [], "\n".join(summary["bad"][:20])
    assert summary["cases"] == summary["loaded"] + sum(summary["errors"].values())
    return summary


# ---------------------------------------------------------------------------------------------
# fuzz-style cases (child processes)
# ---------------------------------------------------------------------------------------------

def test_truncated_caffemodel_sweep():
    """Every 1/50th of det1.caffemodel (+0, +1, +3 bytes): never loads, always a ModelFormatError."""
    s = _fuzz("truncate")
    assert s["cases"] >= 140
    # A prefix of the caffemodel lacks at least the last layer's blobs, so none may load.
    assert s["loaded"] == 0
    assert set(s["errors"]) == {"ModelFormatError"}
    for _, msg in s["messages"]:
        assert "caffemodel" in msg or "layer '" in msg, msg


def test_bitflipped_caffemodels():
    """200 seeded variants with 1-8 flipped bits anywhere: they load and predict, or raise XnnError."""
    s = _fuzz("bitflip", count=200, seed=1)
    assert s["cases"] == 200
    assert s["loaded"] > 0  # most flips land in float weights


def test_bitflipped_caffemodel_structure():
    """150 seeded variants with 1-8 flipped bits in the non-float bytes (keys, lengths, names, shapes)."""
    s = _fuzz("bitflip_structure", count=150, seed=2)
    assert s["cases"] == 150
    assert sum(s["errors"].values()) > 30  # these mostly break the wire format or the blobs
    assert set(s["errors"]) <= {"ModelFormatError", "ShapeError", "UnsupportedError"}


def test_garbage_caffemodels():
    """Random bytes (also after a valid 64-byte start) as a caffemodel: a ModelFormatError, never a load."""
    s = _fuzz("garbage", count=60, seed=3)
    assert s["loaded"] == 0
    assert set(s["errors"]) == {"ModelFormatError"}


def test_mutated_prototxts():
    """200 seeded byte mutations (bit flips, syntax characters) of det1.prototxt."""
    s = _fuzz("text", count=200, seed=4)
    assert s["cases"] == 200
    assert sum(s["errors"].values()) > 100
    lined = [m for _, m in s["messages"] if "prototxt line " in m]
    assert len(lined) > 50  # syntax and schema errors say where


# ---------------------------------------------------------------------------------------------
# caffemodel problems (in process)
# ---------------------------------------------------------------------------------------------

def test_truncated_caffemodel_message(det1_text, det1_bytes):
    with pytest.raises(ModelFormatError, match=r"caffemodel: .*truncated"):
        _load(det1_text, det1_bytes[: len(det1_bytes) // 2])


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 7, bytes(range(256))])
def test_degenerate_caffemodels(det1_text, data):
    with pytest.raises(ModelFormatError) as e:
        _load(det1_text, data)
    assert "caffemodel" in str(e.value) or "conv1" in str(e.value)


def test_missing_blob(det1_text, det1_bytes):
    """A layer absent from the caffemodel: the message names it."""
    def drop(net):
        net.layer.remove(_layer(net, "conv3"))

    with pytest.raises(ModelFormatError, match=r"layer 'conv3' \(Convolution\): .*no blobs"):
        _load(det1_text, _edit_caffemodel(det1_bytes, drop))


def test_prototxt_layer_without_weights(det1_text, det1_bytes):
    """A prototxt layer renamed so that no caffemodel layer matches it."""
    text = _replace_once(det1_text, 'name: "conv2"', 'name: "conv2_renamed"')
    with pytest.raises(ModelFormatError, match=r"conv2_renamed.*no blobs"):
        _load(text, det1_bytes)


def _short_data(net):
    del _layer(net, "conv2").blobs[0].data[-9:]


def _wrong_kernel(net):
    b = _layer(net, "conv2").blobs[0]
    b.shape.dim[3] = 2
    del b.data[-480:]


def _wrong_bias(net):
    b = _layer(net, "conv2").blobs[1]
    b.shape.dim[0] = 15
    del b.data[-1:]


def _extra_blob(net):
    l = _layer(net, "conv2")
    l.blobs.add().CopyFrom(l.blobs[1])


def _nan_weight(net):
    _layer(net, "conv2").blobs[0].data[5] = float("nan")


@pytest.mark.parametrize("edit, pattern", [
    (_short_data, r"blob 0 has 1431 values but its shape 16x10x3x3 needs 1440"),
    (_wrong_kernel, r"weight blob has shape 16x10x3x2"),
    (_wrong_bias, r"bias blob has 15 values, expected num_output = 16"),
    (_extra_blob, r".*3 blobs for this layer, expected 2"),
    (_nan_weight, r".*non-finite value at index 5"),
], ids=["short-data", "wrong-kernel", "wrong-bias", "extra-blob", "nan"])
def test_wrong_blob(det1_text, det1_bytes, edit, pattern):
    with pytest.raises(ModelFormatError, match=r"layer 'conv2' \(Convolution\): " + pattern):
        _load(det1_text, _edit_caffemodel(det1_bytes, edit))


def test_blob_with_wrong_channel_count(det1_text, det1_bytes):
    """conv2 weights for 9 input channels where pool1 gives 10: found when shapes are inferred at load."""
    def nine(net):
        b = _layer(net, "conv2").blobs[0]
        b.shape.dim[1] = 9
        del b.data[-144:]

    with pytest.raises(ShapeError, match=r"layer 'conv2' \(Convolution\): input has 10 channels, the weights expect 9"):
        _load(det1_text, _edit_caffemodel(det1_bytes, nine))


def test_prelu_slopes_wrong_count(det1_text, det1_bytes):
    def three(net):
        b = _layer(net, "PReLU1").blobs[0]
        b.shape.dim[0] = 3
        del b.data[-7:]

    with pytest.raises(XnnError, match=r"PReLU1.*3"):
        _load(det1_text, _edit_caffemodel(det1_bytes, three))


# ---------------------------------------------------------------------------------------------
# prototxt problems
# ---------------------------------------------------------------------------------------------

def test_syntax_error_names_the_line(det1_text, det1_bytes):
    line = _line_of(det1_text, "num_output: 16")
    text = _replace_once(det1_text, "num_output: 16", "num_output 16")
    with pytest.raises(ModelFormatError, match=rf"prototxt line {line}: expected ':' or '{{'"):
        _load(text, det1_bytes)


def test_unterminated_string_names_the_line(det1_text, det1_bytes):
    line = _line_of(det1_text, 'type: "Pooling"')
    text = _replace_once(det1_text, 'type: "Pooling"', 'type: "Pooling')
    with pytest.raises(ModelFormatError, match=rf"prototxt line {line}: unterminated string"):
        _load(text, det1_bytes)


def test_unbalanced_braces(det1_text, det1_bytes):
    text = det1_text.rstrip()
    assert text.endswith("}")
    with pytest.raises(ModelFormatError, match=r"expected '}', found end of file"):
        _load(text[:-1], det1_bytes)
    with pytest.raises(ModelFormatError, match=r"prototxt line \d+: expected a field name, found '}'"):
        _load(text + "\n}\n", det1_bytes)


@pytest.mark.parametrize("anchor, field, message", [
    ("num_output: 16", "frobnicate: 3", "ConvolutionParameter"),
    ('type: "PReLU"', 'colour: "red"', "LayerParameter"),
    ('name: "PNet"', "frobnicate: 1", "NetParameter"),
], ids=["in-param", "in-layer", "in-net"])
def test_unknown_field_names_field_and_line(det1_text, det1_bytes, anchor, field, message):
    line = _line_of(det1_text, anchor) + 1
    text = _replace_once(det1_text, anchor, f"{anchor}\n{field}")
    name = field.split(":")[0]
    with pytest.raises(ModelFormatError, match=rf"prototxt line {line}: unknown field '{name}' in {message}"):
        _load(text, det1_bytes)


def test_unsupported_fork_field_axis(det1_text, det1_bytes):
    """convolution_param { axis: 2 } is valid Caffe (N-D convolution) but not implemented."""
    text = _replace_once(det1_text, "num_output: 10", "num_output: 10\n    axis: 2")
    with pytest.raises(UnsupportedError, match=r"layer 'conv1' \(Convolution\): axis 2"):
        _load(text, det1_bytes)


def test_unsupported_pool_method(det1_text, det1_bytes):
    line = _line_of(det1_text, "pool: MAX")
    text = _replace_once(det1_text, "pool: MAX", "pool: STOCHASTIC")
    with pytest.raises(UnsupportedError,
                       match=rf"layer 'pool1' \(Pooling\): prototxt line {line}: .*'STOCHASTIC' for field 'pool'"):
        _load(text, det1_bytes)


def test_unsupported_3d_kernel(det1_text, det1_bytes):
    text = _replace_once(det1_text, "kernel_size: 3", "kernel_size: 3\n    kernel_size: 3\n    kernel_size: 3")
    with pytest.raises(UnsupportedError, match=r"layer 'conv1' \(Convolution\): 3 values of kernel_size"):
        _load(text, det1_bytes)


def test_param_of_another_layer_type(det1_text, det1_bytes):
    line = _line_of(det1_text, 'type: "Softmax"') + 1
    text = _replace_once(det1_text, 'type: "Softmax"', 'type: "Softmax"\n  convolution_param { num_output: 2 }')
    with pytest.raises(ModelFormatError,
                       match=rf"layer 'prob1' \(Softmax\): prototxt line {line}: .*does not take convolution_param"):
        _load(text, det1_bytes)


def test_unknown_layer_type(det1_text, det1_bytes):
    line = _line_of(det1_text, 'type: "PReLU"')
    text = _replace_once(det1_text, 'type: "PReLU"', 'type: "Foo"')
    with pytest.raises(UnsupportedError,
                       match=rf"layer 'PReLU1' \(Foo\): prototxt line {line}: layer type 'Foo' is not supported"):
        _load(text, det1_bytes)


def test_bottom_never_produced(det1_text, det1_bytes):
    line = _line_of(det1_text, 'bottom: "pool1"')
    text = _replace_once(det1_text, 'bottom: "pool1"', 'bottom: "pool_missing"')
    with pytest.raises(ModelFormatError,
                       match=rf"layer 'conv2' \(Convolution\): prototxt line {line}: bottom 'pool_missing' is not produced"):
        _load(text, det1_bytes)


@pytest.mark.parametrize("text", ["", "   \n\n\t", "# only a comment\n", 'name: "empty"\n'],
                         ids=["empty", "blank", "comment", "name-only"])
def test_empty_prototxt(det1_bytes, text):
    with pytest.raises(ModelFormatError, match="declares no input"):
        _load(text, det1_bytes)


def test_layers_without_input(det1_text, det1_bytes):
    body = det1_text[det1_text.index("layer {"):]
    with pytest.raises(ModelFormatError, match=r"bottom 'data' is not produced"):
        _load(body, det1_bytes)


def test_input_dims_count_mismatch(det1_text, det1_bytes):
    text = _replace_once(det1_text, "input_dim: 1\n", "")
    with pytest.raises(ModelFormatError, match=r"input_dim"):
        _load(text, det1_bytes)


def test_non_utf8_name_in_an_error_message(det1_text, det1_bytes):
    """A layer name with a byte that is not UTF-8 (0xf6): text-format strings are UTF-8, so the prototxt is
    rejected with its line, as a ModelFormatError (not a UnicodeDecodeError from decoding a name)."""
    text = _replace_once(det1_text, 'name: "conv4-1"', 'name: "conv4-@1"').encode().replace(b"@", b"\xf6")
    line = text[: text.index(b"\xf6")].count(b"\n") + 1
    with pytest.raises(ModelFormatError, match=rf"line {line}: .*UTF-8"):
        _load(text, det1_bytes)


def test_error_message_cut_inside_a_multibyte_character(det1_bytes):
    """A long non-ASCII layer name fills the error buffer, which ends inside a UTF-8 sequence: the message
    still decodes (with a replacement), and the exception names the problem."""
    name = "\u00e9" * 3000
    text = f'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 12\ninput_dim: 12\n' \
           f'layer {{ name: "{name}" type: "Foo" bottom: "data" top: "x" }}\n'
    with pytest.raises(UnsupportedError, match="Foo"):
        _load(text.encode(), det1_bytes)


def test_non_utf8_output_name(det1_text, det1_bytes):
    """An output (top) name with a byte that is not UTF-8: either a ModelFormatError at load, or a model whose
    names are str and which predicts; never a UnicodeDecodeError."""
    text = det1_text.replace('top: "prob1"', 'top: "prob@1"').encode().replace(b"@", b"\xf6")
    try:
        model = _load(text, det1_bytes)
    except ModelFormatError as e:
        assert "UTF-8" in str(e) and "line" in str(e)
        return
    assert all(isinstance(o.name, str) for o in model.outputs)
    out = model.predict(np.zeros((1, 3, 12, 12), np.float32))
    assert len(out) == 2


def test_nonexistent_files(tmp_path, det1_text):
    with pytest.raises(XnnIOError, match="no such file"):
        xnn.Model.load(tmp_path / "missing.prototxt")
    with pytest.raises(XnnIOError, match="missing.caffemodel"):
        xnn.Model.load(DET1_PROTOTXT, weights=tmp_path / "missing.caffemodel")
    # XnnIOError is also an OSError.
    with pytest.raises(OSError):
        xnn.Model.load(tmp_path / "missing.prototxt")
    # A prototxt without any weights next to it.
    (tmp_path / "lonely.prototxt").write_text(det1_text)
    with pytest.raises(ModelFormatError, match="no weights"):
        xnn.Model.load(tmp_path / "lonely.prototxt")


def test_directory_instead_of_file(tmp_path):
    (tmp_path / "dir.caffemodel").mkdir()
    with pytest.raises(XnnError):
        xnn.Model.load(DET1_PROTOTXT, weights=tmp_path / "dir.caffemodel")


# ---------------------------------------------------------------------------------------------
# inputs that do not fit
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def det1() -> xnn.Model:
    return xnn.Model.load(DET1_PROTOTXT, num_threads=1)


@pytest.fixture(scope="module")
def det2() -> xnn.Model:
    return xnn.Model.load(DET2_PROTOTXT, num_threads=1)


def test_wrong_channel_count(det1, det1_input):
    with pytest.raises(ShapeError, match=r"layer 'conv1' \(Convolution\): input has 2 channels, the weights expect 3"):
        det1.predict(np.zeros((1, 2, 12, 12), np.float32))
    # The model still works afterwards.
    out = det1.predict(det1_input)
    assert out["prob1"].shape == (1, 2, 1, 1)
    np.testing.assert_allclose(out["prob1"].sum(axis=1), 1.0, rtol=1e-5)


def test_too_small_spatial_size(det1):
    with pytest.raises(ShapeError, match=r"layer '\w+' \(\w+\)"):
        det1.predict(np.zeros((1, 3, 5, 5), np.float32))


def test_fc_input_no_longer_fits(det2):
    """RNet's InnerProduct 'conv4' expects 3x3x64 features: a 30x30 input gives 5x5x64."""
    ok = det2.predict(np.zeros((1, 3, 24, 24), np.float32))
    assert ok["prob1"].shape == (1, 2)
    with pytest.raises(ShapeError, match=r"layer 'conv4' \(InnerProduct\): .*1600 features .* expect 576"):
        det2.predict(np.zeros((1, 3, 30, 30), np.float32))


@pytest.mark.parametrize("shape", [(12,), (12, 12), (2, 1, 3, 12, 12), (1, 1, 1, 3, 12, 12)])
def test_float_input_of_wrong_ndim(det1, shape):
    with pytest.raises(ShapeError, match=r"input 'data': got a \d-D array"):
        det1.predict(np.zeros(shape, np.float32))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, np.complex64, np.complex128, np.bool_, np.str_])
def test_input_of_wrong_dtype(det1, dtype):
    with pytest.raises(ShapeError, match=r"input 'data': dtype .* is not supported"):
        det1.predict(np.zeros((1, 3, 12, 12), dtype))


def test_uint8_4d_is_not_an_image(det1):
    with pytest.raises(ShapeError, match="dtype uint8"):
        det1.predict(np.zeros((1, 3, 12, 12), np.uint8))


def test_run_with_wrong_names(det1, det1_input):
    with pytest.raises(ShapeError, match="unknown input"):
        det1.run({"image": det1_input})
    with pytest.raises(ShapeError, match="missing input"):
        det1.run({})


def test_non_finite_input_does_not_crash(det1):
    x = np.full((1, 3, 12, 12), np.nan, np.float32)
    x[0, 0, 0, 0] = np.inf
    out = det1.predict(x)
    assert out["prob1"].shape == (1, 2, 1, 1)


# ---------------------------------------------------------------------------------------------
# cases that could exhaust the stack or memory (child processes)
# ---------------------------------------------------------------------------------------------

#: Loads each prototxt text of stdin (a JSON list) with det1's weights; prints the exception per case.
_LOAD_CHILD = r'''
import faulthandler, json, sys
faulthandler.enable()
import xnn
texts = json.loads(sys.stdin.read())
weights = open(sys.argv[1], "rb").read()
results = []
for i, text in enumerate(texts):
    print("case", i, flush=True)
    try:
        xnn.Model.from_caffe_bytes(text.encode(), weights, num_threads=1)
        results.append(["loaded", ""])
    except Exception as e:
        results.append([type(e).__name__, str(e)])
print(json.dumps(results))
'''


def _load_isolated(*texts: str):
    proc = _run_child(_LOAD_CHILD, str(DET1_CAFFEMODEL), stdin=json.dumps(list(texts)))
    return json.loads(proc.stdout.splitlines()[-1])


def test_deeply_nested_braces():
    depth = 100_000
    results = _load_isolated(
        "layer {" * depth,
        "a { " * depth + "} " * depth,
        "a < " * depth + "> " * depth,
        "a: [" * depth,
        "{" * depth,
    )
    for kind, msg in results:
        assert kind == "ModelFormatError", (kind, msg)
        assert "prototxt line 1" in msg
    assert "nested too deeply" in results[0][1] and "nested too deeply" in results[1][1]


def test_long_lines_and_names(det1_text):
    name = "n" * 1_000_000
    results = _load_isolated(
        _replace_once(det1_text, 'name: "conv1"', f'name: "{name}"'),   # no blobs for that name
        _replace_once(det1_text, 'bottom: "pool1"', f'bottom: "{name}"'),
        "input: " + "9" * 1_000_000,
    )
    assert results[0][0] == "ModelFormatError" and "no blobs" in results[0][1]
    # Messages are capped at about 1 KB: the name is cut, but the layer, line and field lead the message.
    line = _line_of(det1_text, 'bottom: "pool1"')
    assert results[1][0] == "ModelFormatError"
    assert results[1][1].startswith(f"layer 'conv2' (Convolution): prototxt line {line}: bottom 'nnnn"), results[1][1][:200]
    assert results[2][0] == "ModelFormatError"


def test_huge_declared_dims(det1_text):
    results = _load_isolated(
        _replace_once(det1_text, "input_dim: 12\n", "input_dim: 2000000000\n"),
        _replace_once(det1_text, "input_dim: 1\n", "input_dim: 2000000000\n"),
        _replace_once(det1_text, "input_dim: 3\n", "input_dim: 2000000000\n"),
        _replace_once(det1_text, "input_dim: 12\ninput_dim: 12",
                      "input_dim: 2000000000\ninput_dim: 2000000000"),
        _replace_once(det1_text, "input_dim: 12\n", "input_dim: 99999999999999999999999\n"),
        _replace_once(det1_text, "input_dim: 12\n", "input_dim: -12\n"),
        _replace_once(det1_text, "input_dim: 12\n", "input_dim: 0\n"),
        _replace_once(det1_text, "num_output: 10", "num_output: 2000000000"),
        _replace_once(det1_text, "kernel_size: 3", "kernel_size: 2000000000"),
    )
    kinds = [k for k, _ in results]
    assert kinds[:4] == ["ShapeError"] * 4, results[:4]
    for _, msg in results[:4]:
        # Over 2^33 elements: refused at the input, before any layer's arithmetic could overflow.
        assert "input 'data'" in msg and "too large" in msg
    assert kinds[4:] == ["ModelFormatError"] * 5, results[4:]
    for _, msg in results[4:7]:
        assert "input_dim" in msg


def test_huge_reshape_of_a_session(det1):
    """Every dim within bounds but far too many elements in total: a ShapeError, no allocation attempt."""
    with pytest.raises(ShapeError, match="input 'data'.*too large"):
        det1.layer_shapes((1, 3, 2_000_000_000, 12))
    with pytest.raises(ShapeError):
        det1.layer_shapes((1, 3, 1 << 40, 12))
    assert det1.layer_shapes()[0].shape == (1, 10, 10, 10)


_WRAP_CHILD = r'''
import faulthandler, json, sys
faulthandler.enable()
import numpy as np
import xnn
text = sys.argv[1].encode()
try:
    m = xnn.Model.from_caffe_bytes(text, b"", num_threads=1)
except xnn.errors.XnnError as e:
    print(json.dumps([type(e).__name__, str(e)]))
    sys.exit(0)
print("loaded; running it", flush=True)
m.predict(np.zeros((1, 4, 6, 5), np.float32))
print(json.dumps(["loaded", ""]))
'''


def test_reshape_whose_element_count_wraps_around():
    """30 x 27905 x 1718039348 x 384773 = 120 + 30 * 2^64 elements: each dim is <= 2^31, and a 64-bit product
    wraps to the input's 120. It must be rejected at load, not accepted and then read out of bounds."""
    text = textwrap.dedent('''\
        input: "data"
        input_shape { dim: 1 dim: 4 dim: 6 dim: 5 }
        layer { name: "resh" type: "Reshape" bottom: "data" top: "resh"
                reshape_param { shape { dim: 30 dim: 27905 dim: 1718039348 dim: 384773 } } }
        layer { name: "gp" type: "Pooling" bottom: "resh" top: "gp" pooling_param { pool: MAX global_pooling: true } }
    ''')
    proc = _run_child(_WRAP_CHILD, text)
    kind, msg = json.loads(proc.stdout.splitlines()[-1])
    assert kind in ("ShapeError", "ModelFormatError"), (kind, msg)
    assert "resh" in msg


def test_declared_input_whose_element_count_wraps_around():
    """An input of 1 x 27905 x 1718039348 x 384773 = 2^64 + 4 elements must be rejected at load."""
    text = textwrap.dedent('''\
        input: "data"
        input_shape { dim: 1 dim: 27905 dim: 1718039348 dim: 384773 }
        layer { name: "gp" type: "Pooling" bottom: "data" top: "gp" pooling_param { pool: AVE global_pooling: true } }
    ''')
    proc = _run_child(_WRAP_CHILD, text)
    kind, msg = json.loads(proc.stdout.splitlines()[-1])
    assert kind in ("ShapeError", "ModelFormatError"), (kind, msg)


# ---------------------------------------------------------------------------------------------
# inputs the coverage-guided fuzzers found (tests/test_fuzz.py runs them under ASan/UBSan too)
# ---------------------------------------------------------------------------------------------

FUZZ_DIR = TESTS_DIR / "data" / "fuzz"

#: Each reproducer (in its fuzz target's input form) and the error it must give now, or (None, the output
#: shapes) for one that must load.
FUZZ_FINDINGS = {
    # A PriorBox whose aspect_ratio has no values (the fuzzer's input, cut down to it): the reader copied
    # the absent (NULL) value array with memcpy, undefined behaviour even for 0 bytes. It is a valid
    # model: no ratio beyond 1.
    "xnn/empty_float_attr.bin": (None, {"pb": (1, 2, 36)}),
    # A Resize scale of 2.8e23: in * scale overflowed int64 in the float-to-integer conversion (UB) and
    # then read as a negative output size.
    "xnn/resize_huge_scale.bin": (ModelFormatError, r"node 2 'up' \(Resize\): scale must be .* at most 2\^31, got 2\.8"),
}


def _fuzz_model(path: Path) -> xnn.Model:
    """Loads a fuzz target's input: for fuzz_caffe a 4-byte prototxt length, the prototxt and the
    caffemodel; for fuzz_xnn a .xnn payload, given the header and checksums the target writes."""
    data = path.read_bytes()
    if path.parent.name == "caffe":
        n = int.from_bytes(data[:4], "little")
        return xnn.Model.from_caffe_bytes(data[4:4 + n], data[4 + n:], num_threads=1)
    head = b"XNNM" + struct.pack("<HHQI", 1, 0, len(data), zlib.crc32(data))
    return xnn.Model.from_bytes(head + struct.pack("<I", zlib.crc32(head)) + data)


def test_every_fuzz_finding_has_a_test():
    found = sorted(f"{p.parent.name}/{p.name}" for d in ("caffe", "xnn") if (FUZZ_DIR / d).is_dir()
                   for p in (FUZZ_DIR / d).iterdir())
    assert found == sorted(FUZZ_FINDINGS)


@pytest.mark.parametrize("name", sorted(FUZZ_FINDINGS))
def test_fuzz_finding(name):
    error, expected = FUZZ_FINDINGS[name]
    if error is None:
        model = _fuzz_model(FUZZ_DIR / name)
        assert {o.name: o.shape for o in model.outputs} == expected
        model.run({i.name: np.ones(i.shape, np.float32) for i in model.inputs})
        return
    with pytest.raises(error, match=expected):
        _fuzz_model(FUZZ_DIR / name)


# ---------------------------------------------------------------------------------------------
# valid input that must not be rejected
# ---------------------------------------------------------------------------------------------

def test_softmax_with_explicit_axis_is_accepted():
    """softmax_param { axis: N } is plain Caffe (SSD's mbox_conf_softmax uses axis: 2); it must load and
    compute a softmax along that axis."""
    text = textwrap.dedent('''\
        input: "data"
        input_shape { dim: 1 dim: 4 dim: 6 dim: 5 }
        layer { name: "soft" type: "Softmax" bottom: "data" top: "soft" softmax_param { axis: 2 } }
    ''')
    model = _load(text, b"")
    x = np.random.default_rng(0).standard_normal((1, 4, 6, 5)).astype(np.float32)
    e = np.exp(x - x.max(axis=2, keepdims=True))
    np.testing.assert_allclose(model.predict(x), e / e.sum(axis=2, keepdims=True), rtol=1e-5, atol=1e-6)
