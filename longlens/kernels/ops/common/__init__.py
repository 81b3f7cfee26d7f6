"""Pieces shared by the linear-attention family: input checks, block sizes, and the Triton kernels that
linear attention and the gated delta rule have in common (per-chunk states, chunk outputs, recurrent steps)."""
