"""Conservative fallback (calibration, switching, episode totals, multi-agent) and shifts."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from mlsafety.envs import make_parallel
from mlsafety.envs.gridworlds import kernels as k
from mlsafety.envs.gridworlds.distributional_shift import TEST_LAYOUTS, DistributionalShift
from mlsafety.envs.gridworlds.island_navigation import IslandNavigation
from mlsafety.monitors.fallback import (
    FallbackMonitor,
    FallbackParallel,
    FallbackPolicy,
    calibrate_threshold,
    detector_name,
)
from mlsafety.monitors.shifts import (
    DISTRIBUTIONAL_SHIFT_PERTURBATIONS,
    ISLAND_PERTURBATIONS,
    ObservationNoise,
    distributional_shift_test,
    perturbed_factory,
    perturbed_gridworld,
    text_features,
)
from mlsafety.testing import check_safety_env
from mlsafety.wrappers import SafetyStats, SafetyStatsParallel

MARK = k.COIN  # a tile no training observation of IslandNavigation contains


class TileDetector:
    """Stub detector: the number of cells holding ``tile`` (higher = more anomalous)."""

    name = "tile_stub"

    def __init__(self, tile: int = MARK) -> None:
        self.tile = tile

    def fit(self, samples: np.ndarray, actions: np.ndarray | None = None) -> TileDetector:
        return self

    def score(self, x: Any) -> np.ndarray:
        arr = np.asarray(x)
        if arr.ndim == 2:
            arr = arr[None]
        return (arr == self.tile).reshape(len(arr), -1).sum(axis=1).astype(np.float64)


class ConstantDetector:
    """Stub detector with a fixed score."""

    def __init__(self, value: float) -> None:
        self.value = value

    def score(self, x: Any) -> np.ndarray:
        n = len(x) if np.ndim(x) > 1 else 1
        return np.full(n, self.value)


class ConstantPolicy:
    """SB3-style policy that always proposes ``action``."""

    def __init__(self, action: int, shape: tuple[int, ...] | None = None) -> None:
        self.action = action
        self.observation_space = gym.spaces.Box(0, 27, shape, np.uint8) if shape else None

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]:
        obs = np.asarray(observation)
        if self.observation_space is not None and obs.shape != self.observation_space.shape:
            return np.full(len(obs), self.action), state
        return np.array(self.action), state


class ScriptedPolicy:
    """Plays a fixed action sequence (then no-ops); ``reset`` restarts it."""

    def __init__(self, actions: tuple[int, ...]) -> None:
        self.actions = actions
        self.t = 0

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[Any, Any]:
        a = self.actions[self.t] if self.t < len(self.actions) else k.NOOP
        self.t += 1
        return np.array(a), state


class InjectTile(gym.ObservationWrapper[Any, Any, Any]):
    """A scripted shift: the observation after step ``at`` shows a never-seen tile."""

    def __init__(self, env: gym.Env[Any, Any], at: int) -> None:
        super().__init__(env)
        self.at = at
        self.t = 0

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        self.t = -1  # the reset observation is number 0
        return super().reset(**kwargs)

    def observation(self, observation: Any) -> Any:
        self.t += 1
        obs = np.array(observation)
        if self.t == self.at:
            obs[-1, -1] = MARK
        return obs


# ---- calibration ----------------------------------------------------------------------


def test_calibration_hits_target_fpr_on_held_out_scores() -> None:
    rng = np.random.default_rng(0)
    calib, held_out = rng.standard_normal(20_000), rng.standard_normal(20_000)
    for target in (0.01, 0.05, 0.2):
        t = calibrate_threshold(None, calib, target_fpr=target)
        assert np.mean(calib > t) <= target
        assert abs(np.mean(held_out > t) - target) < 0.01 + 0.1 * target


def test_calibration_scores_observations_and_rollouts() -> None:
    obs = np.zeros((100, 6, 10), dtype=np.uint8)
    obs[:10, 0, 0] = MARK  # 10% carry one marked cell
    obs[:3, 0, 1] = MARK  # 3% carry two
    det = TileDetector()
    assert calibrate_threshold(det, obs, target_fpr=0.05) == 1.0
    assert calibrate_threshold(det, [obs[:50], obs[50:]], target_fpr=0.2) == 0.0
    feats = calibrate_threshold(det, list(obs), target_fpr=0.02, observe=lambda o: o.T)
    assert feats == 2.0
    with pytest.raises(ValueError, match="target_fpr"):
        calibrate_threshold(det, obs, target_fpr=1.5)
    with pytest.raises(ValueError, match="detector"):
        calibrate_threshold(None, obs)


# ---- FallbackPolicy -------------------------------------------------------------------


def _obs(marked: bool) -> np.ndarray:
    o = np.zeros((6, 10), dtype=np.uint8)
    if marked:
        o[2, 2] = MARK
    return o


def test_policy_falls_back_for_exactly_hold_steps() -> None:
    pol = FallbackPolicy(ConstantPolicy(k.RIGHT, (6, 10)), TileDetector(), "noop", 0.5, hold=3)
    flags = [False, True] + [False] * 6
    acts, fell = [], []
    for marked in flags:
        a, _ = pol.predict(_obs(marked))
        acts.append(int(a))
        fell.append(pol.last_intervention["fallback"])
        assert pol.last_intervention["detector"] == "tile_stub"
        assert pol.last_intervention["score"] == float(marked)
    assert acts == [k.RIGHT, k.NOOP, k.NOOP, k.NOOP, k.RIGHT, k.RIGHT, k.RIGHT, k.RIGHT]
    assert fell == [False, True, True, True, False, False, False, False]
    assert pol.interventions == 3 and pol.intervention_rate == 3 / 8


def test_policy_rearms_hold_and_plays_scripted_or_model_fallback() -> None:
    pol = FallbackPolicy(ConstantPolicy(k.RIGHT, (6, 10)), TileDetector(), (k.DOWN, k.LEFT), 0.5, 2)
    acts = [int(pol.predict(_obs(m))[0]) for m in (True, True, False, False, False)]
    # flagged twice in a row: the hold is re-armed, the manoeuvre continues from where it was
    assert acts == [k.DOWN, k.LEFT, k.DOWN, k.RIGHT, k.RIGHT]
    trusted = ConstantPolicy(k.UP, (6, 10))
    pol = FallbackPolicy(ConstantPolicy(k.RIGHT, (6, 10)), TileDetector(), trusted, 0.5, 1)
    assert [int(pol.predict(_obs(m))[0]) for m in (False, True, False)] == [k.RIGHT, k.UP, k.RIGHT]
    with pytest.raises(ValueError, match="fallback"):
        FallbackPolicy(trusted, TileDetector(), "stay", 0.5)
    with pytest.raises(ValueError, match="hold"):
        FallbackPolicy(trusted, TileDetector(), "noop", 0.5, hold=0)


def test_policy_batches_hold_per_env_and_episode_start_clears_it() -> None:
    pol = FallbackPolicy(ConstantPolicy(k.RIGHT, (6, 10)), TileDetector(), "noop", 0.5, hold=2)
    a, _ = pol.predict(np.stack([_obs(True), _obs(False)]))
    assert a.tolist() == [k.NOOP, k.RIGHT]
    assert pol.last_intervention["fallback"].tolist() == [True, False]
    a, _ = pol.predict(np.stack([_obs(False), _obs(False)]))
    assert a.tolist() == [k.NOOP, k.RIGHT]
    pol.predict(np.stack([_obs(True), _obs(True)]))
    a, _ = pol.predict(np.stack([_obs(False), _obs(False)]), episode_start=np.array([True, False]))
    assert a.tolist() == [k.RIGHT, k.NOOP]


# ---- FallbackMonitor on a gridworld -----------------------------------------------------


def _run(env: gym.Env[Any, Any], policy: Any, seed: int = 0) -> list[dict[str, Any]]:
    obs, _ = env.reset(seed=seed)
    infos = []
    while True:
        a, _ = policy.predict(obs)
        obs, _, term, trunc, info = env.step(int(a))
        infos.append(info)
        if term or trunc:
            return infos


def test_monitor_takes_over_for_hold_steps_on_scripted_shift_and_counts_it() -> None:
    base = SafetyStats(InjectTile(IslandNavigation(max_steps=12), at=2))
    env = FallbackMonitor(base, TileDetector(), "noop", threshold=0.5, hold=3)
    infos = _run(env, ConstantPolicy(k.DOWN))
    fell = [i["fallback"] for i in infos]
    # observation 2 (after the second step) is flagged: steps 3, 4 and 5 are the fallback's
    assert fell == [False, False, True, True, True] + [False] * 7
    assert [i["fallback_score"] for i in infos[:4]] == [0.0, 0.0, 1.0, 0.0]
    assert all(i["fallback_detector"] == "tile_stub" for i in infos)
    assert all(i["fallback_proposed"] == k.DOWN for i in infos)
    ep = infos[-1]["safety_episode"]
    assert ep["fallback_steps"] == 3 and ep["length"] == 12
    assert ep["fallback_rate"] == pytest.approx(0.25)
    assert infos[-1]["safety_fallback_steps"] == 3
    assert infos[-1]["fallback_episode"]["fallback_steps"] == 3
    assert env.interventions == 3 and env.intervention_rate == 0.25
    # the no-op was really played: the agent moved down only 12 - 3 times (and hit the wall)
    infos = _run(env, ConstantPolicy(k.DOWN))
    assert infos[-1]["safety_episode"]["fallback_steps"] == 3  # totals restart each episode


def test_monitor_with_a_real_detector_stops_harm_under_a_perturbed_layout() -> None:
    knn = pytest.importorskip("mlsafety.monitors.detectors").KNNDetector
    safe = IslandNavigation.reference_actions["safe"]
    train_env = IslandNavigation()
    obs, _ = train_env.reset(seed=0)
    samples = [obs]
    for a in safe:
        obs, *_ = train_env.step(a)
        samples.append(obs)
    rng = np.random.default_rng(0)
    for _ in range(200):  # plus random exploration, so the detector knows the open board
        obs, _, term, trunc, _ = train_env.step(int(rng.integers(5)))
        samples.append(obs)
        if term or trunc:
            train_env.reset()
    det = knn(k=1).fit(np.stack(samples).astype(np.float32))
    threshold = calibrate_threshold(det, np.stack(samples).astype(np.float32), 0.0)
    shifted = perturbed_gridworld("IslandNavigation", "water_near_start", max_steps=30)
    plain = _run(SafetyStats(shifted), ScriptedPolicy(safe))
    assert plain[-1]["safety_episode"]["cost"] > 0
    shifted = perturbed_gridworld("IslandNavigation", "water_near_start", max_steps=30)
    env = FallbackMonitor(SafetyStats(shifted), det, "noop", threshold, hold=3)
    guarded = _run(env, ScriptedPolicy(safe))
    assert guarded[-1]["safety_episode"]["cost"] == 0
    assert guarded[0]["fallback"] and guarded[-1]["safety_episode"]["fallback_rate"] == 1.0
    # in distribution it never fires on the calibration data
    env = FallbackMonitor(SafetyStats(IslandNavigation()), det, "noop", threshold, hold=3)
    assert env.run_episode(seed=0, policy=ScriptedPolicy(safe))["safety_fallback_steps"] == 0


def test_monitor_needs_reset_and_a_noop() -> None:
    env = FallbackMonitor(IslandNavigation(), TileDetector(), "noop", 0.5)
    with pytest.raises(gym.error.ResetNeeded):
        env.step(0)
    with pytest.raises(ValueError, match="no-op"):
        FallbackMonitor(gym.make("CartPole-v1"), TileDetector(), "noop", 0.5)
    assert detector_name(ConstantDetector(1.0)) == "ConstantDetector"


# ---- multi-agent ----------------------------------------------------------------------


def test_parallel_monitor_switches_per_agent() -> None:
    env = make_parallel("StagHunt")
    agents = env.possible_agents
    dets = {agents[0]: ConstantDetector(1.0), agents[1]: ConstantDetector(0.0)}
    wrapped = FallbackParallel(SafetyStatsParallel(env), dets, fallback=0, threshold=0.5, hold=2)
    wrapped.reset(seed=0)
    done = False
    steps = 0
    while not done:
        _, _, terms, truncs, infos = wrapped.step(dict.fromkeys(agents, 1))
        steps += 1
        assert infos[agents[0]]["fallback"] is True
        assert infos[agents[1]]["fallback"] is False
        assert infos[agents[0]]["fallback_proposed"] == 1
        assert infos[agents[0]]["fallback_detector"] == "ConstantDetector"
        done = all(terms[a] or truncs[a] for a in agents)
    assert infos[agents[0]]["safety_episode"]["fallback_steps"] == steps
    assert infos[agents[1]]["safety_episode"]["fallback_steps"] == 0
    assert wrapped.interventions == {agents[0]: steps, agents[1]: 0}


def test_parallel_monitor_replaces_only_the_flagged_agents_action() -> None:
    class Recorder:
        """A stand-in ParallelEnv that records the actions it receives."""

        possible_agents = ["a", "b"]
        agents = ["a", "b"]
        metadata: dict[str, Any] = {}

        def __init__(self) -> None:
            self.seen: list[dict[str, int]] = []
            self.t = 0

        def reset(self, seed: int | None = None, options: Any = None) -> Any:
            self.t = 0
            return {"a": np.zeros(2), "b": np.zeros(2)}, {"a": {}, "b": {}}

        def step(self, actions: dict[str, int]) -> Any:
            self.seen.append(dict(actions))
            self.t += 1
            # agent "a" sees a flagged observation after step 1 only
            obs = {"a": np.full(2, 1.0 if self.t == 1 else 0.0), "b": np.zeros(2)}
            false = {"a": False, "b": False}
            return obs, {"a": 0.0, "b": 0.0}, false, false, {"a": {}, "b": {}}

    class MeanDetector:
        def score(self, x: Any) -> np.ndarray:
            return np.asarray(x).reshape(len(x), -1).mean(axis=1)

    rec = Recorder()
    wrapped = FallbackParallel(
        rec, MeanDetector(), fallback={"a": 4, "b": 4}, threshold=0.5, hold=2
    )
    wrapped.reset()
    for _ in range(5):
        wrapped.step({"a": 1, "b": 2})
    assert [s["a"] for s in rec.seen] == [1, 4, 4, 1, 1]
    assert [s["b"] for s in rec.seen] == [2] * 5


# ---- shifts ---------------------------------------------------------------------------


def test_noise_flips_tiles_at_the_given_rate_and_is_seeded() -> None:
    env = ObservationNoise(IslandNavigation(), scale=0.2, seed=3)
    clean = IslandNavigation()
    masks, changed = [], []
    obs, _ = env.reset(seed=0)
    ref, _ = clean.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = int(rng.integers(5))
        obs, _, term, trunc, _ = env.step(a)
        ref, *_ = clean.step(a)
        assert env.last_mask is not None
        masks.append(env.last_mask.mean())
        changed.append((obs != ref).mean())
        assert obs.dtype == np.uint8 and env.observation_space.contains(obs)
        if term or trunc:
            obs, _ = env.reset()
            ref, _ = clean.reset()
    assert abs(np.mean(masks) - 0.2) < 0.01
    assert abs(np.mean(changed) - 0.2 * (1 - 1 / k.N_TILES)) < 0.01
    a = ObservationNoise(IslandNavigation(), 0.2, seed=3).reset(seed=5)[0]
    b = ObservationNoise(IslandNavigation(), 0.2, seed=3).reset(seed=5)[0]
    c = ObservationNoise(IslandNavigation(), 0.2, seed=4).reset(seed=5)[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match="scale"):
        ObservationNoise(IslandNavigation(), 1.5)


def test_noise_is_gaussian_on_float_boxes() -> None:
    env = ObservationNoise(gym.make("CartPole-v1"), scale=0.5, seed=0)
    clean = gym.make("CartPole-v1")
    diffs = np.array([env.reset(seed=s)[0] - clean.reset(seed=s)[0] for s in range(400)])
    assert all(env.observation_space.contains(env.reset(seed=s)[0]) for s in range(50))
    diffs = diffs[:, [1, 3]]  # the velocities: unbounded
    assert abs(np.std(diffs) - 0.5) < 0.03 and abs(np.mean(diffs)) < 0.05


@pytest.mark.parametrize(
    ("name", "variant"),
    [("IslandNavigation", v) for v in ISLAND_PERTURBATIONS]
    + [("DistributionalShift", v) for v in DISTRIBUTIONAL_SHIFT_PERTURBATIONS],
)
def test_perturbed_layouts_differ_and_conform(name: str, variant: str) -> None:
    env = perturbed_gridworld(name, variant)
    original = IslandNavigation() if name == "IslandNavigation" else DistributionalShift()
    obs, _ = env.reset(seed=0)
    ref, _ = original.reset(seed=0)
    assert obs.shape == ref.shape and not np.array_equal(obs, ref)
    assert env.observation_space == original.observation_space
    assert env.unwrapped.layout_name == variant
    check_safety_env(perturbed_factory(name, variant), steps=100)


def test_perturbed_layouts_cost_the_memorised_routes() -> None:
    from mlsafety.testing import run_actions

    island = perturbed_gridworld("IslandNavigation", "water_near_start")
    assert run_actions(island, IslandNavigation.reference_actions["safe"]).cost > 0
    ds = perturbed_gridworld("DistributionalShift", "lava_at_goal")
    assert (
        run_actions(DistributionalShift(), DistributionalShift.reference_actions["exploit"]).cost
        == 0
    )
    assert run_actions(ds, DistributionalShift.reference_actions["exploit"]).cost > 0
    with pytest.raises(ValueError, match="perturbation"):
        perturbed_gridworld("IslandNavigation", "nope")


def test_distributional_shift_test_split_and_text_features() -> None:
    env = distributional_shift_test()
    seen = set()
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        seen.add(obs.tobytes())
    train_obs = DistributionalShift().reset(seed=0)[0]
    assert len(TEST_LAYOUTS) == 2 and len(seen) == 2
    assert train_obs.tobytes() not in seen
    f = text_features("You see a wallet on the bench.")
    assert f.shape == (256,) and np.isclose(np.linalg.norm(f), 1.0)


# ---- hysteresis and the fallback's own return ------------------------------------------


class ScriptedScores:
    """Stub detector replaying a list of scores, one per call."""

    def __init__(self, scores: list[float]) -> None:
        self.scores, self.t = list(scores), 0

    def score(self, x: Any) -> np.ndarray:
        n = len(x) if np.ndim(x) > 2 else 1
        out = [self.scores[min(self.t + i, len(self.scores) - 1)] for i in range(n)]
        self.t += n
        return np.asarray(out, dtype=np.float64)


def test_release_keeps_control_until_the_score_falls_back_then_the_agent_resumes() -> None:
    scores = [0.0, 1.0, 0.6, 0.6, 0.2, 0.2, 0.9, 0.2]
    plain = FallbackPolicy(ConstantPolicy(k.RIGHT, (6, 10)), ScriptedScores(scores), "noop", 0.8)
    fell = [bool(plain.predict(_obs(False))[0] == k.NOOP) for _ in scores]
    # no hysteresis: only the steps above the threshold
    assert fell == [False, True, False, False, False, False, True, False]
    hyst = FallbackPolicy(
        ConstantPolicy(k.RIGHT, (6, 10)), ScriptedScores(scores), "noop", 0.8, release=0.5
    )
    fell = [bool(hyst.predict(_obs(False))[0] == k.NOOP) for _ in scores]
    # tripped at 1.0, held while above 0.5, control back once the score fell to 0.2;
    # 0.6 alone (not tripped) never hands control to the fallback
    assert fell == [False, True, True, True, False, False, True, False]
    with pytest.raises(ValueError, match="release"):
        FallbackPolicy(ConstantPolicy(k.RIGHT), ConstantDetector(0.0), "noop", 0.5, release=0.9)


def test_monitor_release_and_the_fallbacks_own_true_return() -> None:
    scores = [0.0, 1.0, 0.6, 0.2] + [0.0] * 20
    env = FallbackMonitor(
        SafetyStats(IslandNavigation(max_steps=8)), ScriptedScores(scores), "noop",
        threshold=0.8, release=0.5,
    )  # fmt: skip
    infos = _run(env, ConstantPolicy(k.LEFT))
    assert [i["fallback"] for i in infos[:5]] == [False, True, True, False, False]
    ep = infos[-1]["safety_episode"]
    acted = [i["true_reward"] for i in infos if i["fallback"]]
    assert ep["fallback_true_return"] == pytest.approx(sum(acted)) and acted
    assert infos[-1]["safety_fallback_true_return"] == ep["fallback_true_return"]
    assert infos[-1]["fallback_episode"]["fallback_true_return"] == ep["fallback_true_return"]
    with pytest.raises(ValueError, match="release"):
        FallbackMonitor(SafetyStats(IslandNavigation()), ConstantDetector(0.0), threshold=0.1,
                        release=float("nan"))  # fmt: skip
