"""Vision-language models fed timestamp-stamped frames, on our sparse attention kernels (attn="sparse").

Nothing heavy happens at import: models load on `load_vlm` / `load_vlm_config`, kernels import on first use.
"""
from longlens.lvlm.answer import Answer, answer, ground, reflect, visual_token_count, yes_no_probs
from longlens.lvlm.config import DEFAULT_MODEL, SparsityConfig, VlmConfig
from longlens.lvlm.load import VLM, load_vlm, load_vlm_config
from longlens.lvlm.parse import parse_answer, parse_choice, parse_span
from longlens.lvlm.prompts import (
    FORMATS,
    LAYOUTS,
    Prompt,
    build_prompt,
    format_stamp,
    grounding_instruction,
    mc_instruction,
    qa_instruction,
    reflection_instruction,
    to_inputs,
)
from longlens.lvlm.sparse import ATTN_NAME, SparsityStats, remove_sparse_attention, sparse_stats, use_sparse_attention

__all__ = [
    "ATTN_NAME",
    "Answer",
    "DEFAULT_MODEL",
    "FORMATS",
    "LAYOUTS",
    "Prompt",
    "SparsityConfig",
    "SparsityStats",
    "VLM",
    "VlmConfig",
    "answer",
    "build_prompt",
    "format_stamp",
    "ground",
    "grounding_instruction",
    "load_vlm",
    "load_vlm_config",
    "mc_instruction",
    "parse_answer",
    "parse_choice",
    "parse_span",
    "qa_instruction",
    "reflect",
    "reflection_instruction",
    "remove_sparse_attention",
    "sparse_stats",
    "to_inputs",
    "use_sparse_attention",
    "visual_token_count",
    "yes_no_probs",
]
