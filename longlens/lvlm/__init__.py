"""Vision-language models fed timestamp-stamped frames, on our hybrid sparse/linear attention.

Nothing heavy happens at import: models load on `load_vlm`, kernels import on first use.
"""
from longlens.lvlm.answer import Answer, answer, ground, reflect, visual_token_count, yes_no_probs
from longlens.lvlm.hybrid import (
    ATTN_NAME,
    SparsityConfig,
    SparsityStats,
    hybrid_stats,
    remove_hybrid_attention,
    use_hybrid_attention,
)
from longlens.lvlm.load import DEFAULT_MODEL, VLM, ModelUnavailableError, load_vlm
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

__all__ = [
    "ATTN_NAME",
    "Answer",
    "DEFAULT_MODEL",
    "FORMATS",
    "LAYOUTS",
    "ModelUnavailableError",
    "Prompt",
    "SparsityConfig",
    "SparsityStats",
    "VLM",
    "answer",
    "build_prompt",
    "format_stamp",
    "ground",
    "grounding_instruction",
    "hybrid_stats",
    "load_vlm",
    "mc_instruction",
    "parse_answer",
    "parse_choice",
    "parse_span",
    "qa_instruction",
    "reflect",
    "reflection_instruction",
    "remove_hybrid_attention",
    "to_inputs",
    "use_hybrid_attention",
    "visual_token_count",
    "yes_no_probs",
]
