"""Anomaly detectors with one convention: ``fit(in_distribution) -> self``, ``score(x) -> (N,)``.

Higher scores mean more anomalous, for every detector. ``score`` takes a batch of
observations ``(N, *obs_shape)`` or a single observation ``obs_shape`` (then returns shape
``(1,)``). Observations are flattened internally.

* :class:`MahalanobisDetector` and :class:`KNNDetector` work in observation space or, with
  ``features=policy_features(model)``, in a policy's feature space.
* :class:`PolicyOutputDetector` scores a policy's action distribution (maximum softmax
  probability, max logit, energy, entropy).
* :class:`PolicyDivergenceDetector` flags states where a policy's action distribution
  diverges from a trusted policy's (Pan et al. 2022), per step and per trajectory.

Every detector saves to a single ``.npz`` file holding its arrays and a JSON header
(``allow_pickle=False``; no pickle anywhere), written atomically through
:func:`mlsafety.io.save_npz`. Callables and policies are not serialised: pass them
again to ``load`` (``features=``, ``policy=``, ``trusted_policy=``); loading a detector
that was fitted with features but without them raises :class:`ValueError`.

Every detector fails closed: an observation holding NaN or inf (or whose features do)
scores ``+inf``, so any monitor over it treats a sensor fault as an anomaly. ``fit`` refuses
such observations.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
from gymnasium import spaces

from mlsafety.io import load_npz, save_npz

__all__ = [
    "Detector",
    "KNNDetector",
    "MahalanobisDetector",
    "PolicyDivergenceDetector",
    "PolicyOutputDetector",
    "load_detector",
    "policy_features",
]

FORMAT = "mlsafety.monitors.detector"
VERSION = 1
_CHUNK = 4096

FeatureFn = Callable[[np.ndarray], np.ndarray]
PathLike = str | os.PathLike[str]


@runtime_checkable
class Detector(Protocol):
    """What every detector provides. Higher scores mean more anomalous."""

    name: str

    def fit(self, samples: np.ndarray, actions: np.ndarray | None = None) -> Detector:
        """Fit on in-distribution observations ``(N, ...)``; ``actions`` optional (classes)."""
        ...

    def score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores, shape ``(N,)`` (``(1,)`` for a single observation)."""
        ...

    def save(self, path: PathLike) -> None:
        """Write to ``path`` (npz + JSON header, atomic)."""
        ...


# --------------------------------------------------------------------------- serialisation


def _save(path: PathLike, header: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    save_npz(path, arrays, fmt=FORMAT, version=VERSION, header=header)


def _load(path: PathLike) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    return load_npz(path, fmt=FORMAT, version=VERSION, what="saved mlsafety detector")


def _check_class(header: dict[str, Any], cls: type) -> None:
    if header.get("class") != cls.__name__:
        raise ValueError(f"file holds a {header.get('class')}, not a {cls.__name__}")


# --------------------------------------------------------------------------- helpers


def _unwrap_policy(policy: Any) -> Any:
    """The ``BasePolicy`` of an SB3 model (``model.policy``), or ``policy`` itself."""
    inner = getattr(policy, "policy", None)
    if inner is not None and hasattr(inner, "obs_to_tensor"):
        return inner
    if hasattr(policy, "obs_to_tensor"):
        return policy
    raise TypeError(f"expected a Stable-Baselines3 model or policy, got {type(policy).__name__}")


def _batch_obs(policy: Any, x: np.ndarray) -> Any:
    """``x`` as a batched torch tensor on the policy's device (public ``obs_to_tensor``)."""
    obs, _ = policy.obs_to_tensor(x)
    return obs


def _n_obs(policy: Any, x: np.ndarray) -> tuple[np.ndarray, bool]:
    """``x`` as a numpy array and whether it is a single (unbatched) observation."""
    arr = np.asarray(x)
    space_shape = getattr(policy.observation_space, "shape", None)
    single = space_shape is not None and arr.shape == tuple(space_shape)
    return arr, single


def _finite_rows(arr: np.ndarray, single: bool) -> tuple[np.ndarray, np.ndarray]:
    """``arr`` with each observation holding a NaN or inf zeroed, and the mask of those rows.

    Detectors fail closed: such an observation (a sensor fault) scores ``+inf`` rather than
    NaN or an exception, so a monitor above any threshold falls back on it.
    """
    rows = arr.reshape(1 if single else arr.shape[0], -1)
    if not np.issubdtype(rows.dtype, np.floating):
        return arr, np.zeros(rows.shape[0], dtype=bool)
    bad = ~np.isfinite(rows).all(axis=1)
    if not bad.any():
        return arr, bad
    clean = np.array(arr, copy=True)
    if single:
        clean[...] = 0
    else:
        clean[bad] = 0
    return clean, bad


def _mark(scores: np.ndarray, bad: np.ndarray) -> np.ndarray:
    """``scores`` (float64) with the rows of ``bad`` set to ``+inf``."""
    out = np.asarray(scores, dtype=np.float64).copy()
    out[bad] = np.inf
    return out


def _chunks(arr: np.ndarray, single: bool) -> list[np.ndarray]:
    if single:
        return [arr]
    return [arr[i : i + _CHUNK] for i in range(0, max(len(arr), 1), _CHUNK)] if len(arr) else []


def policy_features(model: Any) -> FeatureFn:
    """A function mapping observations to a policy's features, through SB3's public API.

    For actor-critic policies (PPO, A2C) the features are the actor's latent
    (``policy.mlp_extractor.forward_actor(policy.extract_features(obs))``), the
    representation right before the action head. For DQN-style policies they are the
    Q-network's extracted features (``policy.q_net.extract_features``); otherwise
    ``policy.extract_features(obs)``. Takes a batch or a single observation, returns
    ``(N, F)`` float64.
    """
    import torch as th  # heavy: torch, only for policies given as torch modules

    policy = _unwrap_policy(model)

    def features(x: np.ndarray) -> np.ndarray:
        arr, single = _n_obs(policy, x)
        outs: list[np.ndarray] = []
        with th.no_grad():
            for chunk in _chunks(arr, single):
                obs = _batch_obs(policy, chunk)
                if hasattr(policy, "mlp_extractor"):
                    feats = policy.extract_features(obs)
                    if isinstance(feats, tuple):
                        feats = feats[0]
                    latent = policy.mlp_extractor.forward_actor(feats)
                elif hasattr(policy, "q_net"):
                    latent = policy.q_net.extract_features(obs, policy.q_net.features_extractor)
                else:
                    latent = policy.extract_features(obs, policy.features_extractor)
                outs.append(latent.detach().cpu().numpy().astype(np.float64))
        if not outs:
            return np.zeros((0, 0), dtype=np.float64)
        out = np.concatenate(outs, axis=0)
        return out.reshape(out.shape[0], -1)

    return features


class _FeatureDetector:
    """Shared plumbing of the detectors that fit statistics in (feature) space."""

    name: str = ""

    def __init__(self, features: FeatureFn | None) -> None:
        self.features = features
        self.obs_shape_: tuple[int, ...] | None = None
        self.fitted_with_features_ = features is not None

    def _embed(self, x: np.ndarray, fitting: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Features of a batch, and the mask of rows with a NaN/inf observation or feature
        (refused when fitting; zeroed when scoring, to be scored ``+inf``)."""
        arr = np.asarray(x)
        if fitting:
            if arr.ndim < 1 or arr.shape[0] == 0:
                raise ValueError("fit needs a non-empty batch of samples (N, ...)")
            self.obs_shape_ = tuple(int(d) for d in arr.shape[1:])
        elif self.obs_shape_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit() first")
        elif arr.shape == self.obs_shape_:
            arr = arr[None, ...]
        elif tuple(arr.shape[1:]) != self.obs_shape_:
            raise ValueError(
                f"expected observations of shape {self.obs_shape_} (or a batch of them), "
                f"got {arr.shape}"
            )
        arr, bad = _finite_rows(arr, single=False)
        if fitting and bad.any():
            raise ValueError("fit needs finite observations; some hold NaN or inf")
        if self.features is not None:
            feats = np.asarray(self.features(arr), dtype=np.float64)
            feats = feats.reshape(arr.shape[0], -1)
        else:
            feats = arr.reshape(arr.shape[0], -1).astype(np.float64)
        bad = bad | ~np.isfinite(feats).all(axis=1)
        if fitting and bad.any():
            raise ValueError("the features of some observations are NaN or inf")
        feats[bad] = 0.0
        return feats, bad

    def _check_load_features(self, header: dict[str, Any]) -> None:
        if header.get("uses_features") and self.features is None:
            raise ValueError(
                f"this {header.get('class')} was fitted in a feature space; pass the same "
                "feature function to load(path, features=...)"
            )

    def _base_header(self) -> dict[str, Any]:
        return {
            "class": type(self).__name__,
            "uses_features": self.features is not None,
            "obs_shape": list(self.obs_shape_) if self.obs_shape_ is not None else None,
        }


class MahalanobisDetector(_FeatureDetector):
    """Squared Mahalanobis distance to the in-distribution Gaussian (Lee et al. 2018).

    ``score(x) = (f(x) - mu)^T Sigma^-1 (f(x) - mu)`` where ``f`` is the identity (flattened
    observations) or ``features``. With ``class_conditional=True`` and ``actions`` given to
    :meth:`fit`, one mean per action class and a shared (tied) covariance; the score is the
    distance to the nearest class mean. The covariance is regularised as
    ``Sigma + shrinkage * (tr(Sigma)/d) * I`` (``shrinkage * I`` if the trace is zero), so
    constant dimensions (walls in a gridworld) get a huge but finite penalty when they
    change.
    """

    def __init__(
        self,
        class_conditional: bool = False,
        shrinkage: float = 1e-3,
        features: FeatureFn | None = None,
    ) -> None:
        super().__init__(features)
        if not (np.isfinite(shrinkage) and shrinkage > 0):
            raise ValueError(f"shrinkage must be a finite float > 0, got {shrinkage!r}")
        self.class_conditional = bool(class_conditional)
        self.shrinkage = float(shrinkage)
        self.name = "mahalanobis_cc" if self.class_conditional else "mahalanobis"
        self.means_: np.ndarray | None = None  # (C, d)
        self.classes_: np.ndarray | None = None  # (C,)
        self.precision_: np.ndarray | None = None  # (d, d)

    def fit(self, samples: np.ndarray, actions: np.ndarray | None = None) -> MahalanobisDetector:
        feats, _ = self._embed(samples, fitting=True)
        n, d = feats.shape
        if self.class_conditional:
            if actions is None:
                raise ValueError("class_conditional=True needs actions (one class per sample)")
            labels = np.asarray(actions).reshape(-1)
            if labels.shape[0] != n:
                raise ValueError(f"{n} samples but {labels.shape[0]} actions")
            classes, inverse = np.unique(labels, return_inverse=True)
            means = np.stack([feats[inverse == c].mean(axis=0) for c in range(len(classes))])
            centred = feats - means[inverse]
        else:
            classes = np.zeros(1, dtype=np.int64)
            means = feats.mean(axis=0, keepdims=True)
            centred = feats - means
        cov = centred.T @ centred / max(n - 1, 1)
        trace = float(np.trace(cov))
        scale = trace / d if trace > 0 else 1.0
        cov = cov + self.shrinkage * scale * np.eye(d)
        self.precision_ = np.linalg.inv(cov)
        self.precision_ = (self.precision_ + self.precision_.T) / 2
        self.means_ = means
        self.classes_ = classes
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        if self.means_ is None or self.precision_ is None:
            raise RuntimeError("MahalanobisDetector is not fitted; call fit() first")
        feats, bad = self._embed(x)
        best = np.full(feats.shape[0], np.inf)
        for mean in self.means_:
            diff = feats - mean
            dist = np.einsum("nd,de,ne->n", diff, self.precision_, diff)
            best = np.minimum(best, dist)
        out = np.maximum(best, 0.0)
        out[bad] = np.inf
        return out

    def save(self, path: PathLike) -> None:
        if self.means_ is None or self.precision_ is None or self.classes_ is None:
            raise RuntimeError("fit the detector before saving it")
        header = self._base_header()
        header.update(class_conditional=self.class_conditional, shrinkage=self.shrinkage)
        _save(
            path,
            header,
            {"means": self.means_, "precision": self.precision_, "classes": self.classes_},
        )

    @classmethod
    def load(cls, path: PathLike, features: FeatureFn | None = None) -> MahalanobisDetector:
        header, arrays = _load(path)
        _check_class(header, cls)
        det = cls(header["class_conditional"], header["shrinkage"], features)
        det._check_load_features(header)
        det.obs_shape_ = tuple(header["obs_shape"])
        det.means_ = arrays["means"]
        det.precision_ = arrays["precision"]
        det.classes_ = arrays["classes"]
        return det


class KNNDetector(_FeatureDetector):
    """Distance to the ``k``-th nearest in-distribution sample (Sun et al. 2022).

    Euclidean distance in flattened observation space, or in ``features`` space, through
    scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors`. A point of the fitted set
    counts as its own nearest neighbour.
    """

    def __init__(self, k: int = 5, features: FeatureFn | None = None) -> None:
        super().__init__(features)
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        self.k = int(k)
        self.name = "knn"
        self.train_: np.ndarray | None = None
        self._nn: Any = None

    def _build(self) -> None:
        from sklearn.neighbors import NearestNeighbors  # heavy: scikit-learn

        assert self.train_ is not None
        if self.train_.shape[0] < self.k:
            raise ValueError(f"need at least k={self.k} samples, got {self.train_.shape[0]}")
        self._nn = NearestNeighbors(n_neighbors=self.k).fit(self.train_)

    def fit(self, samples: np.ndarray, actions: np.ndarray | None = None) -> KNNDetector:
        self.train_, _ = self._embed(samples, fitting=True)
        self._build()
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        if self._nn is None:
            raise RuntimeError("KNNDetector is not fitted; call fit() first")
        feats, bad = self._embed(x)
        if feats.shape[0] == 0:
            return np.zeros(0)
        dist, _ = self._nn.kneighbors(feats, n_neighbors=self.k)
        out = np.asarray(dist[:, -1], dtype=np.float64)
        out[bad] = np.inf
        return out

    def save(self, path: PathLike) -> None:
        if self.train_ is None:
            raise RuntimeError("fit the detector before saving it")
        header = self._base_header()
        header.update(k=self.k)
        _save(path, header, {"train": self.train_})

    @classmethod
    def load(cls, path: PathLike, features: FeatureFn | None = None) -> KNNDetector:
        header, arrays = _load(path)
        _check_class(header, cls)
        det = cls(int(header["k"]), features)
        det._check_load_features(header)
        det.obs_shape_ = tuple(header["obs_shape"])
        det.train_ = arrays["train"]
        det._build()
        return det


# --------------------------------------------------------------------------- policy output

OutputKind = Literal["msp", "max_logit", "energy", "entropy"]
DivergenceKind = Literal["js", "hellinger", "kl"]


def _logits(policy: Any, obs: Any) -> Any:
    """Unnormalised action logits of a discrete policy, through public modules.

    Actor-critic: ``action_net(mlp_extractor.forward_actor(extract_features(obs)))``, the
    exact path of ``get_distribution``; DQN: the Q-values of ``q_net`` as logits; any other
    policy: the (normalised) log-probabilities of ``get_distribution(obs)``.
    """
    if hasattr(policy, "mlp_extractor") and hasattr(policy, "action_net"):
        feats = policy.extract_features(obs)
        if isinstance(feats, tuple):
            feats = feats[0]
        return policy.action_net(policy.mlp_extractor.forward_actor(feats))
    if hasattr(policy, "q_net") and not hasattr(policy, "get_distribution"):
        return policy.q_net(obs)
    dist = policy.get_distribution(obs).distribution
    if not hasattr(dist, "logits") or not hasattr(dist, "probs"):
        raise ValueError("this detector needs a discrete (Categorical) action distribution")
    return dist.logits


def _is_discrete(policy: Any) -> bool:
    return isinstance(policy.action_space, spaces.Discrete)


class PolicyOutputDetector:
    """Anomaly scores from a policy's action distribution; higher = more anomalous.

    ``policy`` is an SB3 model (PPO, A2C, DQN, ...) or its ``policy``. With logits ``z``
    (temperature ``T``) and ``p = softmax(z / T)``:

    * ``"msp"``: ``1 - max_a p_a`` (Hendrycks & Gimpel 2017); confident = in-distribution.
    * ``"max_logit"``: ``-max_a z_a`` (Hendrycks et al. 2022).
    * ``"energy"``: the free energy ``-T * logsumexp(z / T)`` (Liu et al. 2020).
    * ``"entropy"``: ``-sum_a p_a log p_a`` in nats; for continuous actions the
      distribution's own entropy (temperature ignored).

    ``"msp"``, ``"max_logit"`` and ``"energy"`` need a ``Discrete`` action space. For
    actor-critic policies the logits are the raw ``action_net`` outputs (the public modules
    ``get_distribution`` itself uses); for DQN the Q-values. :meth:`fit` records the scores
    of the in-distribution samples in ``reference_scores_`` (for thresholds) and is
    otherwise a no-op.
    """

    kinds: ClassVar[tuple[str, ...]] = ("msp", "max_logit", "energy", "entropy")

    def __init__(self, policy: Any, kind: OutputKind = "msp", temperature: float = 1.0) -> None:
        if kind not in self.kinds:
            raise ValueError(f"kind must be one of {self.kinds}, got {kind!r}")
        if not (np.isfinite(temperature) and temperature > 0):
            raise ValueError(f"temperature must be a finite float > 0, got {temperature!r}")
        self.policy = _unwrap_policy(policy)
        self.kind: str = kind
        self.temperature = float(temperature)
        self.name = kind
        self.reference_scores_: np.ndarray | None = None
        if kind != "entropy" and not _is_discrete(self.policy):
            raise ValueError(f"kind={kind!r} needs a Discrete action space")

    def fit(self, samples: np.ndarray, actions: np.ndarray | None = None) -> PolicyOutputDetector:
        self.reference_scores_ = self.score(samples)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        import torch as th  # heavy: torch, only for policies given as torch modules

        arr, single = _n_obs(self.policy, x)
        arr, bad = _finite_rows(arr, single)
        outs: list[np.ndarray] = []
        with th.no_grad():
            for chunk in _chunks(arr, single):
                obs = _batch_obs(self.policy, chunk)
                if self.kind == "entropy" and not _is_discrete(self.policy):
                    ent = self.policy.get_distribution(obs).entropy()
                    outs.append(ent.detach().cpu().numpy().astype(np.float64).reshape(-1))
                    continue
                z = _logits(self.policy, obs).detach().cpu().double() / self.temperature
                if self.kind == "msp":
                    s = 1.0 - th.softmax(z, dim=-1).max(dim=-1).values
                elif self.kind == "max_logit":
                    s = -(z * self.temperature).max(dim=-1).values
                elif self.kind == "energy":
                    s = -self.temperature * th.logsumexp(z, dim=-1)
                else:
                    logp = th.log_softmax(z, dim=-1)
                    s = -(logp.exp() * logp).sum(dim=-1)
                outs.append(s.numpy().reshape(-1))
        return _mark(np.concatenate(outs) if outs else np.zeros(0), bad)

    def save(self, path: PathLike) -> None:
        header = {"class": type(self).__name__, "kind": self.kind, "temperature": self.temperature}
        arrays = {}
        if self.reference_scores_ is not None:
            arrays["reference_scores"] = self.reference_scores_
        _save(path, header, arrays)

    @classmethod
    def load(cls, path: PathLike, policy: Any = None) -> PolicyOutputDetector:
        header, arrays = _load(path)
        _check_class(header, cls)
        if policy is None:
            raise ValueError("a PolicyOutputDetector needs its policy: load(path, policy=model)")
        det = cls(policy, header["kind"], header["temperature"])
        det.reference_scores_ = arrays.get("reference_scores")
        return det


# --------------------------------------------------------------------------- divergence


def _dist_params(policy: Any, obs: Any) -> tuple[str, Any, Any]:
    """``("categorical", log_probs, None)`` or ``("gaussian", mean, std)`` in float64."""
    if not hasattr(policy, "get_distribution"):
        raise ValueError(
            f"{type(policy).__name__} has no action distribution (get_distribution); "
            "divergence needs stochastic policies such as PPO or A2C"
        )
    dist = policy.get_distribution(obs).distribution
    if hasattr(dist, "logits") and hasattr(dist, "probs"):
        return "categorical", dist.logits.detach().cpu().double(), None
    if hasattr(dist, "loc") and hasattr(dist, "scale"):
        return "gaussian", dist.loc.detach().cpu().double(), dist.scale.detach().cpu().double()
    raise ValueError(
        f"unsupported action distribution {type(dist).__name__}; need Categorical or Normal"
    )


def _categorical_divergence(kind: str, logp: Any, logq: Any) -> np.ndarray:
    import torch as th  # heavy: torch, only for policies given as torch modules

    p, q = logp.exp(), logq.exp()
    if kind == "kl":
        d = th.where(p > 0, p * (logp - logq), th.zeros_like(p)).sum(-1)
    elif kind == "js":
        m = (p + q) / 2
        logm = th.log(m)
        kl_pm = th.where(p > 0, p * (logp - logm), th.zeros_like(p)).sum(-1)
        kl_qm = th.where(q > 0, q * (logq - logm), th.zeros_like(q)).sum(-1)
        d = (kl_pm + kl_qm) / 2
        d = d.clamp(0.0, float(np.log(2.0)))
    else:
        d = th.sqrt(((p.sqrt() - q.sqrt()) ** 2).sum(-1) / 2).clamp(0.0, 1.0)
    out: np.ndarray = d.clamp_min(0.0).numpy().reshape(-1)
    return out


def _gaussian_divergence(kind: str, m1: Any, s1: Any, m2: Any, s2: Any) -> np.ndarray:
    import torch as th  # heavy: torch, only for policies given as torch modules

    if kind == "kl":
        kl = th.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5
        d = kl.sum(-1)
    elif kind == "hellinger":
        var = s1**2 + s2**2
        log_bc = (0.5 * th.log(2 * s1 * s2 / var) - (m1 - m2) ** 2 / (4 * var)).sum(-1)
        d = th.sqrt((1 - th.exp(log_bc)).clamp(0.0, 1.0))
    else:
        raise ValueError("kind='js' has no closed form for Gaussian policies; use kl or hellinger")
    out: np.ndarray = d.clamp_min(0.0).numpy().reshape(-1)
    return out


class PolicyDivergenceDetector:
    """Divergence of a policy's action distribution from a trusted policy's (Pan et al. 2022).

    Over the same states, compare ``P = trusted_policy(.|s)`` and ``Q = policy(.|s)``:

    * ``"js"``: Jensen-Shannon divergence in nats, in ``[0, ln 2]`` (discrete actions only);
    * ``"hellinger"``: Hellinger distance ``sqrt(1 - sum_a sqrt(P_a Q_a))``, in ``[0, 1]``;
    * ``"kl"``: ``KL(P || Q)`` in nats (trusted first: mass the trusted policy puts where the
      monitored one does not), in ``[0, inf)``.

    Categorical (discrete) and diagonal-Gaussian (continuous) policies are supported, both
    through ``policy.obs_to_tensor`` and ``policy.get_distribution``. :meth:`score` gives
    the per-state divergence; :meth:`score_trajectory` aggregates one trajectory's
    per-step divergences with ``aggregate`` (``"mean"`` or ``"max"``) into a single score,
    to flag proxy gaming and reward hacking. :meth:`fit` is a no-op except that it records
    the in-distribution scores in ``reference_scores_``.
    """

    kinds: ClassVar[tuple[str, ...]] = ("js", "hellinger", "kl")
    aggregates: ClassVar[tuple[str, ...]] = ("mean", "max")

    def __init__(
        self,
        policy: Any,
        trusted_policy: Any,
        kind: DivergenceKind = "js",
        aggregate: Literal["mean", "max"] = "mean",
    ) -> None:
        if kind not in self.kinds:
            raise ValueError(f"kind must be one of {self.kinds}, got {kind!r}")
        if aggregate not in self.aggregates:
            raise ValueError(f"aggregate must be one of {self.aggregates}, got {aggregate!r}")
        self.policy = _unwrap_policy(policy)
        self.trusted_policy = _unwrap_policy(trusted_policy)
        if self.policy.action_space != self.trusted_policy.action_space:
            raise ValueError("policy and trusted_policy have different action spaces")
        self.kind: str = kind
        self.aggregate: str = aggregate
        self.name = f"divergence_{kind}"
        self.reference_scores_: np.ndarray | None = None

    def fit(
        self, samples: np.ndarray, actions: np.ndarray | None = None
    ) -> PolicyDivergenceDetector:
        self.reference_scores_ = self.score(samples)
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        import torch as th  # heavy: torch, only for policies given as torch modules

        arr, single = _n_obs(self.policy, x)
        arr, bad = _finite_rows(arr, single)
        outs: list[np.ndarray] = []
        with th.no_grad():
            for chunk in _chunks(arr, single):
                obs_p = _batch_obs(self.trusted_policy, chunk)
                obs_q = _batch_obs(self.policy, chunk)
                kind_p, a_p, b_p = _dist_params(self.trusted_policy, obs_p)
                kind_q, a_q, b_q = _dist_params(self.policy, obs_q)
                if kind_p != kind_q:
                    raise ValueError("policy and trusted_policy have different distributions")
                if kind_p == "categorical":
                    outs.append(_categorical_divergence(self.kind, a_p, a_q))
                else:
                    outs.append(_gaussian_divergence(self.kind, a_p, b_p, a_q, b_q))
        return _mark(np.concatenate(outs) if outs else np.zeros(0), bad)

    def score_trajectory(self, obs_sequence: np.ndarray) -> float:
        """One trajectory's per-step divergences aggregated (``mean`` or ``max``)."""
        steps = self.score(np.asarray(obs_sequence))
        if steps.size == 0:
            raise ValueError("empty trajectory")
        return float(steps.mean() if self.aggregate == "mean" else steps.max())

    def save(self, path: PathLike) -> None:
        header = {"class": type(self).__name__, "kind": self.kind, "aggregate": self.aggregate}
        arrays = {}
        if self.reference_scores_ is not None:
            arrays["reference_scores"] = self.reference_scores_
        _save(path, header, arrays)

    @classmethod
    def load(
        cls, path: PathLike, policy: Any = None, trusted_policy: Any = None
    ) -> PolicyDivergenceDetector:
        header, arrays = _load(path)
        _check_class(header, cls)
        if policy is None or trusted_policy is None:
            raise ValueError(
                "a PolicyDivergenceDetector needs both policies: "
                "load(path, policy=model, trusted_policy=trusted)"
            )
        det = cls(policy, trusted_policy, header["kind"], header["aggregate"])
        det.reference_scores_ = arrays.get("reference_scores")
        return det


_REGISTRY: dict[str, Any] = {
    c.__name__: c
    for c in (MahalanobisDetector, KNNDetector, PolicyOutputDetector, PolicyDivergenceDetector)
}


def load_detector(path: PathLike, **kwargs: Any) -> Detector:
    """Load any saved detector, dispatching on the class named in its header.

    Keyword arguments go to that class's ``load``: ``features=`` for Mahalanobis / kNN
    fitted in a feature space, ``policy=`` (and ``trusted_policy=``) for policy detectors.
    """
    header, _ = _load(path)
    cls = _REGISTRY.get(str(header.get("class")))
    if cls is None:
        raise ValueError(f"unknown detector class {header.get('class')!r} in {os.fspath(path)!r}")
    detector: Detector = cls.load(path, **kwargs)
    return detector
