"""Local Hugging Face model directories for training: the embedded model, converted once from
its GGUF, and tiny random-weight models (for tests) that share its tokenizer.

transformers can read the GGUF (with the `gguf` package), but a model loaded straight from GGUF
is flagged as quantized and refuses both training and `save_pretrained`. So we build a fresh
model from its config without `quantization_config`, load the dequantized state dict into it,
and save that once to a local cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from trainrisk.errors import TrainriskError
from trainrisk.models.embedded import EMBEDDED_NAME, embedded_gguf


def cache_dir() -> Path:
    """$TRAINRISK_CACHE, else ~/.cache/trainrisk."""
    return Path(os.environ.get("TRAINRISK_CACHE") or Path.home() / ".cache" / "trainrisk")


def _tokenizer_from_gguf(gguf: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)


def embedded_model_dir(force: bool = False) -> Path:
    """The embedded SmolLM2-135M-Instruct as a trainable HF directory, converted on first use."""
    target = cache_dir() / "models" / EMBEDDED_NAME
    if (target / "config.json").exists() and not force:
        return target
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM
    except ImportError:
        raise TrainriskError(
            "training needs torch and transformers: pip install 'trainrisk[train]' torch"
        ) from None
    gguf = embedded_gguf()
    quantized = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32
    )
    config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(quantized.state_dict(), strict=False)
    if unexpected or [m for m in missing if "lm_head" not in m]:
        raise TrainriskError(
            f"converting {gguf.name} failed: missing {missing}, unexpected {unexpected}"
        )
    if config.tie_word_embeddings:
        model.tie_weights()
    tokenizer = _tokenizer_from_gguf(gguf)
    # Write to a temporary folder first so an interrupted conversion never looks finished.
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".converting-"))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def tiny_model_dir(target: Path, hidden: int = 64, layers: int = 2, seed: int = 0) -> Path:
    """A random-weight Llama of a few hundred thousand parameters with the SmolLM2 tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    if (target / "config.json").exists():
        return target
    tokenizer = _tokenizer_from_gguf(embedded_gguf())
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target
