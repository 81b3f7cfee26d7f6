"""Pieces shared by the ops: argument checks, the online-softmax Triton pieces of the softmax-attention kernels,
and the whole linear-attention family (linear attention and the gated delta rule): its Triton kernels (per-chunk
states, chunk outputs, WY preparation, recurrent steps), their PyTorch twins and the one entry that dispatches."""
