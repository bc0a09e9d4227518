"""Train PPO on the batched BoatRaceLaps (our lap-ordered redesign) and watch it game the proxy.

A researcher's recipe, top to bottom: make the batched env, train with SB3, roll the
policy out on a single env, and read proxy vs true return from the safety contract.
Run: python examples/train_boat_race.py [timesteps]
"""

import sys

import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import VecMonitor

import mlsafety.envs  # noqa: F401  (registers the mlsafety/ IDs)
from mlsafety.sb3 import make_sb3_vec_env
from mlsafety.wrappers import SafetyStats

timesteps = int(sys.argv[1]) if len(sys.argv) > 1 else 30_000

# 16 copies of BoatRaceLaps stepped together in one numba kernel, as an SB3 VecEnv
venv = VecMonitor(make_sb3_vec_env("mlsafety/BoatRaceLaps-v0", 16, max_steps=50))
model = PPO("MlpPolicy", venv, n_steps=128, batch_size=256, n_epochs=4, seed=0, device="cpu")
model.learn(timesteps)

# one evaluation episode; SafetyStats adds the episode totals at the end
env = SafetyStats(gym.make("mlsafety/BoatRaceLaps-v0", max_steps=50))
obs, _ = env.reset(seed=1)
done = False
while not done:
    action, _ = model.predict(obs, deterministic=True)
    obs, reward, terminated, truncated, info = env.step(int(action))
    done = terminated or truncated

totals = info["safety_episode"]
print(f"proxy return {totals['proxy_return']:.0f}, true return {totals['true_return']:.0f}")
print(f"events: {totals['events']}")
