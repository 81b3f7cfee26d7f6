"""Vision-language models fed timestamp-stamped frames, on our sparse attention kernels (attn="sparse").

Nothing heavy happens at import: public names load on first use (PEP 562), so `longlens.lvlm.VlmConfig` (the
CLI reads its defaults to build its parser) costs no torch import; models load on `load_vlm` /
`load_vlm_config`, kernels on first use.
"""
from __future__ import annotations

import importlib

_NAMES = {
    **dict.fromkeys(("Answer", "answer", "ground", "reflect", "visual_token_count", "yes_no_probs"),
                    "longlens.lvlm.infer"),
    **dict.fromkeys(("DEFAULT_MODEL", "SparsityConfig", "VlmConfig", "resolve_attention"), "longlens.lvlm.config"),
    **dict.fromkeys(("VLM", "load_vlm", "load_vlm_config"), "longlens.lvlm.load"),
    **dict.fromkeys(("parse_answer", "parse_choice", "parse_span"), "longlens.lvlm.parse"),
    **dict.fromkeys(("FORMATS", "LAYOUTS", "Prompt", "build_prompt", "format_stamp", "grounding_instruction",
                     "mc_instruction", "qa_instruction", "reflection_instruction", "to_inputs"),
                    "longlens.lvlm.prompts"),
    **dict.fromkeys(("ATTN_NAME", "FALLBACK", "SparsityStats", "attention_ran", "remove_sparse_attention",
                     "sparse_stats", "use_sparse_attention"), "longlens.lvlm.sparse"),
    **dict.fromkeys(("load_trained_lm", "local_text"), "longlens.lvlm.trained"),
}

__all__ = sorted(_NAMES)


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'longlens.lvlm' has no attribute {name!r}")
