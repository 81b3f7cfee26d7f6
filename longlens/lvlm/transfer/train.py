"""Per-layer attention transfer: fit a layer's `LearnedFeatures` so the hybrid layer matches dense attention.

The model stays frozen; only the maps train, one layer at a time on that layer's captured q, k, v (layers are
independent given the dense inputs, as in Hedgehog / LoLCATs stage 1). Each step samples `rows` query positions
past the first window (earlier queries see no linear branch and are exact already) and compares
`naive.attend` (the reference hybrid op, differentiable) on those rows over all earlier keys with dense causal
softmax. Memory per step: rows x T logits per head, so a few thousand tokens train on a CPU.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from longlens.core.errors import InputError
from longlens.core.progress import progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransferConfig:
    """window / sink: the hybrid layer the maps are trained for (use the same at inference). steps: Adam steps per
    layer, `rows` sampled query rows each, learning rate `lr`. width: each map's projection width M (F = 2M;
    default the head dim). eval_rows: fixed query rows the before/after errors are measured on. seed: sampling."""

    window: int = 512
    sink: int = 4
    steps: int = 300
    rows: int = 64
    lr: float = 1e-2
    width: int | None = None
    eval_rows: int = 256
    seed: int = 0


def sample_rows(T: int, n: int, cfg: TransferConfig, gen: torch.Generator) -> torch.Tensor:
    """n distinct sorted query positions in [window + sink, T) (all of them when fewer)."""
    first = cfg.window + cfg.sink
    if T <= first:
        raise InputError(f"attention transfer needs sequences longer than window + sink = {first}, got {T}")
    if T - first <= n:
        return torch.arange(first, T)
    return (first + torch.randperm(T - first, generator=gen)[:n]).sort().values


def dense_rows(q, k, v, qpos: torch.Tensor, scale: float) -> torch.Tensor:
    """Causal softmax attention of the query rows qpos of q [B, T, Hq, D] -> [B, R, Hq, D] fp32."""
    n = int(qpos.max()) + 1
    allowed = torch.arange(n)[None, :] <= qpos[:, None]
    qt, kt, vt = (x.float().transpose(1, 2) for x in (q[:, qpos], k[:, :n], v[:, :n]))
    out = torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, attn_mask=allowed, scale=scale,
                                                           enable_gqa=True)
    return out.transpose(1, 2)


def hybrid_rows(fmap, q, k, v, qpos: torch.Tensor, scale: float, cfg: TransferConfig) -> torch.Tensor:
    """The hybrid layer's outputs at query rows qpos (feature map `fmap`: LearnedFeatures or a fixed name)."""
    from longlens.kernels.ops.hybrid import HybridRule, naive
    from longlens.kernels.ops.hybrid.cache import start_state

    n = int(qpos.max()) + 1
    rule = HybridRule(cfg.window, cfg.sink, fmap, scale)
    state, normalizer = start_state(None, rule, k)
    return naive.attend(q[:, qpos], qpos, k[:, :n], v[:, :n], torch.arange(n), rule, state, normalizer)


def layer_errors(qkv, scale: float, cfg: TransferConfig, maps: dict, qpos: torch.Tensor) -> dict[str, float]:
    """MSE of each named feature map's hybrid output against dense attention at rows qpos (no grad)."""
    q, k, v = qkv
    with torch.no_grad():
        want = dense_rows(q, k, v, qpos, scale)
        return {name: float((hybrid_rows(m, q, k, v, qpos, scale, cfg) - want).square().mean())
                for name, m in maps.items()}


def train_layer(maps, qkv, scale: float, cfg: TransferConfig, gen: torch.Generator) -> list[float]:
    """Adam on `maps` (a LearnedFeatures) for cfg.steps steps; returns the per-step losses."""
    q, k, v = qkv
    opt = torch.optim.Adam(maps.parameters(), lr=cfg.lr)
    losses = []
    for _ in range(cfg.steps):
        b = int(torch.randint(q.shape[0], (1,), generator=gen))
        qpos = sample_rows(q.shape[1], cfg.rows, cfg, gen)
        sub = (q[b:b + 1], k[b:b + 1], v[b:b + 1])
        with torch.no_grad():
            want = dense_rows(*sub, qpos, scale)
        loss = (hybrid_rows(maps, *sub, qpos, scale, cfg) - want).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def attention_transfer(model, ids: torch.Tensor, cfg: TransferConfig | None = None, *,
                       eval_ids: torch.Tensor | None = None, show: bool | None = None):
    """Train `LayerMaps` for `model` (frozen) on token ids [B, T] (T > window + sink).

    Returns (maps, rows): one row per layer with the MSE against dense attention, on fixed rows of `eval_ids`
    (default: of `ids`), of the hybrid layer with no linear branch ("window"), with the untrained maps
    ("untrained") and with the trained ones ("trained"), and the seconds it took.
    """
    import time

    from longlens.lvlm.linearize import LayerMaps
    from longlens.lvlm.transfer.capture import capture_qkv

    cfg = cfg or TransferConfig()
    gen = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    maps = LayerMaps.for_model(model, cfg.width)
    train, scale = capture_qkv(model, ids)
    held = capture_qkv(model, eval_ids)[0] if eval_ids is not None else train
    held = [tuple(x[:1] for x in layer) for layer in held]
    qpos = sample_rows(held[0][0].shape[1], cfg.eval_rows, cfg, torch.Generator().manual_seed(cfg.seed + 1))
    rows = []
    for i in progress(range(len(train)), desc="attention transfer", unit="layer", show=show):
        t0 = time.perf_counter()
        before = layer_errors(held[i], scale, cfg, {"window": "none", "untrained": maps[i]}, qpos)
        losses = train_layer(maps[i], train[i], scale, cfg, gen)
        after = layer_errors(held[i], scale, cfg, {"trained": maps[i]}, qpos)
        row = {"layer": i, "mse_window": before["window"], "mse_untrained": before["untrained"],
               "mse_trained": after["trained"], "first_loss": losses[0] if losses else None,
               "last_loss": losses[-1] if losses else None, "seconds": time.perf_counter() - t0}
        log.info("attention transfer, layer %d: %s", i, row)
        rows.append(row)
        train[i] = held[i] = None  # free the layer's captures as we go
    maps.requires_grad_(False)
    return maps, rows
