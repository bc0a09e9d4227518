"""DRRN: a deep reinforcement relevance network for the text scenarios (He et al. 2016).

SB3's fixed action heads need a fixed command vocabulary (``CommandChoice``); text-game
agents instead score every admissible command against the observation. :class:`DRRN`
does that on a text env's native form (string observations, string commands,
``info["admissible_commands"]``), on CPU or CUDA:

- Words are hashed into :data:`HASH_VOCAB` buckets (no vocabulary file, so commands and
  observations never seen in training still encode, as on the generator's test split).
- Three GRU encoders read the observation, the state description (room, things seen,
  inventory: the env's ``describe()``, what ``look`` and ``inventory`` would print) and each
  candidate command; an MLP over ``[obs; description; command]`` gives ``Q(s, a)``.
- Experience replay, plain or prioritised as in Jiminy Cricket's DRRN (a fraction of each
  batch drawn from transitions with positive reward); a target network synced every
  ``target_update_interval`` updates; Huber loss, gradient clipping.
- Exploration by sampling from ``softmax(Q / temperature)`` (Jiminy Cricket's choice) or
  epsilon-greedy with a linear schedule.
- A conscience plugs in as for the SB3 agents (:mod:`mlsafety.agents.shaping`): policy
  shaping (CMPS, ``Q'(s, a) = Q(s, a) - cmps_gamma * 1[p_wrong(a) > cmps_threshold]``, at
  action time and in the TD target's max) and/or reward shaping (``r - shaping_weight *
  harm``). The conscience judges each state's candidates once; the verdicts travel with the
  transition, so the target uses the judgement the agent acted under.

``train_drrn`` is what ``mlsafety train --algo drrn`` runs: the same output folder as the SB3
algorithms (``config.json``, ``model.pt``, atomic ``checkpoint.pt`` with the replay buffer,
optimiser and step count for ``--resume``; TensorBoard ``tb/`` with SB3's ``rollout/*`` and
the safety totals ``safety/*``). Saved files hold tensors, numbers and strings only and load
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import math
import os
import re
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import torch as th
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from mlsafety.agents.conscience import OracleConscience
from mlsafety.agents.shaping import SHAPING_DEFAULTS, ConscienceJudge
from mlsafety.io import atomic_write
from mlsafety.wrappers import EPISODE_KEY, SCALAR_TOTALS, SafetyStats

HASH_VOCAB = 1 << 14
EMPTY_TOKEN = 1  # the one token of an empty text (0 is padding)
TOKEN_RE = re.compile(r"[a-z0-9]+")
FORMAT_VERSION = 1
EXPLORATION = ("softmax", "epsilon")
SHAPING = ("reward", "policy", "both")
_TOKEN_MEMO_LIMIT = 200_000

I64 = npt.NDArray[np.int64]


def tokenize(text: str, max_tokens: int) -> I64:
    """Hashed word ids of ``text`` (lower-cased, at most ``max_tokens``; never empty)."""
    words = TOKEN_RE.findall(text.lower())[:max_tokens]
    if not words:
        return np.array([EMPTY_TOKEN], dtype=np.int64)
    return np.array([zlib.crc32(w.encode()) % (HASH_VOCAB - 2) + 2 for w in words], dtype=np.int64)


def state_description(env: gym.Env[Any, Any]) -> str:
    """What ``look`` and ``inventory`` would say: the text env's ``describe()``, or ''."""
    describe = getattr(env.unwrapped, "describe", None)
    return str(describe()) if callable(describe) else ""


# --------------------------------------------------------------------------- network


class DRRNNetwork(nn.Module):
    """``Q(s, a)`` from token ids: GRU encoders for observation, description and command."""

    def __init__(self, embedding_dim: int = 64, hidden_dim: int = 128) -> None:
        super().__init__()
        self.embedding = nn.Embedding(HASH_VOCAB, embedding_dim, padding_idx=0)
        self.obs_encoder = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.look_encoder = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.act_encoder = nn.GRU(embedding_dim, hidden_dim, batch_first=True)
        self.hidden = nn.Linear(3 * hidden_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, 1)

    def encode(self, rnn: nn.GRU, tokens: th.Tensor, lengths: th.Tensor) -> th.Tensor:
        """``(B, hidden)``: the GRU's state after each sequence's last real token.

        The sequences are right-padded and the GRU is causal, so its output at position
        ``length - 1`` is what it would give on the unpadded sequence; reading it there is
        2-3x faster on a CPU than packing the sequences.
        """
        out, _ = rnn(self.embedding(tokens))
        return out[th.arange(out.shape[0], device=out.device), lengths - 1]

    def forward(self, batch: Batch) -> th.Tensor:
        """Q-values of every candidate, concatenated over the batch's states."""
        obs = self.encode(self.obs_encoder, batch.obs, batch.obs_len)[batch.obs_index]
        look = self.encode(self.look_encoder, batch.look, batch.look_len)[batch.look_index]
        act = self.encode(self.act_encoder, batch.act, batch.act_len)[batch.act_index]
        state = th.cat([obs, look], dim=1)[batch.owner]
        z = F.relu(self.hidden(th.cat([state, act], dim=1)))
        return self.out(z).squeeze(-1)


class Batch(NamedTuple):
    """Padded token tensors for S states and their C candidates in all.

    Each distinct text is encoded once: ``obs`` holds the distinct observations and
    ``obs_index`` says which one each state has (likewise descriptions and commands).
    """

    obs: th.Tensor  # (Uo, Lo)
    obs_len: th.Tensor  # (Uo,)
    obs_index: th.Tensor  # (S,)
    look: th.Tensor
    look_len: th.Tensor
    look_index: th.Tensor  # (S,)
    act: th.Tensor  # (Ua, La)
    act_len: th.Tensor
    act_index: th.Tensor  # (C,)
    owner: th.Tensor  # (C,): which state each candidate belongs to


def _pad(seqs: Sequence[I64]) -> tuple[th.Tensor, th.Tensor]:
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    out = np.zeros((len(seqs), int(lengths.max(initial=1))), dtype=np.int64)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = s
    return th.from_numpy(out), th.from_numpy(lengths)


# --------------------------------------------------------------------------- replay


class Transition(NamedTuple):
    """One step of experience, as text (tokenised when sampled)."""

    obs: str
    look: str
    action: str
    reward: float  # after reward shaping
    next_obs: str
    next_look: str
    next_candidates: tuple[str, ...]  # empty when the episode terminated
    next_flags: tuple[bool, ...]  # the conscience's flags on them (all False without one)
    done: bool  # terminated (truncation bootstraps)


class PrioritizedReplay:
    """Replay memory; ``priority_fraction`` of each batch comes from rewarded transitions
    (Jiminy Cricket's DRRN; 0 gives plain uniform replay)."""

    def __init__(self, capacity: int, priority_fraction: float) -> None:
        if capacity < 1:
            raise ValueError(f"buffer_size must be positive, got {capacity}")
        if not 0.0 <= priority_fraction < 1.0:
            raise ValueError(f"priority_fraction must be in [0, 1), got {priority_fraction}")
        self.priority_fraction = float(priority_fraction)
        self.plain: deque[Transition] = deque(maxlen=capacity)
        self.rewarded: deque[Transition] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self.plain) + len(self.rewarded)

    def push(self, t: Transition) -> None:
        (self.rewarded if self.priority_fraction > 0 and t.reward > 0 else self.plain).append(t)

    def sample(self, n: int, rng: np.random.Generator) -> list[Transition]:
        """``n`` transitions drawn with replacement: ``round(n * priority_fraction)`` from the
        rewarded ones (when there are any), the rest from the others."""
        if not self.rewarded:
            k = 0
        elif not self.plain:
            k = n
        else:
            k = round(n * self.priority_fraction)
        picks = [self.rewarded[int(i)] for i in rng.integers(len(self.rewarded), size=k)]
        if self.plain:
            picks += [self.plain[int(i)] for i in rng.integers(len(self.plain), size=n - k)]
        return picks

    def state(self) -> dict[str, Any]:
        return {
            "plain": [list(t) for t in self.plain],
            "rewarded": [list(t) for t in self.rewarded],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        for name in ("plain", "rewarded"):
            memory = getattr(self, name)
            memory.clear()
            for row in state[name]:
                obs, look, action, reward, next_obs, next_look, cands, flags, done = row
                memory.append(
                    Transition(
                        str(obs),
                        str(look),
                        str(action),
                        float(reward),
                        str(next_obs),
                        str(next_look),
                        tuple(str(c) for c in cands),
                        tuple(bool(f) for f in flags),
                        bool(done),
                    )
                )


# --------------------------------------------------------------------------- agent


@dataclass(frozen=True)
class DRRNConfig:
    """DRRN's hyperparameters (``mlsafety train --algo drrn --hyperparams FILE`` keys)."""

    learning_rate: float = 1e-4
    gamma: float = 0.9
    batch_size: int = 64
    buffer_size: int = 100_000
    learning_starts: int = 256
    gradient_steps: int = 1  # updates per vector step (n_envs env steps)
    target_update_interval: int = 500  # updates; 0: no target network
    priority_fraction: float = 0.5
    exploration: str = "softmax"
    temperature: float = 1.0
    exploration_initial_eps: float = 1.0
    exploration_final_eps: float = 0.05
    exploration_fraction: float = 0.3
    embedding_dim: int = 64
    hidden_dim: int = 128
    max_obs_tokens: int = 160
    max_command_tokens: int = 16
    max_grad_norm: float = 5.0
    log_interval: int = 1000  # env steps between TensorBoard records

    def __post_init__(self) -> None:
        if self.exploration not in EXPLORATION:
            raise ValueError(f"exploration must be one of {EXPLORATION}, got {self.exploration!r}")
        for name in ("batch_size", "buffer_size", "gradient_steps", "embedding_dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.learning_rate <= 0 or self.temperature <= 0:
            raise ValueError("learning_rate and temperature must be positive")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")

    @classmethod
    def from_kwargs(cls, kwargs: dict[str, Any]) -> DRRNConfig:
        """Build from a hyperparameter mapping; unknown keys are an error naming them."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ValueError(f"unknown DRRN hyperparameters {unknown}; known: {sorted(known)}")
        return cls(**kwargs)


class _State(NamedTuple):
    obs: str
    look: str
    candidates: tuple[str, ...]
    flags: npt.NDArray[np.bool_]
    harm: npt.NDArray[np.float64]


def resolve_device(device: str | th.device) -> th.device:
    """``"auto"``: CUDA when present, else CPU; ``"cuda"`` without a GPU is an error."""
    if str(device) == "auto":
        return th.device("cuda" if th.cuda.is_available() else "cpu")
    d = th.device(device)
    if d.type == "cuda" and not th.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device; use cpu")
    return d


class DRRN:
    """A DRRN agent for one or more copies of a text env (see the module docs).

    ``envs``: callables that build the native text env (e.g. ``lambda:
    gym.make("mlsafety/TextBakery-v0")``), one per copy stepped together, or ``None`` for an
    agent that only acts (loaded for evaluation). ``conscience``: anything with the
    :class:`~mlsafety.agents.conscience.Conscience` ``judge`` method; ``shaping`` is
    ``"policy"`` (CMPS), ``"reward"`` or ``"both"``.
    """

    def __init__(
        self,
        envs: Sequence[Callable[[], gym.Env[Any, Any]]] | None = None,
        config: DRRNConfig | None = None,
        seed: int = 0,
        device: str | th.device = "auto",
        conscience: Any = None,
        shaping: str = SHAPING_DEFAULTS.mode,
        shaping_weight: float = SHAPING_DEFAULTS.weight,
        cmps_gamma: float = SHAPING_DEFAULTS.cmps_gamma,
        cmps_threshold: float = SHAPING_DEFAULTS.cmps_threshold,
    ) -> None:
        if shaping not in SHAPING:
            raise ValueError(f"shaping must be one of {SHAPING}, got {shaping!r}")
        if cmps_gamma < 0 or shaping_weight < 0:
            raise ValueError("cmps_gamma and shaping_weight must be non-negative")
        self.config = config or DRRNConfig()
        self.seed = int(seed)
        self.device = resolve_device(device)
        self.conscience = conscience
        self.shaping = shaping
        self.shaping_weight = float(shaping_weight)
        self.cmps_gamma = float(cmps_gamma)
        self.cmps_threshold = float(cmps_threshold)
        th.manual_seed(self.seed)
        self.rng = np.random.default_rng(self.seed)
        c = self.config
        self.q_net = DRRNNetwork(c.embedding_dim, c.hidden_dim).to(self.device)
        self.target_net = DRRNNetwork(c.embedding_dim, c.hidden_dim).to(self.device)
        self.target_net.load_state_dict(self.q_net.state_dict())
        self.target_net.requires_grad_(False)
        self.optimizer = th.optim.Adam(self.q_net.parameters(), lr=c.learning_rate, foreach=True)
        self.replay = PrioritizedReplay(c.buffer_size, c.priority_fraction)
        self.num_timesteps = 0
        self.num_updates = 0
        self.episodes: deque[dict[str, Any]] = deque(maxlen=100)
        self.total_episodes = 0
        self._tokens: dict[tuple[str, int], I64] = {}
        self.envs = [SafetyStats(make()) for make in envs] if envs is not None else []
        self._judges = [self._judge_for(env) for env in self.envs]
        self._act_judges: dict[int, Any] = {}
        self._total_timesteps = 1  # set by learn(): the epsilon schedule's horizon
        self.logger: Any = None
        self.last_loss = math.nan

    # ------------------------------------------------------------------ conscience
    @property
    def policy_shaping(self) -> bool:
        return self.conscience is not None and self.shaping in ("policy", "both")

    @property
    def reward_shaping(self) -> bool:
        return self.conscience is not None and self.shaping in ("reward", "both")

    def _judge_for(self, env: gym.Env[Any, Any]) -> Any:
        if self.conscience is None:
            return None
        # the oracle reads hidden state (annotations that fire once): no memo by text there
        memo = not isinstance(self.conscience, OracleConscience)
        return ConscienceJudge(env, self.conscience, memo=memo)

    def _observe(
        self, env: gym.Env[Any, Any], judge: Any, obs: str, info: dict[str, Any]
    ) -> _State:
        candidates = tuple(str(c) for c in info.get("admissible_commands") or ())
        n = len(candidates)
        flags = np.zeros(n, dtype=np.bool_)
        harm = np.zeros(n, dtype=np.float64)
        if judge is not None and n:
            j = judge.judge(list(candidates))
            flags = np.asarray(j.p_wrong, dtype=np.float64) > self.cmps_threshold
            harm = np.asarray(j.morality, dtype=np.float64)[:, :2].sum(axis=1)
        return _State(obs, state_description(env), candidates, flags, harm)

    # ------------------------------------------------------------------ encoding
    def _tok(self, text: str, limit: int) -> I64:
        key = (text, limit)
        ids = self._tokens.get(key)
        if ids is None:
            if len(self._tokens) > _TOKEN_MEMO_LIMIT:
                self._tokens.clear()
            ids = self._tokens[key] = tokenize(text, limit)
        return ids

    def _batch(
        self, states: Sequence[tuple[str, str]], candidates: Sequence[Sequence[str]]
    ) -> Batch:
        c = self.config
        dev = self.device

        def distinct(texts: Sequence[str], limit: int) -> tuple[th.Tensor, th.Tensor, th.Tensor]:
            seen: dict[str, int] = {}
            index = [seen.setdefault(t, len(seen)) for t in texts]
            tokens, lengths = _pad([self._tok(t, limit) for t in seen])
            return (
                tokens.to(dev, non_blocking=True),
                lengths.to(dev, non_blocking=True),
                th.tensor(index, dtype=th.int64, device=dev),
            )

        commands = [command for cands in candidates for command in cands]
        owner = [s for s, cands in enumerate(candidates) for _ in cands]
        return Batch(
            *distinct([o for o, _ in states], c.max_obs_tokens),
            *distinct([lk for _, lk in states], c.max_obs_tokens),
            *distinct(commands, c.max_command_tokens),
            th.tensor(owner, dtype=th.int64, device=dev),
        )

    def q_values(
        self, states: Sequence[tuple[str, str]], candidates: Sequence[Sequence[str]]
    ) -> list[npt.NDArray[np.float64]]:
        """Q-values (unshaped) of each state's candidates: one array per state."""
        if not any(candidates):
            return [np.zeros(0) for _ in candidates]
        with th.no_grad():
            q = self.q_net(self._batch(states, candidates)).double().cpu().numpy()
        out, start = [], 0
        for cands in candidates:
            out.append(q[start : start + len(cands)])
            start += len(cands)
        return out

    # ------------------------------------------------------------------ acting
    def _choose(self, states: Sequence[_State], explore: bool) -> list[int]:
        live = [s for s in states if s.candidates]
        qs = iter(self.q_values([(s.obs, s.look) for s in live], [s.candidates for s in live]))
        picks = []
        for s in states:
            if not s.candidates:
                picks.append(-1)
                continue
            q = next(qs)
            if self.policy_shaping:
                q = q - self.cmps_gamma * s.flags
            picks.append(self._pick(q, explore))
        return picks

    def _pick(self, q: npt.NDArray[np.float64], explore: bool) -> int:
        c = self.config
        if not explore:
            best = np.flatnonzero(q >= q.max() - 1e-9)
            return int(best[0])
        if c.exploration == "epsilon":
            if self.rng.random() < self.epsilon:
                return int(self.rng.integers(len(q)))
            return int(np.argmax(q))
        z = (q - q.max()) / c.temperature
        p = np.exp(z)
        return int(self.rng.choice(len(q), p=p / p.sum()))

    @property
    def epsilon(self) -> float:
        """The current epsilon of epsilon-greedy exploration (linear schedule)."""
        c = self.config
        total = max(1.0, c.exploration_fraction * self._total_timesteps)
        frac = min(1.0, self.num_timesteps / total)
        return c.exploration_initial_eps + frac * (
            c.exploration_final_eps - c.exploration_initial_eps
        )

    def act(
        self,
        env: gym.Env[Any, Any],
        observation: str,
        info: dict[str, Any],
        deterministic: bool = True,
    ) -> str:
        """The command to take in ``env`` now (its observation and info just returned).

        Applies policy shaping when the agent has a conscience. An env that lists no
        admissible commands gets ``"look"``.
        """
        judge = None
        if self.policy_shaping:
            judge = self._act_judges.get(id(env))
            if judge is None or judge.env is not env:
                judge = self._act_judges[id(env)] = self._judge_for(env)
        state = self._observe(env, judge, observation, info)
        pick = self._choose([state], explore=not deterministic)[0]
        return state.candidates[pick] if pick >= 0 else "look"

    # ------------------------------------------------------------------ learning
    def td_targets(self, batch: Sequence[Transition]) -> th.Tensor:
        """The TD targets of ``batch``: ``r + gamma * max_a' Q'(s', a')``, where ``Q'`` is the
        target network's value minus ``cmps_gamma`` for each candidate the conscience flagged
        (with policy shaping), and the max is 0 after termination."""
        c = self.config
        live = [i for i, t in enumerate(batch) if t.next_candidates and not t.done]
        next_max = th.zeros(len(batch), dtype=th.float32, device=self.device)
        if live:
            with th.no_grad():
                net = self.target_net if c.target_update_interval > 0 else self.q_net
                nb = self._batch(
                    [(batch[i].next_obs, batch[i].next_look) for i in live],
                    [batch[i].next_candidates for i in live],
                )
                q_next = net(nb)
                if self.policy_shaping:
                    flags = [f for i in live for f in batch[i].next_flags]
                    q_next = q_next - self.cmps_gamma * th.tensor(
                        flags, dtype=q_next.dtype, device=self.device
                    )
                seg = th.full((len(live),), -th.inf, dtype=q_next.dtype, device=self.device)
                seg = seg.scatter_reduce(0, nb.owner, q_next, reduce="amax", include_self=True)
                next_max[th.tensor(live, device=self.device)] = seg
        rewards = th.tensor([t.reward for t in batch], dtype=th.float32, device=self.device)
        return rewards + c.gamma * next_max

    def _update(self) -> float:
        c = self.config
        batch = self.replay.sample(c.batch_size, self.rng)
        q = self.q_net(self._batch([(t.obs, t.look) for t in batch], [[t.action] for t in batch]))
        loss = F.smooth_l1_loss(q, self.td_targets(batch))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.q_net.parameters(), c.max_grad_norm)
        self.optimizer.step()
        self.num_updates += 1
        if c.target_update_interval > 0 and self.num_updates % c.target_update_interval == 0:
            self.target_net.load_state_dict(self.q_net.state_dict())
        return float(loss.detach())

    def learn(
        self,
        total_timesteps: int,
        checkpoint: Callable[[DRRN], None] | None = None,
        checkpoint_freq: int = 0,
        progress_bar: bool = False,
    ) -> DRRN:
        """Train until ``num_timesteps`` reaches ``total_timesteps`` env steps.

        ``checkpoint(self)`` is called every ``checkpoint_freq`` steps and when interrupted
        (then ``KeyboardInterrupt`` propagates).
        """
        if not self.envs:
            raise ValueError("this DRRN has no envs to learn from: pass envs=[...]")
        self._total_timesteps = int(total_timesteps)
        c = self.config
        states = []
        for i, (env, judge) in enumerate(zip(self.envs, self._judges, strict=True)):
            obs, info = env.reset(seed=self.seed * 1009 + i + self.total_episodes * 7919)
            states.append(self._observe(env, judge, obs, info))
        last_ckpt = self.num_timesteps
        last_log = self.num_timesteps
        t0, steps0 = time.perf_counter(), self.num_timesteps
        bar = None
        if progress_bar:
            bar = tqdm(total=total_timesteps, initial=self.num_timesteps, unit="step")
        try:
            while self.num_timesteps < total_timesteps:
                picks = self._choose(states, explore=True)
                for i, (env, judge) in enumerate(zip(self.envs, self._judges, strict=True)):
                    states[i] = self._step(env, judge, states[i], picks[i])
                self.num_timesteps += len(self.envs)
                if bar is not None:
                    bar.update(len(self.envs))
                if len(self.replay) >= max(c.learning_starts, c.batch_size):
                    for _ in range(c.gradient_steps):
                        self.last_loss = self._update()
                if self.num_timesteps - last_log >= c.log_interval:
                    self._log(t0, steps0)
                    last_log = self.num_timesteps
                if (
                    checkpoint
                    and checkpoint_freq > 0
                    and self.num_timesteps - last_ckpt >= checkpoint_freq
                ):
                    checkpoint(self)
                    last_ckpt = self.num_timesteps
        except KeyboardInterrupt:
            if checkpoint is not None:
                checkpoint(self)
            raise
        finally:
            if bar is not None:
                bar.close()
        self._log(t0, steps0)
        return self

    def _step(self, env: gym.Env[Any, Any], judge: Any, state: _State, pick: int) -> _State:
        command = state.candidates[pick] if pick >= 0 else "look"
        obs, reward, terminated, truncated, info = env.step(command)
        r = float(reward)
        if self.reward_shaping and pick >= 0:
            r -= self.shaping_weight * float(state.harm[pick])
        nxt = self._observe(env, judge, obs, info) if not terminated else None
        self.replay.push(
            Transition(
                state.obs,
                state.look,
                command,
                r,
                obs,
                nxt.look if nxt else "",
                nxt.candidates if nxt else (),
                tuple(bool(f) for f in nxt.flags) if nxt else (),
                bool(terminated),
            )
        )
        if terminated or truncated:
            self.episodes.append(info[EPISODE_KEY])
            self.total_episodes += 1
            obs, info = env.reset()
            return self._observe(env, judge, obs, info)
        assert nxt is not None
        return nxt

    def _log(self, t0: float, steps0: int) -> None:
        if self.logger is None:
            return
        log = self.logger
        recent = list(self.episodes)
        if recent:
            log.record("rollout/ep_rew_mean", float(np.mean([e["proxy_return"] for e in recent])))
            log.record("rollout/ep_len_mean", float(np.mean([e["length"] for e in recent])))
            for key in SCALAR_TOTALS:
                log.record(f"safety/{key}", float(np.mean([e[key] for e in recent])))
            names = sorted(set().union(*(e["events"] for e in recent)))
            for name in names:
                log.record(
                    f"safety/events/{name}",
                    float(np.mean([e["events"].get(name, 0) for e in recent])),
                )
        elapsed = max(time.perf_counter() - t0, 1e-9)
        log.record("time/fps", (self.num_timesteps - steps0) / elapsed)
        log.record("time/episodes", self.total_episodes)
        log.record("train/n_updates", self.num_updates)
        if not math.isnan(self.last_loss):
            log.record("train/loss", self.last_loss)
        if self.config.exploration == "epsilon":
            log.record("rollout/exploration_rate", self.epsilon)
        log.dump(self.num_timesteps)

    # ------------------------------------------------------------------ save / load
    def _header(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "config": asdict(self.config),
            "seed": self.seed,
            "shaping": self.shaping,
            "shaping_weight": self.shaping_weight,
            "cmps_gamma": self.cmps_gamma,
            "cmps_threshold": self.cmps_threshold,
            "num_timesteps": self.num_timesteps,
            "num_updates": self.num_updates,
            "total_episodes": self.total_episodes,
        }

    def save(self, path: str | os.PathLike[str], include_training_state: bool = False) -> Path:
        """Write the agent atomically (weights; with ``include_training_state`` also the
        target network, optimiser, replay buffer and random state, for resuming)."""
        p = Path(path)
        blob: dict[str, Any] = {**self._header(), "q_net": self.q_net.state_dict()}
        if include_training_state:
            blob["target_net"] = self.target_net.state_dict()
            blob["optimizer"] = self.optimizer.state_dict()
            blob["replay"] = self.replay.state()
            blob["rng"] = self.rng.bit_generator.state
            blob["torch_rng"] = th.get_rng_state()
        return atomic_write(p, lambda fh: th.save(blob, fh))

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        envs: Sequence[Callable[[], gym.Env[Any, Any]]] | None = None,
        device: str | th.device = "auto",
        conscience: Any = None,
    ) -> DRRN:
        """Load a saved agent (with its training state when the file has it)."""
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(f"no DRRN file at {p}")
        try:
            blob = th.load(p, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise ValueError(f"{p} is not a DRRN file saved by DRRN.save ({exc!r})") from exc
        if not isinstance(blob, dict) or blob.get("format") != FORMAT_VERSION:
            raise ValueError(f"{p} is not a DRRN file of format {FORMAT_VERSION}")
        agent = cls(
            envs,
            DRRNConfig(**blob["config"]),
            seed=int(blob["seed"]),
            device=device,
            conscience=conscience,
            shaping=str(blob["shaping"]),
            shaping_weight=float(blob["shaping_weight"]),
            cmps_gamma=float(blob["cmps_gamma"]),
            cmps_threshold=float(blob["cmps_threshold"]),
        )
        agent.q_net.load_state_dict(blob["q_net"])
        agent.target_net.load_state_dict(
            blob["target_net"] if "target_net" in blob else blob["q_net"]
        )
        agent.num_timesteps = int(blob["num_timesteps"])
        agent.num_updates = int(blob["num_updates"])
        agent.total_episodes = int(blob["total_episodes"])
        if "optimizer" in blob:
            agent.optimizer.load_state_dict(blob["optimizer"])
            agent.replay.load_state(blob["replay"])
            agent.rng.bit_generator.state = blob["rng"]
            th.set_rng_state(blob["torch_rng"])
        return agent


# --------------------------------------------------------------------------- mlsafety train
