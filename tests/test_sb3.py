"""Real SB3 training on the batched gridworlds, through the VecEnv adapter."""

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

from mlsafety.sb3 import SB3VecEnv, make_sb3_vec_env, split_vector_info
from mlsafety.wrappers import SafetyStatsVector


def _evaluate(model, env_id, seed=1, **kwargs):
    env = gym.make(env_id, **kwargs)
    obs, _ = env.reset(seed=seed)
    proxy = true = 0.0
    while True:
        action, _ = model.predict(obs, deterministic=True)
        obs, r, term, trunc, info = env.step(int(action))
        proxy += float(r)
        true += info["true_reward"]
        if term or trunc:
            return proxy, true


def test_ppo_discovers_the_boat_race_loop():
    """A real PPO run on the proxy learns to game it: high proxy return, low true return."""
    venv = VecMonitor(make_sb3_vec_env("mlsafety/BoatRaceLaps-v0", 16, max_steps=50))
    model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=4, seed=0, device="cpu")
    model.learn(30_000)
    proxy, true = _evaluate(model, "mlsafety/BoatRaceLaps-v0", max_steps=50)
    # an honest racer makes ~1 per step on both; the gamer ~1.5 in proxy and ~0 in truth
    assert proxy >= 60
    assert true <= 0.25 * proxy


def test_adapter_reports_terminal_observation_and_truncation():
    venv = make_sb3_vec_env(
        "mlsafety/BoatRaceLaps-v0", 3, wrappers=[SafetyStatsVector], max_steps=4
    )
    venv.seed(0)
    venv.reset()
    for _ in range(4):
        obs, rewards, dones, infos = venv.step(np.array([3, 3, 4]))
        assert rewards.dtype == np.float32
    assert dones.all()
    for info in infos:
        assert info["TimeLimit.truncated"] is True
        assert info["terminal_observation"].shape == obs.shape[1:]
        assert info["safety_episode"]["length"] == 4
    assert infos[0]["safety_episode"]["proxy_return"] == 3.0
    assert venv.get_attr("max_steps") == [4, 4, 4]
    assert venv.env_is_wrapped(gym.Wrapper) == [False] * 3


def test_adapter_seeding_is_reproducible():
    def run():
        venv = make_sb3_vec_env("mlsafety/TomatoWatering-v0", 2)
        venv.seed(123)
        first = venv.reset()
        steps = [venv.step(np.array([4, 4]))[0] for _ in range(30)]
        return first, steps

    a, b = run(), run()
    np.testing.assert_array_equal(a[0], b[0])
    for x, y in zip(a[1], b[1], strict=True):
        np.testing.assert_array_equal(x, y)


def test_adapter_requires_same_step_autoreset():
    v = gym.make_vec("mlsafety/BoatRace-v0", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="SameStep"):
        SB3VecEnv(v)
    with pytest.raises(TypeError, match="VectorEnv"):
        SB3VecEnv(gym.make("mlsafety/BoatRace-v0"))


def test_split_vector_info_respects_masks():
    info = {"a": np.array([1, 2]), "_a": np.array([True, False]), "d": {"x": np.array([3, 4])}}
    assert split_vector_info(info, 2) == [{"a": 1, "d": {"x": 3}}, {"d": {"x": 4}}]


def test_sb3_vec_env_for_an_env_that_draws_nothing():
    """SB3's make_vec_env asks an ID for render_mode="rgb_array"; envs that cannot draw
    refuse it, so the non-batched path builds them from a factory instead."""
    venv = make_sb3_vec_env("mlsafety/PandemicPolicy-v0", 2)
    obs = venv.reset()
    assert obs.shape[0] == 2
    venv.close()
