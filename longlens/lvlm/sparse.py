"""The `sparse` attention (attn="sparse"): a loaded transformers VLM's language model on our kernels.

- Softmax (causal) layers of the language model call `longlens.kernels.block_sparse_attention`, with the
  key blocks chosen by `longlens.kernels.select_blocks` (attention sinks + a local window + top-k by
  block score). It is registered under the name `ATTN_NAME` with transformers'
  `AttentionInterface.register` **together with** a mask function (`AttentionMaskInterface.register`):
  a custom attention without a mask function gets `attention_mask=None` and silently loses its causal
  mask. Our mask function returns `None` for a plain causal mask without padding (the kernel is causal
  by itself and nothing T x T is ever built), and a real boolean mask otherwise, in which case the
  layer falls back to PyTorch SDPA for that call (logged once; counted as dense in the stats).
- Gated DeltaNet layers (Qwen3.5, Qwen3-Next) call `longlens.kernels.chunk_gated_delta_rule` (prefill)
  and `recurrent_gated_delta_rule` (one-token decode) instead of transformers' torch reference.
  The layers look these functions up as globals of their modeling module; we replace those globals
  once by routers that call our kernels only inside a forward of a layer that `use_sparse_attention`
  hooked (a forward pre-hook switches a thread-local on, a forward hook with `always_call=True` switches
  it off). Every other model in the process keeps the original functions. `remove_sparse_attention`
  undoes everything.
- The vision tower keeps its own attention (non-causal, cu_seqlens): only the text config's
  `_attn_implementation` changes.

Which implementation our kernels run is the `kernels` argument ("auto" | "triton" | "reference", see
`longlens.kernels.dispatch`), passed down to every kernel call.

A Triton kernel is trusted only after its first-use self-check against its PyTorch twin
(`longlens.kernels.selfcheck`, once per kernel configuration and process). When a check fails, or a checked
kernel raises later, the model falls back to its stock attention for good (softmax layers: PyTorch SDPA; Gated
DeltaNet layers: transformers' torch functions), with one warning, and the answer still comes;
`attention_ran(model)` then says "sparse→sdpa fallback".
"""
from __future__ import annotations

import logging
import sys
import threading
import weakref
from dataclasses import dataclass, field, fields
from functools import partial

import torch

from longlens.core.errors import InputError
from longlens.core.registry import KERNEL_BACKENDS
from longlens.lvlm.config import SparsityConfig

log = logging.getLogger(__name__)

ATTN_NAME = "longlens_sparse"
FALLBACK = "sparse→sdpa fallback"  # what `attention_ran` says once a model fell back to stock attention
_GDN_FUNCS = {
    "torch_chunk_gated_delta_rule": "chunk_gated_delta_rule",
    "torch_recurrent_gated_delta_rule": "recurrent_gated_delta_rule",
}


@dataclass
class SparsityStats:
    """Counts of (query block, key block) pairs, summed over layers, heads and batch, since `reset()`.

    `causal` counts the pairs a dense causal attention would compute; `visited` those the sparse layers
    computed. Prefill (a call with more than one query) and decode are kept apart. Visited counts may
    arrive as device tensors; they are summed on the host only when read (no sync per layer).
    """

    causal: int = 0
    prefill_causal: int = 0
    dense_calls: int = 0  # calls that fell back to dense SDPA (custom / padded masks)
    sparse_calls: int = 0
    linear_calls: int = 0  # Gated DeltaNet calls that ran on our kernels
    _visited: int = 0
    _prefill_visited: int = 0
    _pending: list = field(default_factory=list, repr=False)  # (count tensor, prefill)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def reset(self) -> None:
        with self._lock:
            self.causal = self.prefill_causal = self._visited = self._prefill_visited = 0
            self.dense_calls = self.sparse_calls = self.linear_calls = 0
            self._pending.clear()

    def add(self, visited, causal: int, *, prefill: bool, dense: bool = False) -> None:
        """Record one layer call: `visited` pairs (int or 0-d tensor) of `causal` visible ones."""
        with self._lock:
            if isinstance(visited, torch.Tensor):
                self._pending.append((visited, prefill))
                if len(self._pending) > 256:  # fold on the device: bounded memory, still no sync
                    folded = []
                    for flag in (True, False):
                        part = [c for c, p in self._pending if p is flag]
                        if part:
                            folded.append((torch.stack(part).sum(), flag))
                    self._pending = folded
            else:
                self._visited += visited
                self._prefill_visited += visited if prefill else 0
            self.causal += causal
            self.prefill_causal += causal if prefill else 0
            if dense:
                self.dense_calls += 1
            else:
                self.sparse_calls += 1

    def _flush(self) -> None:
        with self._lock:
            for count, prefill in self._pending:
                n = int(count.item())
                self._visited += n
                self._prefill_visited += n if prefill else 0
            self._pending.clear()

    @property
    def visited(self) -> int:
        self._flush()
        return self._visited

    @property
    def prefill_visited(self) -> int:
        self._flush()
        return self._prefill_visited

    @property
    def visited_fraction(self) -> float | None:
        """Fraction of causally visible key blocks the sparse layers visited (None before any call)."""
        return self.visited / self.causal if self.causal else None

    @property
    def prefill_visited_fraction(self) -> float | None:
        return self.prefill_visited / self.prefill_causal if self.prefill_causal else None

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}
        d.update(visited=self.visited, prefill_visited=self.prefill_visited)
        d["visited_fraction"] = self.visited_fraction
        d["prefill_visited_fraction"] = self.prefill_visited_fraction
        return d


@dataclass
class SparseState:
    """What `use_sparse_attention` attached to a model (as `model.longlens_sparse`)."""

    config: SparsityConfig
    kernels: str
    stats: SparsityStats
    softmax_layers: int
    linear_layers: int
    previous_attn: dict = field(default_factory=dict, repr=False)
    handles: list = field(default_factory=list, repr=False)
    fallback: str | None = None  # why the model fell back to stock attention (None: it did not)


def _fall_back(state: SparseState, why: str) -> None:
    """Switch the model to stock attention for good, with one warning naming the cause."""
    if state.fallback is None:
        state.fallback = why
        log.warning("our Triton attention kernels failed on this device (%s): the model falls back to its stock "
                    "attention (PyTorch SDPA; transformers' Gated DeltaNet functions); answers are unaffected, only "
                    "slower. Use kernels='reference' or attn='sdpa' to silence this.", why)


def _kernel_usable(state: SparseState | None, op: str, tensor: torch.Tensor, **sizes) -> bool:
    """Whether this call may run our kernel `op`: not after a fallback; on Triton only once its self-check passed."""
    from longlens.kernels import backend_for, selfcheck

    if state is None:
        return True
    if state.fallback is not None:
        return False
    if backend_for(tensor, backend=state.kernels) != "triton":
        return True
    verdict = selfcheck.check(op, device=tensor.device, dtype=tensor.dtype, **sizes)
    if not verdict.ok:
        _fall_back(state, f"{op} self-check: {verdict.reason}")
    return verdict.ok


def _on_triton(state: SparseState | None, tensor: torch.Tensor) -> bool:
    from longlens.kernels import backend_for

    return state is not None and backend_for(tensor, backend=state.kernels) == "triton"


# ---------------------------------------------------------------- block accounting


def causal_block_pairs(q_len: int, k_len: int, block_size: int) -> int:
    """Number of (query block, key block) pairs a causal attention touches, queries = last q_len keys.

    Blocks follow absolute positions as in `select_blocks`: query block r is absolute block
    a = (k_len - q_len) // block_size + r and sees key blocks 0..a.
    """
    n_k = -(-k_len // block_size)
    a0 = (k_len - q_len) // block_size
    return (n_k * (n_k + 1) - a0 * (a0 + 1)) // 2


# ---------------------------------------------------------------- softmax layers


def stock_attention(module, query, key, value, attention_mask, scaling, **kwargs):
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling, **kwargs)


_warned: set[str] = set()


def warn_once(key: str, msg: str, *args) -> None:
    if key not in _warned:
        _warned.add(key)
        log.warning(msg, *args)


def sparse_attention_forward(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    is_causal: bool | None = None,
    **kwargs,
) -> tuple[torch.Tensor, None]:
    """transformers attention interface: query [B, Hq, Tq, D], key/value [B, Hkv, Tk, D] -> ([B, Tq, Hq, D], None).

    Causal layers without a materialized mask run block-sparse; anything else runs dense SDPA.
    """
    from longlens.kernels import block_sparse_attention, select_blocks

    state: SparseState | None = getattr(module, "longlens_sparse", None)
    cfg = state.config if state is not None else SparsityConfig()
    backend = state.kernels if state is not None else KERNEL_BACKENDS.default
    causal = is_causal if is_causal is not None else getattr(module, "is_causal", True)
    q_len, k_len = query.shape[2], key.shape[2]
    sizes = dict(group=query.shape[1] // key.shape[1], head_dim=query.shape[3], block_size=cfg.block_size)
    if (kwargs.get("softcap") is not None or kwargs.get("position_bias") is not None or not causal
            or attention_mask is not None or k_len < cfg.dense_below
            or not _kernel_usable(state, "block_sparse_attention", query, **sizes)):
        if attention_mask is not None:
            warn_once("mask", "sparse attention got a materialized mask (padding or a custom mask): dense SDPA "
                               "for such calls")
        elif not causal:
            warn_once("noncausal", "sparse attention got a non-causal layer (%s): dense SDPA", type(module).__name__)
        out = stock_attention(module, query, key, value, attention_mask, scaling, dropout=dropout, is_causal=is_causal,
                              **kwargs)
        if state is not None:
            n = causal_block_pairs(q_len, k_len, cfg.block_size) * query.shape[0] * query.shape[1]
            state.stats.add(n, n, prefill=q_len > 1, dense=True)
        return out
    q = query.transpose(1, 2)  # [B, Tq, Hq, D]
    k = key.transpose(1, 2)  # [B, Tk, Hkv, D]
    v = value.transpose(1, 2)
    sel = dict(block_size=cfg.block_size, sink_blocks=cfg.sink_blocks, window_blocks=cfg.window_blocks,
               topk_blocks=cfg.topk_blocks)
    block_mask = select_blocks(q, k, causal=True, **sel)  # bool [B, Hq, nQ, nK]
    try:
        out = block_sparse_attention(q, k, v, causal=True, scale=scaling, block_mask=block_mask, backend=backend,
                                     **sel)
    except Exception as e:  # noqa: BLE001 - a self-checked Triton kernel failing at another shape: stock attention
        if not _on_triton(state, query):
            raise
        _fall_back(state, f"block_sparse_attention raised {type(e).__name__}: {e}")
        return sparse_attention_forward(module, query, key, value, attention_mask, dropout, scaling, is_causal,
                                        **kwargs)
    if state is not None:
        batch, heads = query.shape[0], query.shape[1]
        state.stats.add(
            block_mask.sum(),
            causal_block_pairs(q_len, k_len, cfg.block_size) * batch * heads,
            prefill=q_len > 1,
        )
    return out, None


def sparse_mask(
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: int = 0,
    kv_offset: int = 0,
    mask_function=None,
    attention_mask: torch.Tensor | None = None,
    **kwargs,
) -> torch.Tensor | None:
    """transformers mask interface: None for a plain causal mask with the queries last and no padding.

    Anything else (padding, sliding windows, packed sequences, custom overlays) is materialized by
    transformers' `sdpa_mask` as a bool [B, 1, Tq, Tk] mask, which sends the layer to dense SDPA.
    """
    from transformers.masking_utils import causal_mask_function, prepare_padding_mask, sdpa_mask

    mask_function = mask_function or causal_mask_function
    padding = prepare_padding_mask(attention_mask, kv_length, kv_offset)
    no_padding = padding is None or bool(padding.all())
    queries_last = int(q_offset) + q_length == int(kv_offset) + kv_length
    if mask_function is causal_mask_function and no_padding and queries_last:
        return None
    kwargs.pop("allow_is_causal_skip", None)
    return sdpa_mask(
        batch_size,
        q_length,
        kv_length,
        q_offset=q_offset,
        kv_offset=kv_offset,
        mask_function=mask_function,
        attention_mask=attention_mask,
        allow_is_causal_skip=False,
        **kwargs,
    )


def register() -> str:
    """Register `ATTN_NAME` with transformers (attention + its mask function, always together). Idempotent."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface

    AttentionInterface.register(ATTN_NAME, sparse_attention_forward)
    AttentionMaskInterface.register(ATTN_NAME, sparse_mask)
    return ATTN_NAME


# ---------------------------------------------------------------- Gated DeltaNet layers

_active = threading.local()  # .ops: dict name -> our kernel, while a hooked layer runs
_routed_modules: dict[str, dict[str, object]] = {}  # python module name -> {global name: original}
_hooked = weakref.WeakSet()  # Gated DeltaNet layers currently on our kernels


def _gdn_sizes(args, kwargs) -> tuple[torch.Tensor, dict]:
    """(query, the self-check sizes) of a gated-delta-rule call (query, key, value, ... positional or named)."""
    query = args[0] if args else kwargs["query"]
    value = args[2] if len(args) > 2 else kwargs["value"]
    return query, dict(group=value.shape[2] // query.shape[2], key_dim=query.shape[3], value_dim=value.shape[3])


def _router(name: str, original):
    def route(*args, **kwargs):
        ops = getattr(_active, "ops", None)
        if ops is None:
            return original(*args, **kwargs)
        state = getattr(_active, "state", None)
        query, sizes = _gdn_sizes(args, kwargs)
        if not _kernel_usable(state, _GDN_FUNCS[name], query, **sizes):
            return original(*args, **kwargs)
        try:
            out = ops[name](*args, **kwargs)  # same signature as transformers' (extra kwargs ignored)
        except Exception as e:  # noqa: BLE001 - a self-checked Triton kernel failing at another shape
            if not _on_triton(state, query):
                raise
            _fall_back(state, f"{_GDN_FUNCS[name]} raised {type(e).__name__}: {e}")
            return original(*args, **kwargs)
        if state is not None:
            with state.stats._lock:
                state.stats.linear_calls += 1
        return out

    route.longlens_original = original
    route.__name__ = f"longlens_{name}"
    return route


def _install_routers(module_name: str) -> None:
    if module_name in _routed_modules:
        return
    mod = sys.modules[module_name]
    originals = {}
    for name in _GDN_FUNCS:
        fn = getattr(mod, name, None)
        if fn is None:
            raise InputError(f"{module_name} has no {name}: "
                             "this transformers version's Gated DeltaNet is not supported")
        originals[name] = fn
        setattr(mod, name, _router(name, fn))
    _routed_modules[module_name] = originals
    log.debug("routed %s Gated DeltaNet functions through longlens", module_name)


def _uninstall_routers_if_unused() -> None:
    if len(_hooked):
        return
    for module_name, originals in _routed_modules.items():
        mod = sys.modules.get(module_name)
        for name, fn in originals.items():
            if mod is not None:
                setattr(mod, name, fn)
    _routed_modules.clear()


def _is_gated_deltanet(module: torch.nn.Module) -> bool:
    mod = sys.modules.get(type(module).__module__)
    return type(module).__name__.endswith("GatedDeltaNet") and all(hasattr(mod, n) for n in _GDN_FUNCS)


def _hook_linear(module: torch.nn.Module, state: SparseState) -> list:
    import longlens.kernels as ours

    ops = {name: partial(getattr(ours, mine), backend=state.kernels) for name, mine in _GDN_FUNCS.items()}
    _install_routers(type(module).__module__)

    def on(_mod, _args, _kwargs):
        _active.ops, _active.state = ops, state

    def off(_mod, _args, _kwargs, _out):
        _active.ops = _active.state = None

    _hooked.add(module)
    return [
        module.register_forward_pre_hook(on, with_kwargs=True),
        module.register_forward_hook(off, with_kwargs=True, always_call=True),
    ]


# ---------------------------------------------------------------- entry points


def text_config_key(model) -> tuple[str | None, object]:
    """(sub-config key of the language model or None for a text-only model, that config)."""
    config = model.config
    text = config.get_text_config()
    if text is config:
        return None, text
    for key in getattr(config, "sub_configs", {}):
        if getattr(config, key, None) is text:
            return key, text
    raise InputError(f"{type(model).__name__}: cannot find the language model's sub-config")


def softmax_attention_modules(model, text_config) -> list[torch.nn.Module]:
    """Attention modules of the language model (they hold the text config; the vision tower's don't)."""
    found = []
    for module in model.modules():
        if (getattr(module, "config", None) is text_config and hasattr(module, "layer_idx")
                and hasattr(module, "is_causal")):
            if any(hasattr(module, p) for p in ("q_proj", "qkv_proj", "qkv")):
                found.append(module)
    return found


def use_sparse_attention(model, sparsity: SparsityConfig | None = None, *, kernels: str = KERNEL_BACKENDS.default):
    """Run `model`'s language model on our kernels, in place; returns `model`.

    Softmax layers: block-sparse attention keeping `sparsity.sink_blocks` first key blocks, the
    `window_blocks` latest and the `topk_blocks` best-scoring others (blocks of `block_size` tokens; default
    `SparsityConfig()`). Gated DeltaNet layers (if any): our chunked / recurrent gated-delta-rule kernels.
    `kernels`: which implementation they run ("auto" | "triton" | "reference"). The vision tower is untouched.
    Calling it again replaces the settings. Per-request counters: `sparse_stats(model)`.
    """
    cfg = sparsity or SparsityConfig()
    KERNEL_BACKENDS.check(kernels)
    if getattr(model, "longlens_sparse", None) is not None:
        remove_sparse_attention(model)
    register()
    key, text_config = text_config_key(model)
    softmax = softmax_attention_modules(model, text_config)
    linear = [m for m in model.modules() if _is_gated_deltanet(m)]
    if not softmax and not linear:
        raise InputError(f"{type(model).__name__}: found no language-model attention layers to run on our kernels")
    stats = SparsityStats()
    state = SparseState(cfg, kernels, stats, len(softmax), len(linear),
                        previous_attn={key: text_config._attn_implementation})
    model.set_attn_implementation(ATTN_NAME if key is None else {key: ATTN_NAME})
    if text_config._attn_implementation != ATTN_NAME:
        raise InputError(f"{type(model).__name__} refused attn_implementation={ATTN_NAME!r}")
    for m in softmax:
        m.longlens_sparse = state
    for m in linear:
        state.handles += _hook_linear(m, state)
    model.longlens_sparse = state
    log.info("sparse attention on %s: %d softmax layers block-sparse %s, %d Gated DeltaNet layers on our kernels "
             "(kernels=%s)", type(model).__name__, len(softmax), cfg, len(linear), kernels)
    return model


def remove_sparse_attention(model):
    """Undo `use_sparse_attention`: previous attention implementation, original Gated DeltaNet functions."""
    state: SparseState | None = getattr(model, "longlens_sparse", None)
    if state is None:
        return model
    for h in state.handles:
        h.remove()
    for m in model.modules():
        if getattr(m, "longlens_sparse", None) is state and m is not model:
            del m.longlens_sparse
        _hooked.discard(m)
    (key, previous), = state.previous_attn.items()
    model.set_attn_implementation(previous if key is None else {key: previous})
    del model.longlens_sparse
    _uninstall_routers_if_unused()
    return model


def attention_ran(model, configured: str = "sdpa") -> str:
    """What attention `model` runs: "sparse" (our kernels), `FALLBACK` once they failed on this device and the
    model went back to stock attention, else the stock attention it was `configured` with ("sdpa" / "eager")."""
    state: SparseState | None = getattr(model, "longlens_sparse", None)
    if state is None:
        return configured
    return FALLBACK if state.fallback is not None else "sparse"


def sparse_stats(model) -> SparsityStats | None:
    """The per-request counters of a model on `sparse` attention, or None."""
    state = getattr(model, "longlens_sparse", None)
    return state.stats if state is not None else None
