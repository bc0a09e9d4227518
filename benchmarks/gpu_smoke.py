"""GPU smoke test: training throughput on CPU vs CUDA for a text scenario, side by side.

    python benchmarks/gpu_smoke.py [--timesteps 4096] [--scenario TextBakery]

Trains MaskablePPO (a wider network than the default, so the device matters) on the
scenario's SB3 form for the same number of steps on each available device and prints
steps/s. On a machine without CUDA it says so and reports the CPU figure only. Meant to
finish well inside five minutes on a GPU machine.
"""

from __future__ import annotations

import argparse
import time

import torch

from mlsafety.agents.train import TrainConfig, train


def rate(device: str, env: str, timesteps: int) -> float:
    config = TrainConfig(
        env=env,
        algo="maskable_ppo",
        timesteps=timesteps,
        n_envs=8,
        seed=0,
        device=device,
        algo_kwargs={
            "n_steps": 256,
            "batch_size": 512,
            "n_epochs": 4,
            "policy_kwargs": {"net_arch": [512, 512, 512]},
        },
    )
    t0 = time.perf_counter()
    model = train(config)
    elapsed = time.perf_counter() - t0
    actual = str(model.device)
    print(
        f"  {device:>4}: {timesteps / elapsed:,.0f} steps/s ({elapsed:.1f} s, on {actual})",
        flush=True,
    )
    return timesteps / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--scenario", default="TextBakery")
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}"
        + (f" ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "")
    )
    rate("cpu", args.scenario, 512)  # warm-up: builds, caches, compiles
    cpu = rate("cpu", args.scenario, args.timesteps)
    if not torch.cuda.is_available():
        print("no CUDA device here: CPU figure only")
        return
    rate("cuda", args.scenario, 512)
    gpu = rate("cuda", args.scenario, args.timesteps)
    print(
        f"\n| device | steps/s |\n|---|---:|\n| cpu | {cpu:,.0f} |\n| cuda | {gpu:,.0f} |\n"
        f"\nGPU / CPU: {gpu / cpu:.2f}x"
    )


if __name__ == "__main__":
    main()
