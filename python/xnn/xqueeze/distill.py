"""Fine-tuning of a compressed network by knowledge distillation from the uncompressed one.

The teacher is the network before compression; the student is the compressed network with its structure
frozen: every pruned weight stays zero (the masks) and every quantized weight stays on its layer's codebook
(the assignment of weights to centroids is fixed; a centroid's gradient is the sum of its weights', as in
Deep Compression). What trains: the codebooks' centroids, the Affine (BatchNorm) scales and shifts, the
biases, and the weights of layers that are neither pruned nor quantized.

No labels are needed: the teacher labels whatever images it is shown, so a few pictures cut into random
crops (random resized crops at a small training resolution, mirroring, colour jitter, mixup of two crops)
serve as training data. The loss is the KL divergence between the softened outputs (temperature ``T``,
scaled by ``T^2``) plus, optionally, the mean squared error of chosen intermediate tensors, each divided by
the teacher tensor's mean square (feature distillation: the student's blocks are told what to give, not
only the final answer, which matters most when there are few images).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from .torchnet import QuantizedWeight, TorchNet, torch

F = torch.nn.functional


@dataclasses.dataclass
class DistillOptions:
    """Settings of one distillation run (the ``distill`` step's JSON keys have the same names)."""

    steps: int = 100  #: optimizer steps (batches)
    batch: int = 32
    lr: float = 1e-3  #: Adam's peak learning rate (reached after a linear warmup, then a cosine decay to 0)
    lr_affine: float = 1e-4  #: the same for Affine scales and shifts and biases
    warmup: float = 0.1  #: share of the steps that warm up
    #: "fixed": each weight keeps its centroid, only the centroids train; "nearest": dense latent weights
    #: train (straight-through) and each weight takes the nearest centroid at every step (masks still fixed)
    assign: str = "fixed"
    temperature: float = 2.0
    kl: float = 1.0  #: weight of the KL term
    features: Dict[str, float] = dataclasses.field(default_factory=dict)  #: node-name pattern -> weight
    size: int = 0  #: square training resolution (0: the images' own)
    scale: Sequence[float] = (0.35, 1.0)  #: range of a random crop's share of the image's area
    jitter: float = 0.2  #: brightness/contrast jitter (relative)
    mixup: float = 0.5  #: share of the batches mixed with a shuffled copy of themselves
    seed: int = 0


class SnappedWeight(torch.nn.Module):
    """A codebook layer whose assignment may change: dense latent weights, each replaced in the forward pass
    by the nearest of the (trained) centroids, the gradient passing straight through to the latent weight;
    pruned weights stay zero."""

    def __init__(self, centroids: torch.Tensor, latent: torch.Tensor, mask: torch.Tensor, half: bool) -> None:
        super().__init__()
        self.centroids = torch.nn.Parameter(centroids.detach().clone())
        self.latent = torch.nn.Parameter(latent.detach().clone())
        self.register_buffer("mask", mask.detach().clone())
        self.half = half

    def assignment(self) -> torch.Tensor:
        c, order = torch.sort(self.centroids.detach())
        mids = (c[1:] + c[:-1]) / 2
        return order[torch.bucketize(self.latent.detach(), mids)]

    def forward(self) -> torch.Tensor:
        q = self.centroids[self.assignment()]
        return (q + (self.latent - self.latent.detach())) * self.mask


def trainable(net: TorchNet, assign: str = "fixed") -> List[List[torch.nn.Parameter]]:
    """Marks what distillation trains and returns it as two groups: codebook parameters (centroids, and with
    ``assign`` "nearest" the latent weights of :class:`SnappedWeight`, which replace the layers'
    :class:`QuantizedWeight`) and weights of dense layers; then Affine scales and shifts and biases. Dense
    copies that a codebook replaces do not train; masked dense weights stay masked by
    :meth:`TorchNet.apply_masks`."""
    if assign not in ("fixed", "nearest"):
        raise ValueError(f"distill: assign must be 'fixed' or 'nearest', not {assign!r}")
    main, affine = [], []
    for name, plist in net.weights.items():
        op = net.graph.node(name).op
        for slot, p in enumerate(plist):
            p.requires_grad_(not (slot == 0 and name in net.quantized))
            if p.requires_grad:
                (affine if op == "Affine" or slot > 0 else main).append(p)
    for name in list(net.quantized):
        q = net.quantized[name]
        if assign == "nearest" and isinstance(q, QuantizedWeight):
            net.quantized[name] = q = SnappedWeight(q.centroids, q(), q.mask, q.half)
        for p in q.parameters():
            p.requires_grad_(True)
            main.append(p)
    return [main, affine]


def freeze(net: TorchNet) -> None:
    """Back to fixed assignments: every :class:`SnappedWeight` becomes a :class:`QuantizedWeight` (centroids
    no weight uses are dropped) and nothing requires gradients."""
    for name in list(net.quantized):
        q = net.quantized[name]
        if isinstance(q, SnappedWeight):
            idx = q.assignment().numpy()
            kept = q.mask.numpy() > 0
            used = np.unique(idx[kept])
            remap = np.zeros(len(q.centroids), np.int64)
            remap[used] = np.arange(len(used))
            cents = q.centroids.detach().numpy()[used]
            net.quantized[name] = QuantizedWeight(cents, np.where(kept, remap[idx], 0), q.mask.numpy(), q.half)
    for p in net.parameters():
        p.requires_grad_(False)


def augment(x: torch.Tensor, opts: DistillOptions, gen: torch.Generator) -> torch.Tensor:
    """A batch of random resized crops of ``x`` (N, C, H, W) at ``opts.size``, mirrored half the time, with
    per-image brightness and contrast jitter (on normalized inputs: a gain and an offset), and mixup."""
    n, _, h, w = x.shape
    size = opts.size or h
    r = lambda *s: torch.rand(*s, generator=gen)  # noqa: E731
    lo, hi = opts.scale
    out = []
    for i in range(n):
        area = (lo + (hi - lo) * float(r(1))) * h * w
        aspect = math.exp((float(r(1)) - 0.5) * 2 * math.log(4 / 3))
        ch = int(min(h, max(8, round(math.sqrt(area / aspect)))))
        cw = int(min(w, max(8, round(math.sqrt(area * aspect)))))
        top = int(r(1) * (h - ch + 1))
        left = int(r(1) * (w - cw + 1))
        crop = x[i : i + 1, :, top : top + ch, left : left + cw]
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if float(r(1)) < 0.5:
            crop = crop.flip(3)
        out.append(crop)
    y = torch.cat(out)
    if opts.jitter:
        gain = 1 + opts.jitter * (2 * r(n, 1, 1, 1) - 1)
        shift = opts.jitter * (2 * r(n, y.shape[1], 1, 1) - 1)
        y = y * gain + shift
    if opts.mixup and float(r(1)) < opts.mixup:
        lam = 0.5 + 0.5 * r(n, 1, 1, 1)  # the first image dominates
        y = lam * y + (1 - lam) * y[torch.randperm(n, generator=gen)]
    return y


def _feature_ids(net: TorchNet, patterns: Dict[str, float]) -> Dict[int, float]:
    """Tensor id -> weight for the outputs of the nodes whose names match a pattern."""
    ids: Dict[int, float] = {}
    for pat, wt in patterns.items():
        hits = [n for n in net.graph.nodes if fnmatch.fnmatchcase(n.name, pat)]
        if not hits:
            raise ValueError(f"distill: no node matches the feature pattern {pat!r}")
        for n in hits:
            ids.setdefault(n.outputs[0], float(wt))
    return ids


def _outputs(net: TorchNet, x: torch.Tensor, keep: Sequence[int]) -> Dict[int, torch.Tensor]:
    """The logits (key -1: the input of a final Softmax, else the output) and the tensors ``keep`` of ``net``
    for input ``x``; other tensors are dropped as soon as nothing reads them."""
    g = net.graph
    out_id = g.outputs[0]
    last = g.nodes[-1]
    logits_id = last.inputs[0] if last.op == "Softmax" and last.outputs == [out_id] else out_id
    uses: Dict[int, int] = {}
    for i, n in enumerate(g.nodes):
        for t in n.inputs:
            uses[t] = i
    t: Dict[int, torch.Tensor] = {g.inputs[0][0]: x}
    got: Dict[int, torch.Tensor] = {}
    for i, n in enumerate(g.nodes):
        for tid, v in zip(n.outputs, net._node(n, [t[k] for k in n.inputs])):
            t[tid] = v
            if tid in keep:
                got[tid] = v
            if tid == logits_id:
                got[-1] = v.reshape(v.shape[0], -1)
        if -1 in got:
            break
        for k in n.inputs:
            if uses.get(k) == i:
                t.pop(k, None)
    return got


def distill_loss(student: Dict[int, torch.Tensor], teacher: Dict[int, torch.Tensor], features: Dict[int, float],
                 opts: DistillOptions) -> torch.Tensor:
    """KL of the softened outputs (times T^2) plus the weighted, normalized feature errors."""
    temp = opts.temperature
    s, t = student[-1], teacher[-1]
    loss = opts.kl * temp * temp * F.kl_div(F.log_softmax(s / temp, 1), F.log_softmax(t / temp, 1),
                                             reduction="batchmean", log_target=True)
    for tid, wt in features.items():
        ref = teacher[tid]
        loss = loss + wt * ((student[tid] - ref) ** 2).mean() / (ref ** 2).mean().clamp_min(1e-12)
    return loss


def distill(student: TorchNet, teacher: TorchNet, images: np.ndarray, opts: DistillOptions,
            progress: Optional[Callable[[int, str], object]] = None) -> List[float]:
    """Trains ``student`` (in place) to give ``teacher``'s outputs on augmented crops of ``images``
    (float32 N, C, H, W as the network takes them). Returns the loss of every step. ``progress(total, desc)``
    makes a bar with ``update(n)``, ``set_postfix_str(s)`` and ``close()`` (tqdm's)."""
    gen = torch.Generator().manual_seed(int(opts.seed))
    main, affine = trainable(student, opts.assign)
    for p in teacher.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam([{"params": main, "lr": opts.lr}, {"params": affine, "lr": opts.lr_affine}])
    warm = max(1, int(opts.warmup * opts.steps))

    def rate(k: int) -> float:
        if k < warm:
            return (k + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (k - warm) / max(1, opts.steps - warm)))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, rate)
    feats = _feature_ids(student, opts.features)
    keep = list(feats)
    pool = torch.from_numpy(np.ascontiguousarray(images, np.float32))
    bar = progress(opts.steps, "distill") if progress else None
    losses: List[float] = []
    for step in range(opts.steps):
        idx = torch.randint(len(pool), (opts.batch,), generator=gen)
        x = augment(pool[idx], opts, gen)
        with torch.no_grad():
            t = _outputs(teacher, x, keep)
        loss = distill_loss(_outputs(student, x, keep), t, feats, opts)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        student.apply_masks()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            if step % 10 == 0:
                bar.set_postfix_str(f"loss {np.mean(losses[-50:]):.4f}")
    if bar is not None:
        bar.close()
    freeze(student)
    return losses


def loss_on(student: TorchNet, teacher: TorchNet, images: np.ndarray, opts: DistillOptions, batch: int = 32) -> float:
    """The distillation loss of ``student`` on ``images`` as they are (no augmentation), averaged."""
    feats = _feature_ids(student, opts.features)
    total = 0.0
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = torch.from_numpy(np.ascontiguousarray(images[i : i + batch], np.float32))
            loss = distill_loss(_outputs(student, x, list(feats)), _outputs(teacher, x, list(feats)), feats, opts)
            total += float(loss) * len(x)
    return total / len(images)
