"""Tiny real VLMs at random weights, with a tokenizer and processor made locally (no download).

Used by the tests and by `longlens bench lvlm` on machines without weights. The architectures are the
real transformers classes (Qwen3.5: Gated DeltaNet + attention; Qwen3-VL, Qwen2.5-VL) shrunk to a few layers; the
processors are the real Qwen image/video processor classes built from keyword arguments, and the
tokenizer is a small byte-level BPE trained on the spot with Qwen's special tokens and a Qwen-like
chat template. Nothing here touches the network.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

KINDS = ("qwen3_5", "qwen3_vl", "qwen2_5_vl")

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Qwen's chat layout: <|im_start|>role\n ... <|im_end|>\n, images and videos as vision placeholders.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for part in message['content'] -%}"
    "{%- if part['type'] == 'image' -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'video' -%}{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}"
    "{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)

# Text the BPE is trained on: the words our prompts and parsers use, so they tokenize compactly.
_CORPUS = [
    "The video lasts 3600.0 seconds. Each frame is preceded by its timestamp; timestamps are absolute.",
    "Yes No yes no Yes. No. Answer Yes or No. Does this clip contain the answer to the question?",
    "Select the best answer to the following multiple-choice question based on the video.",
    "Respond with only the letter (A, B, C, or D) of the correct option. The best answer is: A B C D E",
    "Give the start and end time in seconds. from 12.5 s to 30 s. [12.5, 30.0] 00:12-00:30 1:02:03",
    "<0.5s> <12.5s> <t0> <t99> <01:02> seconds> What is the vault code? The code is 8142.",
    "0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 25 30 40 50 60 100 . , : ; ( ) [ ] < >",
    "the a an of to in is was what where when who which how why person man woman door car red blue",
]


@dataclass
class TinySpec:
    """Sizes of a tiny model. `frame` is the side (px) of the square frames it is meant to see."""

    kind: str = "qwen3_5"
    hidden: int = 64
    layers: int = 4  # qwen3_5: 3 linear + 1 full with the default full_attention_interval 4
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 16
    vocab: int = 512
    vision_hidden: int = 32
    vision_depth: int = 1
    vision_heads: int = 2
    vision_positions: int = 64  # learned position grid of the Qwen3 vision towers (interpolated)
    intermediate: int | None = None  # MLP width (default 2 x hidden)
    linear_k_heads: int | None = None  # Gated DeltaNet heads / width (default kv_heads / heads / head_dim)
    linear_v_heads: int | None = None
    linear_head_dim: int | None = None
    seed: int = 0

    @property
    def patch(self) -> int:
        return 14 if self.kind == "qwen2_5_vl" else 16

    @property
    def frame(self) -> int:
        """Frame side that gives a 2x2 grid of merged tokens (4 visual tokens per frame or frame pair)."""
        return 4 * self.patch


def qwen35_08b_spec() -> TinySpec:
    """Qwen3.5-0.8B's shape as we understand its published config (24 layers, 3 Gated DeltaNet : 1 gated
    full attention, hidden 1024, 8 query / 2 KV heads of 256, 16 linear heads of 128, a 12-block vision
    tower), for speed figures at random weights. The vocabulary stays tiny: the tokenizer is ours."""
    return TinySpec(
        kind="qwen3_5", hidden=1024, layers=24, heads=8, kv_heads=2, head_dim=256, intermediate=3584,
        vision_hidden=768, vision_depth=12, vision_heads=12, vision_positions=2304,
        linear_k_heads=16, linear_v_heads=16, linear_head_dim=128,
    )


def tiny_tokenizer(vocab: int = 512):
    """A byte-level BPE tokenizer with Qwen's special tokens, as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens={
            "image_token": "<|image_pad|>",
            "video_token": "<|video_pad|>",
            "vision_start_token": "<|vision_start|>",
            "vision_end_token": "<|vision_end|>",
        },
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_processor(spec: TinySpec):
    """The real Qwen processor class for `spec.kind`, with a tiny tokenizer and small frame budgets."""
    tok = tiny_tokenizer(spec.vocab)
    side = spec.frame
    image_size = {"shortest_edge": 4 * spec.patch * spec.patch, "longest_edge": 4 * side * side}
    if spec.kind in ("qwen3_5", "qwen3_vl"):
        from transformers import Qwen2VLImageProcessor, Qwen3VLProcessor, Qwen3VLVideoProcessor

        image = Qwen2VLImageProcessor(patch_size=16, merge_size=2, temporal_patch_size=2, size=image_size)
        video = Qwen3VLVideoProcessor(
            patch_size=16,
            merge_size=2,
            temporal_patch_size=2,
            size={"shortest_edge": side * side, "longest_edge": 4096 * side * side},
            cap_pixels_per_frame=False,
        )
        return Qwen3VLProcessor(image_processor=image, tokenizer=tok, video_processor=video,
                                chat_template=CHAT_TEMPLATE)
    if spec.kind == "qwen2_5_vl":
        from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

        image = Qwen2VLImageProcessor(patch_size=14, merge_size=2, temporal_patch_size=2, size=image_size)
        video = Qwen2VLVideoProcessor(patch_size=14, merge_size=2, temporal_patch_size=2)
        return Qwen2_5_VLProcessor(image_processor=image, tokenizer=tok, video_processor=video,
                                   chat_template=CHAT_TEMPLATE)
    raise ValueError(f"unknown tiny model kind {spec.kind!r}; choose from {KINDS}")


def tiny_config(spec: TinySpec, tok=None):
    """A transformers config of `spec.kind` at tiny size, with token ids matching `tok`."""
    tok = tok or tiny_tokenizer(spec.vocab)
    ids = {
        "image_token_id": tok.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tok.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tok.convert_tokens_to_ids("<|vision_start|>"),
        "vision_end_token_id": tok.convert_tokens_to_ids("<|vision_end|>"),
    }
    text = dict(
        vocab_size=spec.vocab,
        hidden_size=spec.hidden,
        intermediate_size=spec.intermediate or 2 * spec.hidden,
        num_hidden_layers=spec.layers,
        num_attention_heads=spec.heads,
        num_key_value_heads=spec.kv_heads,
        head_dim=spec.head_dim,
        max_position_embeddings=65536,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    vision = dict(
        depth=spec.vision_depth,
        hidden_size=spec.vision_hidden,
        intermediate_size=4 * spec.vision_hidden,
        num_heads=spec.vision_heads,
        out_hidden_size=spec.hidden,
        patch_size=spec.patch,
        spatial_merge_size=2,
        temporal_patch_size=2,
    )
    if spec.kind == "qwen3_5":
        from transformers import Qwen3_5Config

        rotary_half = int(spec.head_dim * 0.25) // 2
        text.update(
            linear_key_head_dim=spec.linear_head_dim or spec.head_dim,
            linear_value_head_dim=spec.linear_head_dim or spec.head_dim,
            linear_num_key_heads=spec.linear_k_heads or spec.kv_heads,
            linear_num_value_heads=spec.linear_v_heads or spec.heads,
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 10_000_000.0,
                "partial_rotary_factor": 0.25,
                "mrope_interleaved": True,
                "mrope_section": _split3(rotary_half),
            },
        )
        vision.update(num_position_embeddings=spec.vision_positions)
        return Qwen3_5Config(text_config=text, vision_config=vision, **ids)
    if spec.kind == "qwen3_vl":
        from transformers import Qwen3VLConfig

        text.update(
            rope_parameters={
                "rope_type": "default",
                "rope_theta": 5_000_000.0,
                "mrope_interleaved": True,
                "mrope_section": _split3(spec.head_dim // 2),
            }
        )
        vision.update(num_position_embeddings=spec.vision_positions, deepstack_visual_indexes=[0])
        return Qwen3VLConfig(text_config=text, vision_config=vision, **ids)
    if spec.kind == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig

        text.update(rope_parameters={"rope_type": "default", "rope_theta": 1_000_000.0,
                                     "mrope_section": _split3(spec.head_dim // 2)})
        vision.update(window_size=56, fullatt_block_indexes=[spec.vision_depth - 1], hidden_act="silu")
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, **ids)
    raise ValueError(f"unknown tiny model kind {spec.kind!r}; choose from {KINDS}")


def _split3(n: int) -> list[int]:
    """Split n rotary frequency pairs over (time, height, width) like Qwen does (time gets the rest)."""
    hw = n // 4 if n >= 4 else 0
    return [n - 2 * hw, hw, hw]


def tiny_model(spec: TinySpec, tok=None, *, attn: str = "sdpa"):
    """A randomly initialized AutoModelForImageTextToText of `spec` in fp32 eval mode."""
    import torch
    from transformers import AutoModelForImageTextToText

    config = tiny_config(spec, tok)
    torch.manual_seed(spec.seed)
    model = AutoModelForImageTextToText.from_config(config, attn_implementation=attn, dtype=torch.float32)
    return model.eval()


def save_tiny(path, spec: TinySpec | None = None) -> str:
    """Write a tiny model + processor to the new directory `path` (loadable by `load_vlm(path)`).

    Written into a temporary directory beside it and renamed into place, so `path` is complete or absent.
    """
    import os
    import tempfile
    from pathlib import Path

    spec = spec or TinySpec()
    path = Path(path)
    if path.exists() and any(path.iterdir()):
        raise FileExistsError(f"{path} exists and is not empty")
    proc = tiny_processor(spec)
    model = tiny_model(spec, proc.tokenizer)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    model.save_pretrained(tmp)
    proc.save_pretrained(tmp)
    if path.exists():
        path.rmdir()
    os.replace(tmp, path)
    return str(path)
