"""Zero-cost proxies: scores of an untrained network from one minibatch (issue 13, point 3).

Each score has the signature ``score(model, images, labels) -> float``, where ``images`` is a normalized float
batch ``(N, C, H, W)`` and ``labels`` an int64 tensor ``(N,)``; higher means "predicted better" for all four.
The caller's model is never changed: every score works on a deep copy (weights, BatchNorm statistics and
gradients of ``model`` are left as they were).

Which layers count: the weights of ``nn.Conv2d`` and ``nn.Linear`` modules (the "prunable" layers of
Abdelfattah et al., ICLR 2021, §3), not biases and not BatchNorm.

Example:
    >>> from nasgen.data import load_dataset
    >>> from nasgen.spec import load_spec
    >>> from nasgen.train import zero_cost_scores
    >>> zero_cost_scores(load_spec("efficientnet-b0"), load_dataset(), seed=0)  # doctest: +SKIP
    {'synflow': 49.2, 'naswot': 690.5, 'grad_norm': 6885.2, 'snip': 15927.7}
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType

import torch
import torch.nn.functional as F
from torch import nn

from nasgen.config import ZERO_COST_SCORES as _SCORE_NAMES

__all__ = [
    "ZERO_COST_SCORES",
    "grad_norm",
    "naswot",
    "naswot_kernel",
    "snip",
    "synflow",
    "zero_cost_batch",
    "zero_cost_scores",
]

#: Activations whose input sign gives NASWOT's binary code (SiLU, GELU and Hardswish are > 0 exactly where
#: their input is > 0, as ReLU is).
_CODED_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.SiLU, nn.GELU, nn.Hardswish)


def _weighted_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def _check_batch(images: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    if images.dim() != 4:
        raise ValueError(f"images must be a batch (N, C, H, W), got shape {tuple(images.shape)}")
    if labels is not None and labels.shape != images.shape[:1]:
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")


def synflow(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """Synaptic flow of the network, in log space: ``log Σ_θ θ · ∂R/∂θ``.

    Tanaka et al., 2020 ("Pruning neural networks without any data by iteratively conserving synaptic flow",
    §5, Eq. 2) as a zero-cost proxy (Abdelfattah et al., ICLR 2021, §3): every parameter is replaced by its
    absolute value, the input is all ones of the batch's shape ``(1, C, H, W)`` (the data
    values are not used, only their shape), ``R = Σ model(1)`` and the score sums ``θ ⊙ ∂R/∂θ`` over the
    Conv2d/Linear weights. BatchNorm runs in eval mode with running mean 0 and variance 1, so it only scales by
    ``|γ|`` and shifts by ``|β|`` (Abdelfattah et al. drop BatchNorm for synflow); dropout and drop path are
    off. The sum is a product over layers, far beyond float32 for a deep network, so it is computed in
    float64 and its natural log is returned.

    Args:
        model: The network (left unchanged).
        images: A batch ``(N, C, H, W)``; only ``C, H, W`` are used.
        labels: Ignored (synflow uses no data).

    Returns:
        ``log(synflow)``; ``-inf`` when the flow is zero (e.g. a layer of zero weights), ``inf`` on overflow.

    Raises:
        ValueError: ``images`` is not 4-D.
    """
    _check_batch(images)
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
        for param in net.parameters():
            param.abs_()
    net.zero_grad(set_to_none=True)
    ones = torch.ones((1, *images.shape[1:]), dtype=torch.float64, device=images.device)
    net(ones).sum().backward()
    layers = [m for m in _weighted_layers(net) if m.weight.grad is not None]
    total = float(sum(float((m.weight.detach() * m.weight.grad).sum()) for m in layers))
    return math.log(total) if total > 0 else float("-inf")


def naswot_kernel(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """NASWOT's kernel ``K_H`` (Mellor et al., ICML 2021, §3, Eq. 2) of the batch, float64 ``(N, N)``.

    Each activation layer (ReLU, ReLU6, SiLU, GELU, Hardswish) gives image i a binary code ``c_i``: 1 where the
    activation's input is > 0. ``K[i, j]`` is the number of units where ``c_i`` and ``c_j`` agree
    (``N_A − Hamming(c_i, c_j)``), summed over the activation layers. The network runs once in train mode
    (batch statistics in BatchNorm, as at initialization in the paper's code) on a copy of ``model``.

    Args:
        model: The network (left unchanged).
        images: A batch ``(N, C, H, W)``.

    Raises:
        ValueError: ``images`` is not 4-D.
    """
    _check_batch(images)
    net = copy.deepcopy(model).train()
    n = images.shape[0]
    kernel = torch.zeros((n, n), dtype=torch.float64, device=images.device)

    def add_codes(module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        # A pre-hook sees the input before an in-place activation overwrites it.
        codes = (inputs[0].detach().reshape(n, -1) > 0).double()
        kernel.add_(codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T)

    handles = [m.register_forward_pre_hook(add_codes) for m in net.modules() if isinstance(m, _CODED_ACTIVATIONS)]
    try:
        with torch.no_grad():
            net(images)
    finally:
        for handle in handles:
            handle.remove()
    return kernel


def naswot(model: nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None) -> float:
    """NASWOT score (Mellor et al., ICML 2021, §3): ``log |det K_H|`` of :func:`naswot_kernel`.

    Args:
        model: The network (left unchanged).
        images: A batch ``(N, C, H, W)``; the paper uses N = 128.
        labels: Ignored (the score does not use labels).

    Returns:
        The log-determinant; ``-inf`` when two images share every code (a singular kernel).
    """
    _sign, logdet = torch.linalg.slogdet(naswot_kernel(model, images))
    return float(logdet)


def _loss_gradients(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> list[nn.Module]:
    """A train-mode copy of ``model`` after one cross-entropy backward pass; its Conv2d/Linear layers."""
    _check_batch(images, labels)
    net = copy.deepcopy(model).train()
    net.zero_grad(set_to_none=True)
    with torch.random.fork_rng(devices=[]):  # dropout and drop path draw from the global RNG
        torch.manual_seed(0)
        F.cross_entropy(net(images), labels).backward()
    return [m for m in _weighted_layers(net) if m.weight.grad is not None]


def grad_norm(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Sum over Conv2d/Linear layers of the Euclidean norm of the loss gradient of their weights.

    ``Σ_l ‖∂L/∂W_l‖₂`` with L the mean cross-entropy of the batch, the network in train mode (Abdelfattah et
    al., ICLR 2021, §3, "grad_norm").

    Args:
        model: The network (left unchanged).
        images: A batch ``(N, C, H, W)``.
        labels: Its labels ``(N,)``.

    Raises:
        ValueError: Shapes of ``images`` and ``labels`` do not match.
    """
    return float(sum(float(m.weight.grad.norm()) for m in _loss_gradients(model, images, labels)))


def snip(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """SNIP connection sensitivity summed over the network: ``Σ |W ⊙ ∂L/∂W|`` over Conv2d/Linear weights.

    Lee et al., ICLR 2019 ("SNIP: single-shot network pruning based on connection sensitivity", §4.1, Eq. 6,
    before normalization), summed over all weights as a zero-cost proxy (Abdelfattah et al., ICLR 2021, §3);
    L is the mean cross-entropy of the batch, the network in train mode.

    Args:
        model: The network (left unchanged).
        images: A batch ``(N, C, H, W)``.
        labels: Its labels ``(N,)``.

    Raises:
        ValueError: Shapes of ``images`` and ``labels`` do not match.
    """
    layers = _loss_gradients(model, images, labels)
    return float(sum(float((m.weight.detach() * m.weight.grad).abs().sum()) for m in layers))


#: The zero-cost scores by name, each ``score(model, images, labels) -> float``, higher = better; the names are
#: ``nasgen.config.ZERO_COST_SCORES`` (what ``--evaluator zero-cost:<score>`` accepts).
ZERO_COST_SCORES: Mapping[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = MappingProxyType(
    {"synflow": synflow, "naswot": naswot, "grad_norm": grad_norm, "snip": snip}
)
if tuple(ZERO_COST_SCORES) != _SCORE_NAMES:  # a score added here without its name in nasgen.config, or the reverse
    raise ImportError(f"zero-cost scores {tuple(ZERO_COST_SCORES)} do not match nasgen.config's {_SCORE_NAMES}")


def zero_cost_batch(dataset, resolution_px: int, *, batch_size: int = 64, seed: int = 0):
    """One seeded minibatch of ``dataset`` as the trainer feeds it: normalized float32 images and labels.

    Args:
        dataset: An :class:`~nasgen.data.ImageDataset`.
        resolution_px: Image size (px) of the batch.
        batch_size: Images in the batch (at most the dataset's size).
        seed: Seed of the draw (without replacement); the global RNG is not touched.

    Returns:
        ``(images (N, C, R, R) float32, labels (N,) int64)``.
    """
    from nasgen.data import channel_stats, images_at, labels_of, normalize

    images, labels = images_at(dataset, resolution_px), labels_of(dataset)
    index = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))[:batch_size]
    mean, std = (torch.tensor(v).view(1, -1, 1, 1) for v in channel_stats(dataset))
    return normalize(images[index], mean, std), labels[index]


def zero_cost_scores(
    spec,
    data,
    names: tuple[str, ...] | None = None,
    *,
    seed: int = 0,
    batch_size: int = 64,
    config=None,
    timings: dict[str, float] | None = None,
) -> dict[str, float]:
    """Zero-cost scores of ``spec`` at initialization, on the proxy's model and resolution.

    The model is the proxy's (:func:`~nasgen.train.evaluate_proxy`: the data's classes and channels, the
    proxy's resolution, initialization seeded by ``seed``) except that residual blocks are *not* zero-initialized:
    a zero BatchNorm γ would cut the gradient and the synaptic flow of every residual branch.

    Args:
        spec: The :class:`~nasgen.spec.ArchSpec`.
        data: A dataset (split as the proxy splits it) or a ``(train, val)`` pair; the batch is drawn from train.
            A streamed one (``load_dataset(folder)``) is first decoded into the proxy's cache, as by the proxy.
        names: Scores to compute (keys of :data:`ZERO_COST_SCORES`); ``None`` = all.
        seed: Seed of initialization and of the minibatch draw.
        batch_size: Images in the minibatch.
        config: The proxy recipe that sets the resolution; ``None`` = the CPU default.
        timings: When given, filled with each score's wall seconds (model building and batch drawing included
            in every score's time, as each would be run alone).

    Raises:
        KeyError: An unknown score name.
    """
    from nasgen.train._proxy import CPU_PROXY, _in_memory, _proxy_model, _split_once

    names = tuple(ZERO_COST_SCORES) if names is None else names
    unknown = [name for name in names if name not in ZERO_COST_SCORES]
    if unknown:
        raise KeyError(f"unknown zero-cost score {unknown[0]!r}; known: {', '.join(ZERO_COST_SCORES)}")
    config = (config or CPU_PROXY).replace(zero_init_residual=False)
    data = _in_memory(data, spec, config)  # a streamed folder: the proxy's cache, as evaluate_proxy
    train = data[0] if isinstance(data, tuple) else _split_once(data, 0)[0]
    scores: dict[str, float] = {}
    for name in names:
        start = time.perf_counter()
        model, resolution = _proxy_model(spec, train, config, seed)
        images, labels = zero_cost_batch(train, resolution, batch_size=batch_size, seed=seed)
        scores[name] = ZERO_COST_SCORES[name](model, images, labels)
        if timings is not None:
            timings[name] = time.perf_counter() - start
    return scores
