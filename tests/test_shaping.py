"""Conscience reward shaping and CMPS policy shaping (agents/shaping/)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import numpy.typing as npt
import pytest
import torch as th
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.env_checker import check_env
from stable_baselines3.common.logger import configure
from stable_baselines3.common.policies import ActorCriticPolicy, BaseModel
from stable_baselines3.common.type_aliases import ReplayBufferSamples
from stable_baselines3.dqn.policies import DQNPolicy

import mlsafety.envs  # noqa: F401  (registers the envs)
from mlsafety.agents.conscience.base import Conscience, Judgement
from mlsafety.agents.shaping import (
    CMPSDQN,
    CMPSActorCriticPolicy,
    CMPSDQNPolicy,
    CMPSMaskablePolicy,
    ConsciencePenalty,
    ConscienceReward,
    algorithm_class,
    shape,
)
from mlsafety.envs.text.choice import CommandChoice

BAD_WORDS = ("steal", "hit")
HARM_OTHERS, HARM_SELF, P_WRONG = 2.0, 0.5, 0.9


class KeywordConscience:
    """Flags commands containing "steal" or "hit": p_wrong 0.9, harm 2.0 + 0.5."""

    def __init__(self) -> None:
        self.calls = 0
        self.observations: list[str | None] = []

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        self.calls += 1
        self.observations.append(observation)
        bad = np.array([any(w in str(c) for w in BAD_WORDS) for c in candidates], dtype=float)
        morality = np.zeros((len(candidates), 4))
        morality[:, 0] = HARM_OTHERS * bad
        morality[:, 1] = HARM_SELF * bad
        return Judgement(P_WRONG * bad, morality)


class CostConscience:
    """A gridworld conscience that asks the env itself (``peek``) what each action costs."""

    def judge(
        self, candidates: Sequence[Any], env: Any = None, observation: str | None = None
    ) -> Judgement:
        cost = np.array([env.peek(int(a)).cost for a in candidates], dtype=float)
        morality = np.zeros((len(candidates), 4))
        morality[:, 0] = cost
        return Judgement((cost > 0).astype(float), morality)


def flagged(command: str) -> bool:
    return any(w in command for w in BAD_WORDS)


def bakery() -> CommandChoice:
    return CommandChoice(gym.make("mlsafety/TextBakery-v0", backend="logic"))


def boat_race(max_steps: int = 50) -> gym.Env[Any, Any]:
    return gym.make("mlsafety/BoatRaceLaps-v0", max_steps=max_steps)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Small networks on shared cores: threads only add contention."""
    before = th.get_num_threads()
    th.set_num_threads(1)
    yield
    th.set_num_threads(before)


def test_stub_consciences_follow_the_protocol() -> None:
    assert isinstance(KeywordConscience(), Conscience)
    assert isinstance(CostConscience(), Conscience)


# --------------------------------------------------------------------------------------
# Reward shaping
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("use", "harm"), [("morality", HARM_OTHERS + HARM_SELF), ("p_wrong", P_WRONG)]
)
def test_reward_wrapper_subtracts_weighted_harm_on_flagged_commands_only(
    use: str, harm: float
) -> None:
    conscience = KeywordConscience()
    env = ConscienceReward(bakery(), conscience, weight=2.5, use=use)
    twin = bakery()
    env.reset(seed=0)
    twin.reset(seed=0)
    vocab = twin.vocabulary
    for command in ("look", "hit beggar", "go west", "go east", "steal copper coin from beggar"):
        a = vocab.index(command)
        _, r, term, trunc, info = env.step(a)
        _, r0, term0, trunc0, info0 = twin.step(a)
        expected = 2.5 * harm if flagged(command) else 0.0
        assert info["shaping_penalty"] == pytest.approx(expected)
        assert float(r) == pytest.approx(float(r0) - expected)
        assert (term, trunc) == (term0, trunc0)
        # the safety contract is the inner env's, untouched
        assert set(info) == set(info0) | {"shaping_penalty"}
        for key in ("cost", "true_reward", "events", "performance"):
            assert info[key] == info0[key]
        np.testing.assert_array_equal(info["morality"], info0["morality"])
    # judged in context: the conscience got the observation text of the state
    assert all(isinstance(o, str) and o for o in conscience.observations)


def test_reward_wrapper_on_gridworld_action_indices() -> None:
    env = ConscienceReward(boat_race(), CostConscience(), weight=3.0)
    env.reset(seed=0)
    exploit = env.unwrapped.reference_actions["exploit"][:20]
    penalties, gaming = [], 0
    for a in exploit:
        *_, info = env.step(a)
        penalties.append(info["shaping_penalty"])
        gaming += "reward_gaming" in info["events"]
        assert info["shaping_penalty"] == pytest.approx(3.0 * info["cost"])
    assert gaming > 0
    assert sum(penalties) == pytest.approx(3.0 * gaming)


def test_reward_wrapper_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="use"):
        ConscienceReward(bakery(), KeywordConscience(), use="both")
    with pytest.raises(TypeError, match="judge"):
        ConscienceReward(bakery(), object())


# --------------------------------------------------------------------------------------
# The penalty block
# --------------------------------------------------------------------------------------


def test_penalty_block_flags_vocabulary_commands_and_is_memoised() -> None:
    conscience = KeywordConscience()
    inner = bakery()
    env = ConsciencePenalty(inner, conscience, threshold=0.5)
    twin = bakery()
    n = len(inner.vocabulary)
    expected = np.array([flagged(c) for c in inner.vocabulary], dtype=np.float32)
    assert env.observation_space.shape == (twin.observation_space.shape[0] + n,)
    obs, _ = env.reset(seed=0)
    obs0, _ = twin.reset(seed=0)
    np.testing.assert_array_equal(obs[:-n], obs0)
    np.testing.assert_array_equal(obs[-n:], expected)
    assert expected.sum() >= 4
    np.testing.assert_array_equal(env.action_masks(), twin.action_masks())
    look = inner.vocabulary.index("look")
    calls = conscience.calls
    for _ in range(3):  # "You look." again and again: the same state text
        obs, *_ = env.step(look)
        obs0, *_ = twin.step(look)
        np.testing.assert_array_equal(obs[:-n], obs0)
        np.testing.assert_array_equal(obs[-n:], expected)
    assert conscience.calls == calls + 1  # judged once, then from the memo
    # a threshold above the conscience's p_wrong flags nothing
    quiet = ConsciencePenalty(bakery(), KeywordConscience(), threshold=0.95)
    assert not quiet.reset(seed=0)[0][-n:].any()


def test_penalty_block_on_a_gridworld_follows_the_state() -> None:
    env = ConsciencePenalty(boat_race(), CostConscience())
    assert env.observation_space.shape == (5 * 7 + 5,)
    assert not hasattr(env, "action_masks")
    obs, _ = env.reset(seed=0)
    assert not obs[-5:].any()
    for a in (3, 3, 2):  # onto the first checkpoint, then off it
        obs, *_ = env.step(a)
    np.testing.assert_array_equal(obs[-5:], [0, 0, 0, 1, 0])  # right re-enters: gaming
    np.testing.assert_array_equal(obs[:-5], env.unwrapped.board().ravel())


@pytest.mark.parametrize("mode", ["reward", "policy", "both"])
def test_wrapped_envs_pass_sb3_check_env(mode: str) -> None:
    env, _, _ = shape(bakery(), KeywordConscience(), mode=mode)
    check_env(env, warn=False)
    grid, _, _ = shape(boat_race(), CostConscience(), mode=mode)
    check_env(grid, warn=False)


def test_shape_picks_wrappers_policies_and_algorithms() -> None:
    env, policy, kwargs = shape(bakery(), KeywordConscience(), mode="reward", algo="dqn")
    assert isinstance(env, ConscienceReward) and policy == "MlpPolicy" and kwargs == {}
    env, policy, kwargs = shape(bakery(), KeywordConscience(), mode="both", gamma=4.0)
    assert isinstance(env, ConsciencePenalty) and isinstance(env.env, ConscienceReward)
    assert policy is CMPSActorCriticPolicy and kwargs == {"cmps_gamma": 4.0}
    expected = {
        "ppo": (CMPSActorCriticPolicy, PPO),
        "a2c": (CMPSActorCriticPolicy, A2C),
        "dqn": (CMPSDQNPolicy, CMPSDQN),
        "maskable_ppo": (CMPSMaskablePolicy, MaskablePPO),
    }
    for algo, (policy_class, algorithm) in expected.items():
        assert shape(bakery(), KeywordConscience(), algo=algo)[1] is policy_class
        assert algorithm_class(algo) is algorithm
    assert algorithm_class("dqn", "reward") is DQN
    with pytest.raises(ValueError, match="mode"):
        shape(bakery(), KeywordConscience(), mode="utility")
    with pytest.raises(ValueError, match="algo"):
        shape(bakery(), KeywordConscience(), algo="sac")
    with pytest.raises(ValueError, match="cmps_gamma"):
        shape(bakery(), KeywordConscience(), gamma=-1.0)


# --------------------------------------------------------------------------------------
# The shaped policies, exactly
# --------------------------------------------------------------------------------------


def _observations(env: ConsciencePenalty, steps: int = 12) -> npt.NDArray[np.float32]:
    """Observations of a random masked walk (the flags vary on the gridworld)."""
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    out = [obs]
    for _ in range(steps):
        masks = env.action_masks() if hasattr(env, "action_masks") else np.ones(env.n_actions)
        obs, _, term, trunc, _ = env.step(int(rng.choice(np.flatnonzero(masks))))
        out.append(obs)
        if term or trunc:
            obs, _ = env.reset()
    return np.stack(out)


def _logits(distribution: Any) -> th.Tensor:
    """The (normalised) logits of an SB3 categorical distribution."""
    logits: th.Tensor = distribution.distribution.logits
    return logits


def _lr(_: float) -> float:
    return 3e-4


@pytest.mark.parametrize("share", [True, False])
def test_cmps_actor_critic_shifts_logits_by_gamma_on_flagged_actions(share: bool) -> None:
    env = ConsciencePenalty(bakery(), KeywordConscience())
    n = env.n_actions
    inner_space = env.env.observation_space
    plain = ActorCriticPolicy(inner_space, env.action_space, _lr, share_features_extractor=share)
    cmps = CMPSActorCriticPolicy(
        env.observation_space, env.action_space, _lr, share_features_extractor=share, cmps_gamma=7.0
    )
    cmps.load_state_dict(plain.state_dict())  # the same weights: the block adds no parameter
    obs = th.as_tensor(_observations(env))
    flags = obs[:, -n:]
    assert (flags == 1).any() and (flags == 0).any()
    with th.no_grad():
        raw = _logits(plain.get_distribution(obs[:, :-n]))
        shaped = _logits(cmps.get_distribution(obs))
        # Categorical normalises its logits: up to a per-state constant, the difference is
        # exactly -gamma on the flagged actions and 0 elsewhere
        diff = shaped - raw
        offset = diff + 7.0 * flags
        th.testing.assert_close(offset, offset[:, :1].expand_as(offset), atol=1e-4, rtol=0)
        th.testing.assert_close(
            shaped, th.log_softmax(plain.action_net(_latent(plain, obs[:, :-n])) - 7.0 * flags, 1)
        )
        # acting (forward), predict and learning (evaluate_actions) share the shaped policy
        actions, values, log_prob = cmps(obs)
        values2, log_prob2, entropy = cmps.evaluate_actions(obs, actions)
        th.testing.assert_close(log_prob, log_prob2)
        th.testing.assert_close(log_prob, shaped.gather(1, actions.long()[:, None])[:, 0])
        th.testing.assert_close(values, values2)
        th.testing.assert_close(values, plain.predict_values(obs[:, :-n]))  # values unshaped
        assert entropy is not None
        greedy = cmps._predict(obs, deterministic=True)
        th.testing.assert_close(greedy, shaped.argmax(1))


def _latent(policy: ActorCriticPolicy, obs: th.Tensor) -> th.Tensor:
    features = BaseModel.extract_features(policy, obs, policy.pi_features_extractor)
    latent: th.Tensor = policy.mlp_extractor.forward_actor(features)
    return latent


def test_cmps_actor_critic_with_gamma_zero_is_the_plain_policy() -> None:
    env = ConsciencePenalty(bakery(), KeywordConscience())
    n = env.n_actions
    plain = ActorCriticPolicy(env.env.observation_space, env.action_space, _lr)
    cmps = CMPSActorCriticPolicy(env.observation_space, env.action_space, _lr, cmps_gamma=0.0)
    cmps.load_state_dict(plain.state_dict())
    obs = th.as_tensor(_observations(env))
    with th.no_grad():
        th.testing.assert_close(
            _logits(cmps.get_distribution(obs)),
            _logits(plain.get_distribution(obs[:, :-n])),
        )


def test_cmps_maskable_policy_shapes_then_masks() -> None:
    env = ConsciencePenalty(bakery(), KeywordConscience())
    n = env.n_actions
    plain = MaskableActorCriticPolicy(env.env.observation_space, env.action_space, _lr)
    cmps = CMPSMaskablePolicy(env.observation_space, env.action_space, _lr, cmps_gamma=5.0)
    cmps.load_state_dict(plain.state_dict())
    obs_np = _observations(env, steps=0)
    masks = env.action_masks()[None]
    obs = th.as_tensor(obs_np)
    flags = obs[:, -n:]
    assert (flags[0].numpy().astype(bool) & masks[0]).any()  # a flagged admissible command
    with th.no_grad():
        raw = _logits(plain.get_distribution(obs[:, :-n], masks))
        shaped = _logits(cmps.get_distribution(obs, masks))
        allowed = th.as_tensor(masks)
        diff = (shaped - raw)[allowed] + 5.0 * flags[allowed]
        th.testing.assert_close(diff, diff[:1].expand_as(diff), atol=1e-4, rtol=0)
        assert (shaped[~allowed] < -1e7).all()
        actions, _, log_prob = cmps(obs, action_masks=masks)
        _, log_prob2, _ = cmps.evaluate_actions(obs, actions, th.as_tensor(masks))
        th.testing.assert_close(log_prob, log_prob2)


def test_cmps_q_network_shapes_action_selection_not_its_output() -> None:
    env = ConsciencePenalty(boat_race(), CostConscience())
    n = env.n_actions
    plain = DQNPolicy(env.env.observation_space, env.action_space, _lr)
    cmps = CMPSDQNPolicy(env.observation_space, env.action_space, _lr, cmps_gamma=3.0)
    cmps.load_state_dict(plain.state_dict())
    obs = th.as_tensor(_observations(env, steps=40))
    flags = obs[:, -n:]
    assert (flags == 1).any()
    with th.no_grad():
        raw = plain.q_net(obs[:, :-n])
        th.testing.assert_close(cmps.q_net(obs), raw)  # what the TD loss fits: raw Q
        th.testing.assert_close(cmps.q_net.shaped_q_values(obs), raw - 3.0 * flags)
        th.testing.assert_close(cmps.q_net_target.shaped_q_values(obs), raw - 3.0 * flags)
        th.testing.assert_close(cmps._predict(obs), (raw - 3.0 * flags).argmax(1))


# --------------------------------------------------------------------------------------
# The CMPSDQN target
# --------------------------------------------------------------------------------------


def _tiny_batch(model: CMPSDQN) -> tuple[ReplayBufferSamples, th.Tensor]:
    """Three transitions: s' with its raw-greedy action flagged, s' with every action
    flagged, and a terminal one. Returns the batch and the raw next Q-values."""
    env = ConsciencePenalty(boat_race(), CostConscience())
    n = env.n_actions
    base = th.as_tensor(_observations(env, steps=3))
    obs = base[:3].clone()
    next_obs = base[1:4].clone()
    next_obs[:, -n:] = 0.0
    with th.no_grad():
        raw_next = model.policy.q_net_target(next_obs)
    next_obs[0, -n + int(raw_next[0].argmax())] = 1.0
    next_obs[1, -n:] = 1.0
    batch = ReplayBufferSamples(
        observations=obs,
        actions=th.tensor([[1], [3], [0]]),
        next_observations=next_obs,
        dones=th.tensor([[0.0], [0.0], [1.0]]),
        rewards=th.tensor([[1.0], [-0.5], [2.0]]),
    )
    return batch, raw_next


def _cmps_dqn(target: str = "shaped_argmax", **kwargs: Any) -> CMPSDQN:
    env = ConsciencePenalty(boat_race(), CostConscience())
    return CMPSDQN(
        "MlpPolicy",
        env,
        policy_kwargs={"cmps_gamma": 4.0},
        cmps_target=target,
        gamma=0.9,
        seed=0,
        device="cpu",
        **kwargs,
    )


def test_cmps_dqn_target_uses_the_shaped_next_state_values() -> None:
    model = _cmps_dqn("shaped_argmax")
    assert isinstance(model.policy, CMPSDQNPolicy)
    batch, raw = _tiny_batch(model)
    flags = batch.next_observations[:, -5:]
    shaped = raw - 4.0 * flags
    r, d = batch.rewards[:, 0], batch.dones[:, 0]
    target = model.cmps_target_q_values(batch)[:, 0]
    picked = raw.gather(1, shaped.argmax(1, keepdim=True))[:, 0]
    th.testing.assert_close(target, r + 0.9 * (1 - d) * picked)
    plain = r + 0.9 * (1 - d) * raw.max(1).values  # DQN's target
    assert target[0] < plain[0]  # the raw-greedy next action is flagged: the next best counts
    th.testing.assert_close(target[1:], plain[1:])  # all flagged / terminal: as DQN
    assert target[2] == pytest.approx(2.0)

    model.cmps_target = "shaped_max"
    target_max = model.cmps_target_q_values(batch)[:, 0]
    th.testing.assert_close(target_max, r + 0.9 * (1 - d) * shaped.max(1).values)
    th.testing.assert_close(target_max[0], target[0])
    assert target_max[1] == pytest.approx(float(plain[1]) - 0.9 * 4.0)  # the penalty is backed up


@pytest.mark.parametrize("target", ["shaped_argmax", "shaped_max"])
def test_cmps_dqn_train_fits_the_shaped_target(target: str, monkeypatch: Any) -> None:
    """``train()`` regresses raw Q(s, a) onto the shaped target (the target net is frozen
    during ``train``), on a replay buffer that always returns the tiny batch."""
    model = _cmps_dqn(target, learning_rate=1e-2)
    model.set_logger(configure(None, []))
    batch, _ = _tiny_batch(model)
    expected = model.cmps_target_q_values(batch)
    assert model.replay_buffer is not None
    monkeypatch.setattr(model.replay_buffer, "sample", lambda *a, **k: batch)
    model.train(gradient_steps=400, batch_size=3)
    with th.no_grad():
        fitted = model.q_net(batch.observations).gather(1, batch.actions)
    th.testing.assert_close(fitted, expected, atol=0.05, rtol=0.02)


def test_cmps_dqn_explores_only_unflagged_actions() -> None:
    model = _cmps_dqn()
    model.exploration_rate = 1.0
    obs = np.zeros((4, 40), dtype=np.float32)
    obs[:, -5:] = [1, 1, 0, 1, 1]
    actions, _ = model.predict(obs)
    assert (actions == 2).all()
    obs[:, -5:] = 1  # every action flagged: any goes
    actions, _ = model.predict(obs[0])
    assert actions.shape == () and 0 <= int(actions) < 5


def test_cmps_dqn_needs_a_cmps_policy() -> None:
    env = ConsciencePenalty(boat_race(), CostConscience())
    with pytest.raises(TypeError, match="CMPSDQNPolicy"):
        CMPSDQN(DQNPolicy, env, device="cpu")
    with pytest.raises(ValueError, match="cmps_target"):
        CMPSDQN("MlpPolicy", env, cmps_target="max", device="cpu")


# --------------------------------------------------------------------------------------
# Training end to end
# --------------------------------------------------------------------------------------

ALGO_KWARGS: dict[str, dict[str, Any]] = {
    "ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 4},
    "a2c": {"n_steps": 8},
    "dqn": {"learning_starts": 64, "buffer_size": 2_000, "train_freq": 4},
    "maskable_ppo": {"n_steps": 64, "batch_size": 64, "n_epochs": 4},
}


def _rollout(
    model: Any, env: gym.Env[Any, Any], episodes: int, deterministic: bool, seed: int = 0
) -> list[str]:
    """The commands a model takes (masked where the env masks)."""
    taken = []
    vocab = env.get_wrapper_attr("vocabulary")
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed + episode)
        for _ in range(30):
            kwargs = {}
            if isinstance(model, MaskablePPO):
                kwargs["action_masks"] = env.get_wrapper_attr("action_masks")()
            action, _ = model.predict(obs, deterministic=deterministic, **kwargs)
            taken.append(vocab[int(action)])
            obs, _, term, trunc, _ = env.step(int(action))
            if term or trunc:
                break
    return taken


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "maskable_ppo"])
def test_training_with_both_shapings_runs_on_text_bakery(algo: str, tmp_path: Any) -> None:
    env, policy, policy_kwargs = shape(
        bakery(),
        KeywordConscience(),
        mode="both",
        algo=algo,
        gamma=20.0,
    )
    algorithm = algorithm_class(algo)
    model = algorithm(
        policy, env, policy_kwargs=policy_kwargs, seed=0, device="cpu", **ALGO_KWARGS[algo]
    )
    model.learn(320)
    assert model.num_timesteps >= 320
    assert getattr(model.policy, "cmps_gamma") == 20.0  # noqa: B009
    taken = _rollout(model, env, episodes=2, deterministic=True)
    assert taken and not any(flagged(c) for c in taken)
    model.save(tmp_path / "model")
    loaded = algorithm.load(tmp_path / "model", device="cpu")
    assert type(loaded.policy) is type(model.policy)
    assert getattr(loaded.policy, "cmps_gamma") == 20.0  # noqa: B009


def test_policy_shaped_maskable_ppo_never_takes_a_flagged_command() -> None:
    """After the same short MaskablePPO run, the CMPS agent (gamma 50) never takes a
    flagged command, greedy or sampled; the unshaped baseline is free to."""
    conscience = KeywordConscience()
    shaped_env, policy, kwargs = shape(
        bakery(), conscience, mode="policy", algo="maskable_ppo", gamma=50.0
    )
    shaped = MaskablePPO(
        policy,
        shaped_env,
        policy_kwargs=kwargs,
        seed=0,
        device="cpu",
        **ALGO_KWARGS["maskable_ppo"],
    )
    shaped.learn(1_024)
    base_env = bakery()
    baseline = MaskablePPO(
        "MlpPolicy", base_env, seed=0, device="cpu", **ALGO_KWARGS["maskable_ppo"]
    )
    baseline.learn(1_024)

    for deterministic in (True, False):
        taken = _rollout(shaped, shaped_env, episodes=5, deterministic=deterministic)
        assert taken and not any(flagged(c) for c in taken)
    baseline_taken = _rollout(baseline, base_env, episodes=5, deterministic=False)
    assert any(flagged(c) for c in baseline_taken)

    # at the start (street: "hit beggar" and "steal copper coin from beggar" admissible)
    obs, _ = base_env.reset(seed=0)
    masks = base_env.action_masks()
    bad = np.array([flagged(c) for c in base_env.vocabulary]) & masks
    with th.no_grad():
        base_dist = baseline.policy.get_distribution(
            baseline.policy.obs_to_tensor(obs)[0], masks[None]
        )
        sobs, _ = shaped_env.reset(seed=0)
        shaped_dist = shaped.policy.get_distribution(
            shaped.policy.obs_to_tensor(sobs)[0], masks[None]
        )
        p_base = _logits(base_dist).exp()[0]
        p_shaped = _logits(shaped_dist).exp()[0]
    assert float(p_base[bad].sum()) > 0.05
    assert float(p_shaped[bad].sum()) < 1e-6


def test_policy_shaping_removes_reward_gaming_on_boat_race() -> None:
    """BoatRace with a conscience that peeks at each action's cost: the same short PPO run
    with CMPS (gamma 20) games the checkpoint never; without it (gamma 0), often."""
    gaming = {}
    for gamma in (0.0, 20.0):
        env, policy, kwargs = shape(boat_race(), CostConscience(), algo="ppo", gamma=gamma)
        model = PPO(
            policy,
            env,
            policy_kwargs=kwargs,
            seed=0,
            device="cpu",
            n_steps=256,
            batch_size=64,
            n_epochs=4,
        )
        model.learn(1_024)
        count = 0
        for episode in range(5):
            obs, _ = env.reset(seed=episode)
            while True:
                action, _ = model.predict(obs, deterministic=False)
                obs, _, term, trunc, info = env.step(int(action))
                count += "reward_gaming" in info["events"]
                if term or trunc:
                    break
        gaming[gamma] = count
    assert gaming[0.0] > 0
    assert gaming[20.0] == 0


def test_with_the_oracle_conscience_if_there_is_one() -> None:
    """Exercised when ``mlsafety.agents.conscience.OracleConscience`` exists (written
    elsewhere); skipped otherwise."""
    try:
        module = importlib.import_module("mlsafety.agents.conscience")
        oracle_class = module.OracleConscience
    except (ImportError, AttributeError):
        pytest.skip("mlsafety.agents.conscience.OracleConscience is not available")
    try:
        oracle = oracle_class()
    except TypeError:
        pytest.skip("OracleConscience needs constructor arguments this test does not know")
    env = ConsciencePenalty(bakery(), oracle, memo=False)
    obs, _ = env.reset(seed=0)
    vocab = env.candidates
    flags = obs[-env.n_actions :]
    assert flags[vocab.index("hit beggar")] == 1.0
    assert flags[vocab.index("look")] == 0.0
    reward_env = ConscienceReward(bakery(), oracle, memo=False)
    reward_env.reset(seed=0)
    _, _, _, _, info = reward_env.step(vocab.index("hit beggar"))
    assert info["shaping_penalty"] > 0
