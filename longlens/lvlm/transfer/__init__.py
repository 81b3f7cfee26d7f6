"""Attention transfer (Hedgehog / LoLCATs): train each softmax layer's hybrid feature maps so that the hybrid
layer reproduces the frozen model's dense attention outputs, then keep the maps beside the model.

- capture.py: one dense pass of the frozen model records every layer's post-RoPE q, k, v (`capture_qkv`).
- train.py: per layer, independently, Adam on the maps' parameters minimising the MSE between the hybrid
  layer's outputs and the dense ones on sampled query rows past the window (`attention_transfer`).
- store.py: save / load the maps as safetensors with the model's identity and a content hash.
Run the result with `longlens.lvlm.linearize.use_linearized_attention`.
"""
from longlens.lvlm.transfer.capture import capture_qkv
from longlens.lvlm.transfer.store import default_path, load_feature_maps, model_identity, save_feature_maps
from longlens.lvlm.transfer.train import TransferConfig, attention_transfer, layer_errors, train_layer

__all__ = ["capture_qkv", "attention_transfer", "layer_errors", "train_layer", "TransferConfig",
           "default_path", "save_feature_maps", "load_feature_maps", "model_identity"]
