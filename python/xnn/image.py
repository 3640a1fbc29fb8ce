"""Image preprocessing for ``Model.predict``: uint8 HxWxC (RGB) to float NCHW."""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .errors import ShapeError


def resize_bilinear(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of an HxWxC array with half-pixel centres (as OpenCV's INTER_LINEAR upscaling)."""
    h, w = img.shape[:2]
    if (h, w) == (height, width):
        return img.astype(np.float32)

    def axis(n_in: int, n_out: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
        pos = np.clip(pos, 0, n_in - 1)
        lo = np.floor(pos).astype(np.int64)
        hi = np.minimum(lo + 1, n_in - 1)
        return lo, hi, (pos - lo).astype(np.float32)

    y0, y1, fy = axis(h, height)
    x0, x1, fx = axis(w, width)
    src = img.astype(np.float32)
    top = src[y0][:, x0] * (1 - fx)[None, :, None] + src[y0][:, x1] * fx[None, :, None]
    bot = src[y1][:, x0] * (1 - fx)[None, :, None] + src[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bot * fy[:, None, None]


def preprocess_image(
    img: np.ndarray,
    input_shape: Sequence[int],
    mean: Union[float, Sequence[float]] = 0.0,
    scale: float = 1.0,
    channel_order: Optional[str] = None,
    resize: bool = True,
    layout: str = "NCHW",
) -> np.ndarray:
    """Turns an RGB ``uint8`` image (HxWxC or HxW) into a ``(1, C, H, W)`` float32 array (``(1, H, W, C)``
    when ``layout`` is "NHWC", for a model whose ``input_shape`` is NHWC).

    Steps: resize to the input's H and W (bilinear; skipped if ``resize`` is False), reorder channels to
    ``channel_order`` ("RGB" or "BGR"; by default "BGR" for NCHW models, which come from Caffe, and "RGB"
    for NHWC ones, which come from Keras), subtract ``mean`` (scalar or per channel, in ``channel_order``),
    multiply by ``scale``.
    """
    if layout not in ("NCHW", "NHWC"):
        raise ValueError(f"layout must be 'NCHW' or 'NHWC', got {layout!r}")
    nhwc = layout == "NHWC"
    if img.dtype != np.uint8:
        raise ShapeError(f"an image must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3 or img.shape[2] not in (1, 3, 4):
        raise ShapeError(f"an image must be HxW or HxWxC with C in 1, 3, 4; got shape {img.shape}")
    if len(input_shape) != 4:
        raise ShapeError(f"the model input has shape {tuple(input_shape)}, not ({', '.join(layout)}): pass float data")
    height, width, channels = (int(d) for d in (input_shape[1:] if nhwc else (*input_shape[2:], input_shape[1])))
    if img.shape[2] == 4:
        img = img[:, :, :3]
    if img.shape[2] != channels:
        if channels == 1:
            img = np.round(img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32))[:, :, None]
        elif img.shape[2] == 1 and channels == 3:
            img = np.repeat(img, 3, axis=2)
        else:
            raise ShapeError(f"the image has {img.shape[2]} channels, the model expects {channels}")
    order = (channel_order or ("RGB" if nhwc else "BGR")).upper()
    if order not in ("RGB", "BGR"):
        raise ValueError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
    if resize:
        x = resize_bilinear(np.asarray(img), height, width)
    else:
        x = np.asarray(img, dtype=np.float32)
    if order == "BGR" and x.shape[2] == 3:
        x = x[:, :, ::-1]
    m = np.asarray(mean, dtype=np.float32).reshape(-1)
    if m.size not in (1, x.shape[2]):
        raise ValueError(f"mean has {m.size} values for {x.shape[2]} channels")
    x = (x - m) * np.float32(scale)
    return np.ascontiguousarray(x[None] if nhwc else x.transpose(2, 0, 1)[None], dtype=np.float32)
