"""SSD detection: Normalize, PriorBox and DetectionOutput against NumPy references written from Caffe's
definitions (tests/numpy_ref.py) and against OpenCV DNN, MobileNet-SSD end to end against OpenCV, the
.xnn round trip, bad input and the drawing helper."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

_TESTS_DIR = Path(__file__).resolve().parent
if str(_TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(_TESTS_DIR))

import caffe_tools as ct  # noqa: E402
import numpy_ref as ref  # noqa: E402
from test_ops import check, layer, load, net_text, rng_for  # noqa: E402

import xnn  # noqa: E402
from xnn.graph import Graph  # noqa: E402

RTOL = 1e-4


def opencv_run(prototxt: str, inputs: dict, weights=None) -> np.ndarray:
    """The first output of a small net in OpenCV DNN."""
    import cv2

    net = cv2.dnn.readNetFromCaffe(str(prototxt)) if weights is None else cv2.dnn.readNetFromCaffe(*weights)
    for name, value in inputs.items():
        net.setInput(np.ascontiguousarray(value, np.float32), name)
    return np.array(net.forward(), np.float32)


def sorted_rows(rows: np.ndarray) -> np.ndarray:
    """Detections in a canonical order: image, label, decreasing score."""
    rows = np.asarray(rows, np.float64).reshape(-1, 7)
    return rows[np.lexsort((-rows[:, 2], rows[:, 1], rows[:, 0]))]


def assert_same_detections(got: np.ndarray, want: np.ndarray, what: str) -> None:
    """Same set of detections: labels and image ids exactly, scores and boxes within 1e-4."""
    got, want = sorted_rows(got), sorted_rows(want)
    assert got.shape == want.shape, f"{what}: {got.shape[0]} detections, expected {want.shape[0]}"
    np.testing.assert_array_equal(got[:, :2], want[:, :2], err_msg=f"{what}: image ids / labels")
    err = np.abs(got[:, 2:] - want[:, 2:]).max() if got.size else 0.0
    assert err <= 1e-4, f"{what}: scores/boxes differ by {err:.3g}"


# ============================================================================== Normalize

NORMALIZE_CASES = [
    # (N, C, H, W), across_spatial, channel_shared, eps
    ((1, 3, 5, 7), True, True, 1e-10),
    ((2, 17, 9, 11), True, False, 1e-10),
    ((3, 8, 13, 1), False, True, 1e-10),
    ((2, 33, 7, 19), False, False, 1e-10),   # 133 positions: two full 64-position blocks and a tail
    ((1, 5, 3, 3), False, False, 0.5),       # a large eps matters
    ((2, 4, 1, 1), True, False, 1e-3),
]


@pytest.mark.parametrize("case", NORMALIZE_CASES, ids=lambda c: f"{'x'.join(map(str, c[0]))}_sp{int(c[1])}_sh{int(c[2])}")
@pytest.mark.parametrize("threads", [1, 3])
def test_normalize(case, threads):
    shape, across, shared, eps = case
    rng = rng_for("normalize", case)
    x = rng.standard_normal(shape).astype(np.float32)
    scale = rng.uniform(0.5, 20, 1 if shared else shape[1]).astype(np.float32)
    param = (f"norm_param {{ across_spatial: {str(across).lower()} channel_shared: {str(shared).lower()} "
             f"eps: {eps} }}")
    model = load(net_text({"data": shape}, layer("norm", "Normalize", "data", "out", param)), {"norm": [scale]},
                 num_threads=threads)
    check(model.predict(x), ref.normalize(x, scale, across, shared, eps), f"Normalize {case}")


def test_normalize_matches_opencv(tmp_path):
    """OpenCV as a second reference, in the three modes it runs (with across_spatial and a scale per
    channel, OpenCV 4.14 fails an assertion; the NumPy test above covers that mode)."""
    shape = (2, 6, 5, 4)
    rng = rng_for("normalize-cv")
    x = rng.standard_normal(shape).astype(np.float32)
    for across, shared in [(True, True), (False, True), (False, False)]:
        scale = rng.uniform(1, 20, 1 if shared else shape[1]).astype(np.float32)
        param = f"norm_param {{ across_spatial: {str(across).lower()} channel_shared: {str(shared).lower()} }}"
        text = net_text({"data": shape}, layer("norm", "Normalize", "data", "out", param))
        (tmp_path / "n.prototxt").write_text(text)
        ct.write_caffemodel(ct.load_prototxt(tmp_path / "n.prototxt"), {"norm": [scale]}, tmp_path / "n.caffemodel")
        want = opencv_run(None, {"data": x}, (str(tmp_path / "n.prototxt"), str(tmp_path / "n.caffemodel")))
        check(load(text, {"norm": [scale]}).predict(x), want, f"Normalize vs OpenCV {across} {shared}")


def test_normalize_in_place_after_conv():
    """Normalize written in place over a convolution's output (top == bottom), as SSD's conv4_3_norm is not,
    but a prototxt may be."""
    rng = rng_for("normalize-inplace")
    w = rng.standard_normal((4, 3, 1, 1)).astype(np.float32)
    scale = rng.uniform(1, 3, 4).astype(np.float32)
    text = net_text({"data": (1, 3, 6, 5)},
                    layer("conv", "Convolution", "data", "c", "convolution_param { num_output: 4 kernel_size: 1 bias_term: false }"),
                    layer("norm", "Normalize", "c", "c", "norm_param { across_spatial: false channel_shared: false }"))
    x = rng.standard_normal((1, 3, 6, 5)).astype(np.float32)
    conv = np.einsum("nchw,oc->nohw", x.astype(np.float64), w[:, :, 0, 0].astype(np.float64))
    check(load(text, {"conv": [w], "norm": [scale]}).predict(x), ref.normalize(conv, scale, False, False, 1e-10), "in place")


# ============================================================================== PriorBox

def prior_param(min_size=(30.0,), max_size=(), aspect_ratio=(), flip=None, clip=None, variance=(), extra="") -> str:
    fields = [f"min_size: {v}" for v in min_size] + [f"max_size: {v}" for v in max_size]
    fields += [f"aspect_ratio: {v}" for v in aspect_ratio] + [f"variance: {v}" for v in variance]
    if flip is not None:
        fields.append(f"flip: {str(flip).lower()}")
    if clip is not None:
        fields.append(f"clip: {str(clip).lower()}")
    return "prior_box_param { " + " ".join(fields) + " " + extra + " }"


# (feature HxW, image HxW, kwargs of prior_param, reference kwargs beyond those)
PRIOR_CASES = [
    ((3, 5), (60, 90), dict(), {}),
    ((4, 4), (300, 300), dict(min_size=(60.0,), max_size=(105.0,), aspect_ratio=(2.0, 3.0), variance=(0.1, 0.1, 0.2, 0.2)), {}),
    ((5, 3), (100, 70), dict(min_size=(20.0, 45.0), max_size=(40.0, 70.0), aspect_ratio=(2.0,), flip=False), {}),
    ((2, 7), (64, 128), dict(aspect_ratio=(2.0, 0.5, 1.0, 3.0), flip=True, variance=(0.25,)), {}),  # repeats skipped
    ((6, 6), (50, 50), dict(min_size=(40.0,), max_size=(60.0,), aspect_ratio=(2.0,), clip=True), {}),
    ((3, 4), (90, 120), dict(extra="step: 16"), dict(step=(16, 16))),
    ((3, 4), (90, 120), dict(extra="step_h: 12 step_w: 20 offset: 0.25"), dict(step=(12, 20), offset=0.25)),
    ((5, 5), (40, 40), dict(extra="img_size: 300"), dict(img_size=(300, 300))),
    ((4, 6), (40, 40), dict(extra="img_h: 200 img_w: 320 offset: 0"), dict(img_size=(200, 320), offset=0.0)),
    ((4, 6), (40, 40), dict(extra="img_h: 200 img_w: 320 step: 30"), dict(img_size=(200, 320), step=(30, 30))),
    ((1, 1), (300, 300), dict(min_size=(264.0,), max_size=(315.0,), aspect_ratio=(2.0, 3.0)), {}),
]


def prior_ref(case) -> np.ndarray:
    feat, img, kw, extra = case
    args = dict(min_sizes=list(kw.get("min_size", (30.0,))), max_sizes=list(kw.get("max_size", ())),
                aspect_ratios=list(kw.get("aspect_ratio", ())), flip=kw.get("flip", True) is not False,
                clip=bool(kw.get("clip", False)), variance=list(kw.get("variance", ())) or [0.1])
    return ref.prior_box(feat, img, **args, **extra)


def prior_net(case, explicit: bool = False) -> str:
    """The case's net; ``explicit`` writes clip and variance even where Caffe's defaults apply, for
    OpenCV, whose defaults differ (clip true, variance required)."""
    feat, img, kw, _ = case
    if explicit:
        kw = dict(kw, clip=bool(kw.get("clip", False)), variance=kw.get("variance") or (0.1,))
    return net_text({"feat": (1, 2) + feat, "img": (1, 3) + img},
                    layer("prior", "PriorBox", ["feat", "img"], "out", prior_param(**kw)))


@pytest.mark.parametrize("case", PRIOR_CASES, ids=lambda c: f"{c[0][0]}x{c[0][1]}_{len(c[2])}_{'_'.join(c[3])}")
def test_prior_box(case, tmp_path):
    feat, img, _, _ = case
    inputs = {"feat": np.zeros((1, 2) + feat, np.float32), "img": np.zeros((1, 3) + img, np.float32)}
    got = load(prior_net(case)).run(inputs)["out"]
    want = prior_ref(case)
    check(got, want, f"PriorBox {case}")
    extra = case[2].get("extra", "")
    if "img_" in extra:
        return  # OpenCV reads the image size from the image input even when img_size/img_h/img_w give it
    (tmp_path / "p.prototxt").write_text(prior_net(case, explicit=True))
    check(got, opencv_run(tmp_path / "p.prototxt", inputs), f"PriorBox {case} vs OpenCV")


def test_prior_box_batch_and_feature_values_do_not_matter():
    """Priors depend on shapes only: one set for a whole batch, whatever the values."""
    case = PRIOR_CASES[1]
    model = load(prior_net(case))
    rng = rng_for("prior-batch")
    out = model.run({"feat": rng.standard_normal((3, 2, 4, 4)).astype(np.float32),
                     "img": rng.standard_normal((3, 3, 300, 300)).astype(np.float32)})["out"]
    check(out, prior_ref(case), "PriorBox batch 3")


# ============================================================================== DetectionOutput

def random_detection_inputs(rng, n, priors_hw, num_classes, share_location, logit_scale=3.0):
    prior = ref.prior_box(priors_hw, (100, 100), [25.0], [50.0], [2.0], True, False, [0.1, 0.1, 0.2, 0.2])
    p = prior.shape[2] // 4
    lc = 1 if share_location else num_classes
    loc = (rng.standard_normal((n, p * lc * 4)) * 0.7).astype(np.float32)
    logits = rng.standard_normal((n, p, num_classes)) * logit_scale
    conf = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    return loc, conf.reshape(n, -1).astype(np.float32), prior.astype(np.float32)


def detection_net(n, loc, conf, prior, **params) -> str:
    nms = {k: params.pop(k) for k in ("nms_threshold", "top_k", "eta") if k in params}
    fields = " ".join(f"{k}: {str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
    nms_fields = " ".join(f"{k}: {v}" for k, v in nms.items())
    return net_text({"loc": loc.shape, "conf": conf.shape, "prior": prior.shape},
                    layer("det", "DetectionOutput", ["loc", "conf", "prior"], "out",
                          f"detection_output_param {{ {fields} nms_param {{ {nms_fields} }} }}"))


DETECTION_CASES = [
    # share_location, background_label_id, code_type, extra params
    (True, 0, "CENTER_SIZE", dict(nms_threshold=0.45, top_k=40, keep_top_k=25, confidence_threshold=0.2)),
    (True, 0, "CORNER", dict(nms_threshold=0.3, confidence_threshold=0.3)),
    (True, -1, "CORNER_SIZE", dict(nms_threshold=0.5, top_k=10, confidence_threshold=0.25)),
    (False, 0, "CENTER_SIZE", dict(nms_threshold=0.45, keep_top_k=30, confidence_threshold=0.2)),
    (False, 2, "CORNER", dict(nms_threshold=0.6, top_k=15, keep_top_k=40, confidence_threshold=0.15)),
    (False, -1, "CORNER_SIZE", dict(nms_threshold=0.4, confidence_threshold=0.3, variance_encoded_in_target=True)),
    (True, 1, "CENTER_SIZE", dict(nms_threshold=0.7, top_k=50, eta=0.8, confidence_threshold=0.1)),  # adaptive NMS
    (True, 0, "CENTER_SIZE", dict(nms_threshold=0.45, variance_encoded_in_target=True, keep_top_k=7)),
]


@pytest.mark.parametrize("case", DETECTION_CASES, ids=lambda c: f"share{int(c[0])}_bg{c[1]}_{c[2]}_{len(c[3])}")
@pytest.mark.parametrize("batch", [1, 3])
def test_detection_output(case, batch):
    share, bg, code, extra = case
    num_classes = 5
    rng = rng_for("detection", case, batch)
    loc, conf, prior = random_detection_inputs(rng, batch, (5, 4), num_classes, share)
    params = dict(num_classes=num_classes, share_location=share, background_label_id=bg, code_type=code, **extra)
    model = load(detection_net(batch, loc, conf, prior, **params))
    got = model.run({"loc": loc, "conf": conf, "prior": prior})["out"]
    want = ref.detection_output(loc, conf, prior, num_classes, share, bg, extra.get("nms_threshold", 0.3),
                                extra.get("top_k", -1), extra.get("eta", 1.0),
                                extra.get("confidence_threshold", -np.inf), extra.get("keep_top_k", -1), code,
                                extra.get("variance_encoded_in_target", False))
    assert got.shape[:2] == (1, 1) and got.shape[3] == 7
    assert len(want) >= 5 * batch, "the case should detect something in every image"
    # Same rows in Caffe's order (image, label, decreasing score), not only as sets.
    assert got.shape[2] == len(want)
    np.testing.assert_array_equal(got[0, 0, :, :2], want[:, :2])
    assert np.abs(got[0, 0, :, 2:] - want[:, 2:]).max() <= 1e-5
    # The plan reserved enough rows for the worst case, and a second run gives the same.
    assert model.outputs[0].shape[2] >= got.shape[2]
    np.testing.assert_array_equal(model.run({"loc": loc, "conf": conf, "prior": prior})["out"], got)


OPENCV_DETECTION_CASES = [c for c in DETECTION_CASES
                          if c[2] != "CORNER_SIZE" and "eta" not in c[3] and "variance_encoded_in_target" not in c[3]]


@pytest.mark.parametrize("case", OPENCV_DETECTION_CASES, ids=lambda c: f"share{int(c[0])}_bg{c[1]}_{c[2]}")
def test_detection_output_matches_opencv(case, tmp_path):
    """OpenCV as a second reference, where it implements Caffe's layer: not CORNER_SIZE, not eta (it
    ignores it), not variance_encoded_in_target (it then wants priors without variances). It requires
    keep_top_k (1000 here stands for none: fewer boxes pass) and pads its output with zero rows."""
    share, bg, code, extra = case
    rng = rng_for("detection-cv", case)
    loc, conf, prior = random_detection_inputs(rng, 1, (5, 4), 5, share)
    params = dict(num_classes=5, share_location=share, background_label_id=bg, code_type=code, **extra)
    text = detection_net(1, loc, conf, prior, **params)
    inputs = {"loc": loc, "conf": conf, "prior": prior}
    got = load(text).run(inputs)["out"][0, 0]
    assert len(got) < 1000
    (tmp_path / "d.prototxt").write_text(detection_net(1, loc, conf, prior, **dict({"keep_top_k": 1000}, **params)))
    want = opencv_run(tmp_path / "d.prototxt", inputs).reshape(-1, 7)
    want = want[want[:, 2] > 0]
    assert len(want) >= 5
    assert_same_detections(got, want, f"DetectionOutput {case} vs OpenCV")


def test_detection_output_nothing_detected():
    """Caffe's placeholder: one row (i, -1, -1, -1, -1, -1, -1) per image; the detections helper drops them."""
    rng = rng_for("nothing")
    loc, conf, prior = random_detection_inputs(rng, 2, (3, 3), 4, True)
    model = load(detection_net(2, loc, conf, prior, num_classes=4, confidence_threshold=1.0))
    got = model.run({"loc": loc, "conf": conf, "prior": prior})["out"]
    want = np.array([[0, -1, -1, -1, -1, -1, -1], [1, -1, -1, -1, -1, -1, -1]], np.float32)
    np.testing.assert_array_equal(got, want[None, None])
    np.testing.assert_array_equal(ref.detection_output(loc, conf, prior, 4, confidence_threshold=1.0), want)
    assert xnn.detection.detections(got).shape == (0, 7)


def test_detection_output_keep_top_k_zero_and_one_image_empty():
    rng = rng_for("empty-image")
    loc, conf, prior = random_detection_inputs(rng, 2, (3, 3), 4, True)
    conf = conf.reshape(2, -1, 4)
    conf[1] = np.array([1, 0, 0, 0], np.float32)  # the second image: all background
    conf = conf.reshape(2, -1)
    inputs = {"loc": loc, "conf": conf, "prior": prior}
    got = load(detection_net(2, loc, conf, prior, num_classes=4, confidence_threshold=0.3)).run(inputs)["out"][0, 0]
    want = ref.detection_output(loc, conf, prior, 4, confidence_threshold=0.3)
    assert len(want) > 0 and set(want[:, 0]) == {0}  # no placeholder row for image 1: image 0 has detections
    np.testing.assert_allclose(got, want, atol=1e-5)
    got = load(detection_net(2, loc, conf, prior, num_classes=4, keep_top_k=0)).run(inputs)["out"][0, 0]
    np.testing.assert_array_equal(got[:, 1:], -np.ones((2, 6), np.float32))


# ============================================================================== MobileNet-SSD

SSD = ct.model_prototxt("mobilenet_ssd")
HEADS = ["mbox_priorbox", "mbox_loc", "mbox_conf_flatten"]


@pytest.fixture(scope="module")
def ssd(tmp_path_factory):
    """MobileNet-SSD with seeded random weights made for comparisons (see
    ``caffe_tools.mobilenet_ssd_model``), and the same net cut before DetectionOutput."""
    return ct.mobilenet_ssd_model(tmp_path_factory.mktemp("ssd"))


def ssd_input(seed: int, n: int = 1) -> np.ndarray:
    return ct.random_inputs({"data": [n, 3, 300, 300]}, seed=seed)["data"]


def test_mobilenet_ssd_heads_match_opencv(ssd):
    prototxt, caffemodel, heads = ssd
    x = ssd_input(1)
    got = xnn.Model.load(heads, caffemodel).run({"data": x})
    want = ct.opencv_forward(prototxt, caffemodel, {"data": x}, HEADS)
    for name in HEADS:
        check(got[name], want[name], f"MobileNet-SSD {name}")


def test_mobilenet_ssd_detections_match_opencv(ssd):
    prototxt, caffemodel, heads = ssd
    x = ssd_input(1)
    got = xnn.Model.load(prototxt, caffemodel).predict(x)
    assert xnn.Model.load(prototxt, caffemodel).outputs[0].shape == (1, 1, 100, 7)
    want = ct.opencv_forward(prototxt, caffemodel, {"data": x})["detection_out"].reshape(-1, 7)
    want = want[want[:, 2] > 0]
    rows = xnn.detection.detections(got)
    assert len(rows) >= 50 and len(set(rows[:, 1])) >= 8, "random weights should detect many boxes of many labels"
    assert np.diff(np.sort(rows[:, 2])).min() > 1e-5, "scores too close for a meaningful comparison"
    assert_same_detections(rows, want, "MobileNet-SSD detections vs OpenCV")
    # And against the NumPy DetectionOutput run on xnn's own heads.
    h = xnn.Model.load(heads, caffemodel).run({"data": x})
    mine = ref.detection_output(h["mbox_loc"], h["mbox_conf_flatten"], h["mbox_priorbox"], 21, True, 0, 0.45, 100,
                                1.0, 0.25, 100, "CENTER_SIZE")
    assert_same_detections(rows, mine, "MobileNet-SSD detections vs NumPy")


def test_mobilenet_ssd_batch(ssd):
    """A batch of 3 gives each image's detections, with its image id."""
    prototxt, caffemodel, _ = ssd
    model = xnn.Model.load(prototxt, caffemodel)
    x = ssd_input(2, 3)
    got = model.predict(x)
    assert got.shape[:2] == (1, 1)
    for i in range(3):
        alone = xnn.detection.detections(model.predict(x[i:i + 1]))
        alone[:, 0] = i
        assert len(alone) > 0
        np.testing.assert_allclose(xnn.detection.detections(got, image=i), alone, atol=1e-5)


def test_mobilenet_ssd_xnn_round_trip(ssd, tmp_path):
    prototxt, caffemodel, _ = ssd
    Graph.from_caffe(prototxt, caffemodel).save(tmp_path / "ssd.xnn")
    x = ssd_input(3)
    a = xnn.Model.load(prototxt, caffemodel).predict(x)
    b = xnn.Model.load(tmp_path / "ssd.xnn").predict(x)
    assert a.shape[2] > 1
    np.testing.assert_array_equal(a, b)


def test_ssd_ops_round_trip_with_every_attribute(tmp_path):
    """Every PriorBox/Normalize/DetectionOutput attribute survives Graph.from_caffe -> save -> load."""
    text = net_text(
        {"data": (2, 4, 5, 6), "img": (2, 3, 80, 96)},
        layer("norm", "Normalize", "data", "n", "norm_param { across_spatial: false channel_shared: false eps: 0.01 }"),
        layer("prior", "PriorBox", ["data", "img"], "p",
              prior_param((20.0, 40.0), (30.0, 60.0), (2.0, 3.0), False, True, (0.1, 0.2, 0.3, 0.4),
                          "step_h: 14 step_w: 15 img_h: 70 img_w: 90 offset: 0.4")),
    )
    (tmp_path / "s.prototxt").write_text(text)
    scale = np.arange(1, 5, dtype=np.float32)
    ct.write_caffemodel(ct.load_prototxt(tmp_path / "s.prototxt"), {"norm": [scale]}, tmp_path / "s.caffemodel")
    g = Graph.from_caffe(tmp_path / "s.prototxt", tmp_path / "s.caffemodel")
    prior = g.nodes[1].attrs
    assert prior["min_size"] == [20.0, 40.0] and prior["max_size"] == [30.0, 60.0]
    assert prior["aspect_ratio"] == [2.0, 3.0] and prior["flip"] == [0] and prior["clip"] == [1]
    assert prior["img_size"] == [70, 90] and prior["step"] == [14.0, 15.0]
    np.testing.assert_allclose(prior["offset"], [0.4])
    np.testing.assert_allclose(prior["variance"], [0.1, 0.2, 0.3, 0.4])
    g.save(tmp_path / "s.xnn")
    rng = rng_for("roundtrip-attrs")
    inputs = {"data": rng.standard_normal((2, 4, 5, 6)).astype(np.float32), "img": np.zeros((2, 3, 80, 96), np.float32)}
    a = xnn.Model.load(tmp_path / "s.prototxt", tmp_path / "s.caffemodel").run(inputs)
    b = xnn.Model.load(tmp_path / "s.xnn").run(inputs)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    check(a["n"], ref.normalize(inputs["data"], scale, False, False, 0.01), "Normalize")
    check(a["p"], ref.prior_box((5, 6), (80, 96), [20.0, 40.0], [30.0, 60.0], [2.0, 3.0], False, True,
                                [0.1, 0.2, 0.3, 0.4], (70, 90), (14, 15), 0.4), "PriorBox")


# ============================================================================== bad input

def _load_error(text, weights=None) -> str:
    with pytest.raises(xnn.XnnError) as e:
        load(text, weights)
    return str(e.value)


PRIOR_ERRORS = [
    (prior_param(min_size=()), "min_size is missing"),
    (prior_param(min_size=(30.0, 40.0), max_size=(50.0,)), "1 max_size values for 2 min_size"),
    (prior_param(max_size=(20.0,)), "max_size 20 must be larger than min_size 30"),
    (prior_param(min_size=(-3.0,)), "min_size must be positive"),
    (prior_param(aspect_ratio=(0.0,)), "aspect_ratio must be positive"),
    (prior_param(variance=(0.1, 0.2, 0.3)), "3 variance values: give 1 or 4"),
    (prior_param(extra="img_size: 300 img_h: 300 img_w: 300"), "either img_size or img_h/img_w"),
    (prior_param(extra="step_h: 8"), "step_h and step_w must be given together"),
    (prior_param(extra="step: 0"), "step must be positive"),
    (prior_param(min_size=tuple(float(10 + i) for i in range(9))), "more than 8 min_size values"),
]


@pytest.mark.parametrize("param,message", PRIOR_ERRORS, ids=[m for _, m in PRIOR_ERRORS])
def test_prior_box_bad_params(param, message):
    text = net_text({"feat": (1, 2, 3, 3), "img": (1, 3, 30, 30)}, layer("pb", "PriorBox", ["feat", "img"], "out", param))
    err = _load_error(text)
    assert "'pb' (PriorBox)" in err and message in err, err


def test_prior_box_needs_4d_inputs():
    text = net_text({"feat": (1, 2, 3), "img": (1, 3, 30, 30)}, layer("pb", "PriorBox", ["feat", "img"], "out", prior_param()))
    err = _load_error(text)
    assert "'pb' (PriorBox)" in err and "must be 4-D" in err, err


def _det_text(loc_shape, conf_shape, prior_shape, param="num_classes: 3") -> str:
    return net_text({"loc": loc_shape, "conf": conf_shape, "prior": prior_shape},
                    layer("det", "DetectionOutput", ["loc", "conf", "prior"], "out", f"detection_output_param {{ {param} }}"))


DETECTION_ERRORS = [
    (_det_text((1, 40), (1, 30), (1, 2, 40), "share_location: true"), "num_classes is missing"),
    (_det_text((1, 44), (1, 30), (1, 2, 40)), "loc has 44 values per image; 10 priors need 40"),
    (_det_text((1, 40), (1, 33), (1, 2, 40)), "conf has 33 values per image; 10 priors need 30"),
    (_det_text((1, 40), (1, 30), (1, 2, 40), "num_classes: 3 share_location: false"), "10 priors need 120"),
    (_det_text((1, 40), (1, 30), (1, 3, 40)), "the priors (input 2) must be [1, 2, priors * 4]"),
    (_det_text((1, 40), (1, 30), (1, 2, 42)), "the priors (input 2) must be [1, 2, priors * 4]"),
    (_det_text((2, 40), (1, 30), (1, 2, 40)), "loc has 2 images and conf 1"),
    (_det_text((1, 40), (1, 30), (1, 2, 40), "num_classes: 3 nms_param { eta: 0 }"), "eta must be in (0, 1]"),
    (_det_text((1, 40), (1, 30), (1, 2, 40), "num_classes: 3 nms_param { nms_threshold: -0.1 }"), "nms_threshold must be"),
    (_det_text((1, 40), (1, 30), (1, 2, 40), "num_classes: 0"), "num_classes must be positive"),
    (_det_text((1, 40), (1, 30), (1, 2, 40), "num_classes: 3 code_type: 0"), "code_type 0"),
    (_det_text((1, 40), (1, 30), (1, 2, 40), "num_classes: 3 code_type: MIDDLE"), "'MIDDLE' for field 'code_type'"),
]


@pytest.mark.parametrize("text,message", DETECTION_ERRORS, ids=[m for _, m in DETECTION_ERRORS])
def test_detection_output_bad_input(text, message):
    err = _load_error(text)
    assert "'det'" in err and message in err, err


def test_detections_cannot_be_read_by_another_layer():
    text = _det_text((1, 40), (1, 30), (1, 2, 40)) + layer("r", "ReLU", "out", "relu")
    err = _load_error(text)
    assert "'r' (ReLU)" in err and "'det'" in err and "net output" in err, err


@pytest.mark.parametrize(
    "param,blobs,message",
    [
        ("norm_param { channel_shared: false }", [np.ones(3, np.float32)], "scale has 3 values, expected 4"),
        ("norm_param { channel_shared: true }", [np.ones(4, np.float32)], "channel_shared needs 1"),
        ("norm_param { eps: -1 }", [np.ones(1, np.float32)], "eps must be"),
        ("norm_param { channel_shared: true }", [], "the caffemodel has no blobs for this layer"),
    ],
)
def test_normalize_bad_input(param, blobs, message):
    text = net_text({"data": (1, 4, 3, 3)}, layer("nm", "Normalize", "data", "out", param))
    err = _load_error(text, {"nm": blobs} if blobs else None)
    assert "'nm' (Normalize)" in err and message in err, err


def _xnn_graph(op, attrs, inputs, shapes):
    from xnn.graph import Node

    names = [f"in{i}" for i in range(inputs)] + ["out"]
    return Graph(tensors=names, inputs=[(i, s) for i, s in enumerate(shapes)], outputs=[inputs],
                 nodes=[Node(name="bad", op=op, inputs=list(range(inputs)), outputs=[inputs], attrs=attrs)])


@pytest.mark.parametrize(
    "op,attrs,message",
    [
        ("PriorBox", {}, "attribute 'min_size' is required"),
        ("PriorBox", {"min_size": [float(i + 1) for i in range(9)]}, "at most 8"),
        ("PriorBox", {"min_size": [10.0], "variance": [0.1]}, "'variance' has 1 values, expected 4"),
        ("PriorBox", {"min_size": [10.0], "clip": [2]}, "'clip' value 2 is outside"),
        ("DetectionOutput", {"num_classes": [3], "code_type": [4]}, "'code_type' value 4 is outside"),
        ("DetectionOutput", {"num_classes": [3], "eta": [1.5]}, "eta must be in (0, 1]"),
        ("DetectionOutput", {}, "attribute 'num_classes' is required"),
    ],
)
def test_bad_xnn_attributes(tmp_path, op, attrs, message):
    shapes = [(1, 2, 3, 3), (1, 3, 30, 30)] if op == "PriorBox" else [(1, 40), (1, 30), (1, 2, 40)]
    _xnn_graph(op, attrs, len(shapes), shapes).save(tmp_path / "bad.xnn")
    with pytest.raises(xnn.XnnError) as e:
        xnn.Model.load(tmp_path / "bad.xnn")
    assert "'bad'" in str(e.value) and message in str(e.value), str(e.value)


# ============================================================================== drawing

def test_draw_boxes_and_captions():
    img = np.full((100, 200, 3), 7, np.uint8)
    dets = np.array([[0, 1, 0.9, 0.1, 0.3, 0.5, 0.9],    # drawn
                     [0, 2, 0.4, 0.6, 0.1, 0.9, 0.5],    # under the threshold
                     [1, 3, 0.95, 0.0, 0.0, 1.0, 1.0],   # another image
                     [0, -1, -1, -1, -1, -1, -1]], np.float32)
    out = xnn.detection.draw(img, dets[None, None], labels=["bg", "dog", "cat", "car"], threshold=0.5, thickness=2)
    assert out.dtype == np.uint8 and out.shape == img.shape and np.all(img == 7)  # a copy
    color = np.array(xnn.detection.label_color(1), np.uint8)
    changed = np.any(out != 7, axis=-1)
    # The rectangle's edges: rows 30-31 and 88-89, columns 20-21 and 98-99 over the box (x 20..100, y 30..90).
    for y, x in [(30, 60), (31, 60), (88, 60), (89, 60), (60, 20), (60, 21), (60, 98), (60, 99)]:
        assert np.all(out[y, x] == color), (y, x)
    assert not changed[50:80, 30:90].any(), "inside the box stays untouched"
    assert not changed[:, 110:].any(), "nothing for the detection under the threshold or of image 1"
    caption = changed[:30, 20:100]
    assert caption.any() and not changed[:30, 100:].any()  # caption above the box, starting at its left edge


def test_draw_clips_and_validates():
    img = np.zeros((40, 40, 3), np.uint8)
    out = xnn.detection.draw(img, np.array([[0, 5, 0.8, -0.5, -0.5, 1.5, 1.5]], np.float32))
    assert out.any()
    with pytest.raises(ValueError):
        xnn.detection.draw(np.zeros((40, 40), np.uint8), np.zeros((1, 7), np.float32))
    with pytest.raises(ValueError):
        xnn.detection.detections(np.zeros((3, 6), np.float32))


def test_predict_image_then_draw(ssd):
    """The README's flow: an RGB uint8 image through Model.predict, the detections as an array, drawn."""
    prototxt, caffemodel, _ = ssd
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    model = xnn.Model.load(prototxt, caffemodel)
    out = model.predict(image, mean=127.5, scale=1 / 127.5)
    dets = xnn.detection.detections(out)
    assert dets.dtype == np.float32 and dets.ndim == 2 and dets.shape[1] == 7 and len(dets) > 0
    drawn = xnn.detection.draw(image, dets, labels=[f"class{i}" for i in range(21)], threshold=0.0)
    assert drawn.shape == image.shape and np.any(drawn != image)
