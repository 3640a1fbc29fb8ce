"""The Keras converter (xnn.convert.keras) against Keras' own model.predict: models built here with random
weights (BatchNormalization's moving statistics too), saved as .keras and legacy .h5, converted, loaded
with xnn.Model.load and run at batch 1 and 3."""
import json
import os
import subprocess
import sys
import zipfile

os.environ["KERAS_BACKEND"] = "torch"  # before keras is imported: the PyTorch CPU build is what tests have

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from keras import layers as L  # noqa: E402

import xnn  # noqa: E402
from xnn.convert import convert  # noqa: E402
from xnn.convert.keras import from_keras  # noqa: E402
from xnn.graph import Graph  # noqa: E402

FORMATS = (".keras", ".h5")
# Keras' torch backend converts through numpy's deprecated __array__ protocol.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def randomize(model: keras.Model, seed: int) -> keras.Model:
    """Non-trivial weights everywhere: normal kernels and biases, BatchNormalization statistics away from
    0 and 1, variances positive."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.path:
            v = rng.uniform(0.5, 2.0, shape)
        elif "gamma" in w.path:
            v = rng.uniform(0.5, 1.5, shape)
        else:
            v = rng.normal(0.0, 0.4, shape)
        w.assign(v.astype(np.float32))
    return model


def save(model: keras.Model, tmp_path, suffix: str):
    path = tmp_path / f"{model.name}{suffix}"
    model.save(path)
    return path


def check(model: keras.Model, tmp_path, input_shape, batches=(1, 3), seed=0, formats=FORMATS):
    """Every format: the converted model's outputs at each batch size match model.predict within 1e-4 of
    the largest output magnitude. ``input_shape`` is one shape without the batch, or a list of them for a
    model with several inputs. Returns the worst relative error."""
    rng = np.random.default_rng(seed)
    shapes = input_shape if isinstance(input_shape, list) else [input_shape]
    worst = 0.0
    for suffix in formats:
        path = suffix if not isinstance(suffix, str) else save(model, tmp_path, suffix)
        xm = xnn.Model.load(path)
        for n in batches:
            xs = [rng.normal(0.0, 1.0, (n,) + tuple(s)).astype(np.float32) for s in shapes]
            want = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
            got = xm.predict(dict(zip([i.name for i in xm.inputs], xs)) if len(xs) > 1 else xs[0])
            wants = want if isinstance(want, list) else [want]
            gots = [got[o.name] for o in xm.outputs] if isinstance(got, dict) else [got]
            assert len(gots) == len(wants)
            for g, w in zip(gots, wants):
                assert g.shape == w.shape, (suffix, n, g.shape, w.shape)
                scale = float(np.abs(w).max())
                err = float(np.abs(g - w).max())
                assert scale > 1e-3, "a degenerate reference output"
                assert err <= 1e-4 * scale, (suffix, n, err, scale)
                worst = max(worst, err / scale)
    return worst


def ops(path):
    return [n.op for n in from_keras(path).nodes]


def test_dense_net_needs_no_permute(tmp_path):
    inp = keras.Input((10,), name="x")
    a = L.Dense(7, activation="relu", name="fc1")(inp)
    b = L.Dropout(0.3)(L.BatchNormalization()(a))
    c = L.Dense(7, activation="tanh")(inp)
    d = L.Concatenate()([b, c])
    e = L.LeakyReLU(negative_slope=0.1)(L.Dense(5, use_bias=False)(d))
    f = L.Subtract()([e, L.Dense(5, activation="sigmoid")(d)])
    p = L.PReLU()(L.Multiply()([e, f]))
    g = L.Softmax()(L.Average()([f, L.Maximum()([e, p])]))
    model = randomize(keras.Model(inp, [g, p], name="mlp"), 1)
    check(model, tmp_path, (10,))
    assert "Permute" not in ops(tmp_path / "mlp.keras")


def test_two_inputs_and_a_shared_layer(tmp_path):
    a, b = keras.Input((6,), name="a"), keras.Input((4,), name="b")
    shared = L.Dense(5, activation="relu", name="shared")
    x = shared(L.Dense(6, name="from_b")(b))
    y = shared(a)
    model = randomize(keras.Model([a, b], [L.Add()([x, y]), L.Dense(3)(y)], name="two"), 11)
    check(model, tmp_path, [(6,), (4,)])
    assert from_keras(tmp_path / "two.h5").input_names() == ["a", "b"]


def histories(args):
    """The keras_history of every tensor in a Keras 3 call's args."""
    if isinstance(args, dict):
        return [args["config"]["keras_history"]] if args.get("class_name") == "__keras_tensor__" else []
    return [h for a in args for h in histories(a)] if isinstance(args, list) else []


def keras2_h5(path, out):
    """The same model as a tf.keras 2 HDF5 file: list-style inbound nodes, batch_input_shape, weights named
    'kernel:0' under model_weights/<layer>/<layer>/."""
    import json

    import h5py

    with h5py.File(path, "r") as src, h5py.File(out, "w") as dst:
        config = json.loads(src.attrs["model_config"])
        for layer in config["config"]["layers"]:
            if layer["class_name"] == "InputLayer":
                layer["config"]["batch_input_shape"] = layer["config"].pop("batch_shape")
            if layer["class_name"] == "BatchNormalization":
                layer["config"]["axis"] = [layer["config"]["axis"]]
            layer["inbound_nodes"] = [[h + [{}] for h in histories(node["args"])] for node in layer["inbound_nodes"]]
        for key in ("input_layers", "output_layers"):
            refs = config["config"][key]
            config["config"][key] = [refs] if isinstance(refs[0], str) else refs
        dst.attrs["model_config"] = json.dumps(config)
        weights = dst.create_group("model_weights")
        for name in src["model_weights"]:
            g = src["model_weights"][name]
            names = []
            for w in g.attrs["weight_names"]:
                w = w.decode() if isinstance(w, bytes) else w
                names.append(f"{name}/{w.split('/')[-1]}:0")
                weights[names[-1] if name == "top_level_model_weights" else f"{name}/{names[-1]}"] = g[w][()]
            weights.require_group(name).attrs["weight_names"] = np.array(names, dtype=h5py.string_dtype())
    return out


def test_keras2_h5(tmp_path):
    inp = keras.Input((7,), name="x")
    a = L.Dense(5, activation="relu")(inp)
    b = L.BatchNormalization(axis=1)(L.Dense(5)(inp))
    model = randomize(keras.Model(inp, L.Concatenate()([a, b]), name="old"), 12)
    old = keras2_h5(save(model, tmp_path, ".h5"), tmp_path / "old2.h5")
    check(model, tmp_path, (7,), formats=[old])


def test_sequential_dense(tmp_path):
    model = randomize(keras.Sequential([keras.Input((6,)), L.Dense(9, activation="relu6"), L.Dense(4),
                                        L.ReLU(max_value=1.5, negative_slope=0.2), L.Dense(3, activation="softmax")],
                                       name="seq"), 2)
    check(model, tmp_path, (6,))


def cnn(h: int, w: int) -> keras.Model:
    inp = keras.Input((h, w, 3), name="image")
    x = L.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = L.BatchNormalization()(x)
    x = L.Conv2D(8, (3, 2), strides=2, padding="same")(x)  # asymmetric 'same': extra at the bottom/right
    x = L.MaxPooling2D(3, strides=1, padding="same")(x)
    x = L.Conv2D(8, 3, strides=(2, 1), padding="valid", activation="tanh")(x)
    x = L.AveragePooling2D(2, padding="same")(x)  # excludes the padding from each average
    x = L.Conv2D(10, 2, dilation_rate=2, padding="same", use_bias=False)(x)
    x = L.BatchNormalization(center=False)(x)
    x = L.Activation("relu")(x)
    x = L.AveragePooling2D((2, 1))(x)
    x = L.MaxPooling2D(2, strides=1)(x)
    x = L.Dropout(0.5)(x)
    x = L.Flatten()(x)
    x = L.Dense(16, activation="relu")(x)
    x = L.Dense(5, activation="softmax")(x)
    return keras.Model(inp, x, name=f"cnn{h}x{w}")


@pytest.mark.parametrize("h,w", [(31, 27), (36, 29)])
def test_cnn(tmp_path, h, w):
    model = randomize(cnn(h, w), 3)
    check(model, tmp_path, (h, w, 3))
    graph = from_keras(tmp_path / f"{model.name}.keras")
    # The image is permuted once to NCHW; the Flatten reads NCHW and the next Dense takes its rows in that order.
    assert [n.op for n in graph.nodes].count("Permute") == 1


def mobilenet_like(h: int, w: int) -> keras.Model:
    inp = keras.Input((h, w, 3), name="image")
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = L.BatchNormalization()(x)
    x = L.ReLU(max_value=6.0)(x)
    y = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    y = L.BatchNormalization()(y)
    y = L.ReLU(6.0)(y)
    y = L.Conv2D(8, 1, use_bias=False)(y)
    y = L.BatchNormalization()(y)
    x = L.Add()([x, y])
    z = L.ZeroPadding2D(((1, 2), (2, 1)))(x)  # folded into the convolution's padding
    z = L.DepthwiseConv2D(4, strides=2, depth_multiplier=2, activation="relu6")(z)
    s = L.SeparableConv2D(12, 3, strides=2, padding="same", activation="relu")(x)
    s = L.BatchNormalization()(s)
    x = L.Concatenate()([z, s])
    x = L.SeparableConv2D(16, 3, padding="same", depth_multiplier=2)(x)
    x = L.BatchNormalization()(x)
    x = L.Activation("relu6")(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(7, activation="softmax")(x)
    return keras.Model(inp, x, name=f"mobile{h}x{w}")


@pytest.mark.parametrize("h,w", [(29, 33), (30, 17)])
def test_mobilenet_like(tmp_path, h, w):
    check(randomize(mobilenet_like(h, w), 4), tmp_path, (h, w, 3))


def test_image_outputs_and_global_max(tmp_path):
    """A 4-D output is given back channels-last; GlobalMaxPooling2D with keepdims; Reshape of an image."""
    inp = keras.Input((9, 7, 4), name="image")
    a = L.Conv2D(5, 3, padding="same")(inp)
    b = L.GlobalMaxPooling2D(keepdims=True)(a)
    c = L.Softmax(axis=-1)(L.Conv2D(5, 1)(b))
    d = L.Dense(6)(L.Reshape((7, 9 * 5))(a))
    model = randomize(keras.Model(inp, [a, c, d], name="outs"), 5)
    check(model, tmp_path, (9, 7, 4))


def lstm_model(steps: int, features: int) -> keras.Model:
    inp = keras.Input((steps, features), name="seq")
    x = L.LSTM(7, return_sequences=True)(inp)
    x = L.LSTM(6, return_sequences=True, go_backwards=True)(x)
    y = L.LSTM(5, use_bias=False, return_sequences=True)(x)
    y = L.Dense(4, activation="tanh")(y)
    z = L.LSTM(3, go_backwards=True)(x)
    x = L.LSTM(5)(y)
    x = L.Concatenate()([x, z])
    x = L.Dense(3, activation="softmax")(x)
    return keras.Model(inp, x, name=f"lstm{steps}")


@pytest.mark.parametrize("steps,features", [(7, 5), (1, 3)])
def test_lstm(tmp_path, steps, features):
    check(randomize(lstm_model(steps, features), 6), tmp_path, (steps, features))


def test_lstm_sequences_output(tmp_path):
    model = randomize(keras.Sequential([keras.Input((6, 4)), L.LSTM(5, return_sequences=True),
                                        L.LSTM(3, return_sequences=True, go_backwards=True)], name="seqout"), 7)
    check(model, tmp_path, (6, 4))


def test_bidirectional_over_embedding(tmp_path):
    """Embedding (token ids as floats) into bidirectional LSTMs with every merge mode."""
    inp = keras.Input((9,), name="tokens")
    e = L.Embedding(20, 6)(inp)
    b1 = L.Bidirectional(L.LSTM(5, return_sequences=True))(e)
    b2 = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode="ave")(b1)
    b3 = L.Bidirectional(L.LSTM(3), merge_mode="sum")(b2)
    b4 = L.Bidirectional(L.LSTM(3, use_bias=False))(b1)
    b5 = L.Bidirectional(L.LSTM(2), merge_mode="mul")(b1)
    model = randomize(keras.Model(inp, [L.Concatenate()([b3, b4, b5]), b2], name="bi"), 14)
    rng = np.random.default_rng(0)
    for suffix in FORMATS:
        xm = xnn.Model.load(save(model, tmp_path, suffix))
        for n in (1, 3):
            x = rng.integers(0, 20, (n, 9)).astype(np.float32)
            for got, want in zip(xm.predict(x).values(), model.predict(x, verbose=0)):
                assert got.shape == want.shape
                assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_convert_command(tmp_path):
    model = randomize(cnn(33, 25), 8)
    src = save(model, tmp_path, ".keras")
    out = tmp_path / "cnn.xnn"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    r = subprocess.run([sys.executable, "-m", "xnn", "convert", str(src), str(out)], capture_output=True, text=True,
                       env=env)
    assert r.returncode == 0, r.stderr
    x = np.random.default_rng(0).normal(size=(2, 33, 25, 3)).astype(np.float32)
    np.testing.assert_allclose(xnn.Model.load(out).predict(x), model.predict(x, verbose=0), atol=1e-5)
    assert convert(src).output_names() == [model.layers[-1].name]


def test_uint8_image_is_laid_out_nhwc(tmp_path):
    """The .xnn file records that a Keras model takes NHWC images, so predict's uint8 path builds
    (1, H, W, C) in RGB order; a Caffe-style NCHW array would not even have the right shape."""
    model = randomize(cnn(31, 27), 4)
    out = tmp_path / "cnn.xnn"
    convert(save(model, tmp_path, ".keras")).save(out)
    xm = xnn.Model.load(out)
    assert xm.input_layout == "NHWC"
    assert Graph.from_xnn(out).metadata["layout"] == "NHWC"
    img = np.random.default_rng(5).integers(0, 256, (31, 27, 3), dtype=np.uint8)
    want = model.predict(((img.astype(np.float32) - 127.5) / 127.5)[None], verbose=0)
    got = xm.predict(img, mean=127.5, scale=1 / 127.5)
    np.testing.assert_allclose(got, want, atol=1e-4 * float(np.abs(want).max()))
    # BGR on request: the channels reversed before the model sees them.
    want_bgr = model.predict(((img[:, :, ::-1].astype(np.float32) - 127.5) / 127.5)[None], verbose=0)
    got_bgr = xm.predict(img, mean=127.5, scale=1 / 127.5, channel_order="BGR")
    np.testing.assert_allclose(got_bgr, want_bgr, atol=1e-4 * float(np.abs(want_bgr).max()))
    assert not np.allclose(want, want_bgr, atol=1e-3 * float(np.abs(want).max()))


# ------------------------------------------------------------------------------------------------ bad input


def test_unknown_layers_are_all_named(tmp_path):
    inp = keras.Input((8, 4))
    x = L.Conv1D(3, 2, name="temporal")(inp)
    x = L.LayerNormalization(name="norm")(x)
    x = L.Flatten()(x)
    x = L.Dense(2, activation="gelu", name="head")(x)
    model = keras.Model(inp, x, name="unknown")
    for suffix in FORMATS:
        with pytest.raises(xnn.UnsupportedError) as e:
            xnn.Model.load(save(model, tmp_path, suffix))
        msg = str(e.value)
        for part in ("'temporal' (Conv1D)", "'norm' (LayerNormalization)", "'head' (Dense): activation 'gelu'"):
            assert part in msg, msg


def test_unsupported_settings(tmp_path):
    model = keras.Sequential([keras.Input((5, 3)), L.LSTM(4, recurrent_activation="hard_sigmoid", name="rnn")],
                             name="hard")
    with pytest.raises(xnn.UnsupportedError, match="'rnn' \\(LSTM\\): recurrent_activation 'hard_sigmoid'"):
        from_keras(save(model, tmp_path, ".keras"))
    model = keras.Sequential([keras.Input((5,)), L.Embedding(9, 3, mask_zero=True, name="emb"), L.LSTM(2)],
                             name="masked")
    with pytest.raises(xnn.UnsupportedError, match="'emb' \\(Embedding\\): mask_zero=True"):
        from_keras(save(model, tmp_path, ".keras"))
    model = keras.Sequential([keras.Input((5, 6, 3)), L.ZeroPadding2D(1), L.MaxPooling2D(name="pool")],
                             name="padpool")
    with pytest.raises(xnn.UnsupportedError, match="'pool' \\(MaxPooling2D\\).*ZeroPadding2D"):
        from_keras(save(model, tmp_path, ".h5"))


@pytest.mark.parametrize("suffix", FORMATS)
def test_truncated_file(tmp_path, suffix):
    model = randomize(keras.Sequential([keras.Input((6,)), L.Dense(3)], name="small"), 9)
    data = save(model, tmp_path, suffix).read_bytes()
    for cut in (len(data) // 2, len(data) - 7, 40):
        bad = tmp_path / f"cut{cut}{suffix}"
        bad.write_bytes(data[:cut])
        with pytest.raises(xnn.ModelFormatError, match="truncated or corrupt|not a Keras"):
            xnn.Model.load(bad)


def test_not_keras(tmp_path):
    text = tmp_path / "model.keras"
    text.write_text("name: 'LeNet'\n")
    with pytest.raises(xnn.ModelFormatError, match="not a Keras model"):
        xnn.Model.load(text)
    archive = tmp_path / "other.keras"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(xnn.ModelFormatError, match="no config.json"):
        xnn.Model.load(archive)
    weights_only = tmp_path / "w.weights.h5"
    model = keras.Sequential([keras.Input((6,)), L.Dense(3)], name="wo")
    model.save_weights(weights_only)
    renamed = tmp_path / "w.h5"
    weights_only.rename(renamed)
    with pytest.raises(xnn.ModelFormatError, match="model_config"):
        xnn.Model.load(renamed)
    with pytest.raises(xnn.XnnIOError):
        from_keras(tmp_path / "missing.keras")


def test_wrong_weight_shapes(tmp_path):
    """A config and weights that disagree: an error naming the layer, not a crash."""
    import h5py

    model = randomize(keras.Sequential([keras.Input((6,)), L.Dense(3, name="fc")], name="mismatch"), 10)
    path = save(model, tmp_path, ".h5")
    with h5py.File(path, "r+") as f:
        group = f["model_weights/fc"]
        name = [n.decode() if isinstance(n, bytes) else n for n in group.attrs["weight_names"]][0]
        del group[name]
        group[name] = np.zeros((5, 3), np.float32)
    with pytest.raises(xnn.ModelFormatError, match="'fc' \\(Dense\\): kernel has shape \\[5, 3\\], expected \\[6, 3\\]"):
        from_keras(path)


def test_malformed_config(tmp_path):
    """Hostile configs in a valid archive: a ModelFormatError, never a Python error from inside."""
    model = randomize(keras.Sequential([keras.Input((6,)), L.Dense(3)], name="mal"), 13)
    with zipfile.ZipFile(save(model, tmp_path, ".keras")) as z:
        files = {n: z.read(n) for n in z.namelist()}
    dense = {"class_name": "Dense", "name": "d", "config": {"units": 3}, "inbound_nodes": [[["nowhere", 0, 0, {}]]]}
    configs = [
        {"class_name": "Sequential", "config": {"layers": ["x", 3]}},
        {"class_name": "Sequential", "config": {"layers": []}},
        {"class_name": "Functional", "config": {"layers": [dense], "input_layers": [], "output_layers": []}},
        {"class_name": "Sequential", "config": {"layers": [{"class_name": "Dense", "config": {"name": "d"}}]}},
        [1, 2],
    ]
    for i, config in enumerate(configs):
        bad = tmp_path / f"bad{i}.keras"
        with zipfile.ZipFile(bad, "w") as z:
            for name, data in files.items():
                z.writestr(name, json.dumps(config) if name == "config.json" else data)
        with pytest.raises(xnn.ModelFormatError):
            xnn.Model.load(bad)


def test_size_dependent_padding_keeps_the_declared_size(tmp_path):
    """A stride-2 'same' convolution pads by the input size: another size is refused, not run wrongly."""
    model = randomize(keras.Sequential([keras.Input((9, 8, 2)), L.Conv2D(3, 3, strides=2, padding="same")],
                                       name="strided"), 15)
    xm = xnn.Model.load(save(model, tmp_path, ".keras"))
    x = np.random.default_rng(0).normal(size=(2, 9, 8, 2)).astype(np.float32)
    np.testing.assert_allclose(xm.predict(x), model.predict(x, verbose=0), atol=1e-5)
    with pytest.raises(xnn.ShapeError, match="declared_size"):
        xm.predict(np.zeros((1, 10, 8, 2), np.float32))
    free = randomize(keras.Sequential([keras.Input((9, 8, 2)), L.Conv2D(3, 3, padding="same")], name="free"), 16)
    x = np.random.default_rng(1).normal(size=(1, 12, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(xnn.Model.load(save(free, tmp_path, ".h5")).predict(x), free.predict(x, verbose=0),
                               atol=1e-5)
