"""How `ask` answers: one dataclass of plain values, light to import (the CLI reads its defaults to build
its parser without importing torch or the models)."""
from __future__ import annotations

from dataclasses import dataclass

from longlens.core.errors import InputError
from longlens.core.registry import ANSWERERS, ATTENTION, KERNEL_BACKENDS, SELECTORS

FRAMES = 32  # the VLM's frame budget when none is asked for

# The options only the VLM path uses, by field name, as the CLI spells them.
VLM_OPTIONS = {"frames": "--frames", "selector": "--selector", "zoom": "--zoom", "reflect": "--reflect"}


@dataclass(frozen=True)
class AskConfig:
    """The options of `ask`. An option left at None means "not asked for"; its value then comes from the
    default named beside it.

    answerer: core.registry.ANSWERERS: "lvlm" (the VLM shown timestamp-stamped frames), "extractive" (the
      on-screen text itself, no generative model), "auto" (the VLM when one loads, else extractive).
    frames: the VLM's frame budget (None: FRAMES).
    selector: how the frames are chosen from the score curve, core.registry.SELECTORS (None: its default).
    zoom: coarse-to-fine search (re-decoding denser frames in promising windows) instead of one pass.
    reflect: TimeSearch-style reflection: the VLM rates the best candidate windows, and its P(yes) reranks
      the score curve before the frames are chosen.
    model / attn / kernels: the VLM to load (hub id or folder), its attention (core.registry.ATTENTION) and
      kernel backend (core.registry.KERNEL_BACKENDS); None: longlens.lvlm.VlmConfig's defaults (`vlm_config`).

    Combinations that could not be honoured are refused with an InputError naming the options, never
    silently ignored (issue 11, bug 2):
    - the extractive answerer reads on-screen text; it shows no frames to a model, so a frame budget, a
      selector, zoom and reflection (a VLM's judgement) mean nothing to it;
    - zoom picks its frames with TASS from its own pool of re-decoded frames: a different selector cannot
      apply to that pool;
    - reflection reranks the one-pass score curve, which zoom replaces with its own coarse-to-fine curve: its
      VLM calls would be spent and their result thrown away.
    Under "auto" the same options need the VLM: when none can be loaded, `ask` refuses them rather than
    answering extractively without them (see `extractive_conflicts`).
    """

    answerer: str = ANSWERERS.default
    frames: int | None = None
    selector: str | None = None
    zoom: bool = False
    reflect: bool = False
    model: str | None = None
    attn: str | None = None
    kernels: str | None = None

    def __post_init__(self) -> None:
        ANSWERERS.check(self.answerer)
        if self.selector is not None:
            SELECTORS.check(self.selector)
        if self.attn is not None:
            ATTENTION.check(self.attn)
        if self.kernels is not None:
            KERNEL_BACKENDS.check(self.kernels)
        if self.frames is not None and (not isinstance(self.frames, int) or isinstance(self.frames, bool)
                                        or self.frames < 1):
            raise InputError(f"frames must be a whole number >= 1, got {self.frames!r}")
        if self.answerer == "extractive" and self.vlm_options():
            raise InputError(self.extractive_conflicts())
        if self.zoom and self.selector not in (None, "tass"):
            raise InputError(f"--zoom chooses its frames with TASS from the frames it re-decodes; "
                             f"--selector {self.selector} cannot be combined with --zoom")
        if self.zoom and self.reflect:
            raise InputError("--reflect reranks the one-pass score curve, which --zoom replaces with its own "
                             "coarse-to-fine search: use --zoom or --reflect, not both")

    def vlm_config(self):
        """The longlens.lvlm.VlmConfig of the VLM to load: the fields given here, its defaults for the rest."""
        from longlens.lvlm.config import (
            VlmConfig,  # not at import: the CLI reads this module to build its parser
        )

        return VlmConfig(**{k: getattr(self, k) for k in ("model", "attn", "kernels") if getattr(self, k) is not None})

    @property
    def budget(self) -> int:
        return FRAMES if self.frames is None else self.frames

    @property
    def method(self) -> str:
        return SELECTORS.default if self.selector is None else self.selector

    def vlm_options(self) -> list[str]:
        """The VLM-only options asked for, as the CLI spells them."""
        return [flag for name, flag in VLM_OPTIONS.items() if getattr(self, name) not in (None, False)]

    def extractive_conflicts(self, why: str | None = None) -> str:
        """The message refusing this config's VLM-only options for an extractive answer (`why`: no VLM)."""
        flags = ", ".join(self.vlm_options())
        reason = f"no vision-language model could be loaded ({why}), and " if why else ""
        return (f"{reason}the extractive answerer reads on-screen text and shows no frames to a model: "
                f"{flags} cannot be used with it (drop {flags}, or give a VLM with --model)")
