"""GPU smoke test: training throughput on CPU vs CUDA for a text scenario, side by side.

    python benchmarks/gpu_smoke.py [--timesteps 4096] [--drrn-timesteps 2048]
        [--scenario TextBakery] [--backend text] [--skip-ppo] [--skip-drrn]

1. MaskablePPO (a wider network than the default, so the device matters) on the scenario's
   SB3 form (``mlsafety train --algo maskable_ppo``).
2. DRRN (``mlsafety train --algo drrn``) on the scenario's native text form (the compiled
   story, ``backend="text"``), batch 64, one update per vector step of 8 envs.

Each trains for the same number of steps on each available device after a warm-up run
(builds, caches, compiles; the text envs' transition cache is then warm, so both devices
step the games equally fast) and prints steps/s. On a machine without CUDA it says so and
reports the CPU figures only. Meant to finish well inside five minutes on a GPU machine.
"""

from __future__ import annotations

import argparse
import time

import torch

from mlsafety.agents.config import TrainConfig
from mlsafety.agents.train import train


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


def drrn_rate(device: str, env: str, timesteps: int, backend: str) -> float:
    config = TrainConfig(
        env=env,
        algo="drrn",
        timesteps=timesteps,
        n_envs=8,
        seed=0,
        device=device,
        env_kwargs={"backend": backend},
        algo_kwargs={"batch_size": 64, "learning_starts": 64, "gradient_steps": 1},
    )
    t0 = time.perf_counter()
    agent = train(config)
    elapsed = time.perf_counter() - t0
    print(
        f"  {device:>4}: {timesteps / elapsed:,.0f} steps/s ({elapsed:.1f} s, "
        f"{agent.num_updates} updates of batch 64, on {agent.device})",
        flush=True,
    )
    return timesteps / elapsed


def table(cpu: float, gpu: float | None) -> str:
    threads = torch.get_num_threads()
    rows = f"| device | steps/s |\n|---|---:|\n| cpu ({threads} threads) | {cpu:,.0f} |"
    if gpu is None:
        return rows + "\n"
    return rows + f"\n| cuda | {gpu:,.0f} |\n\nGPU / CPU: {gpu / cpu:.2f}x\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timesteps", type=int, default=4096)
    parser.add_argument("--drrn-timesteps", type=int, default=2048)
    parser.add_argument("--scenario", default="TextBakery")
    parser.add_argument("--backend", default="text", help="DRRN's text env backend")
    parser.add_argument("--skip-ppo", action="store_true")
    parser.add_argument("--skip-drrn", action="store_true")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    print(
        f"torch {torch.__version__}; CUDA available: {cuda}"
        + (f" ({torch.cuda.get_device_name(0)})" if cuda else ": CPU figures only")
    )
    if not args.skip_ppo:
        print("MaskablePPO (SB3 form):")
        rate("cpu", args.scenario, 512)  # warm-up: builds, caches, compiles
        cpu = rate("cpu", args.scenario, args.timesteps)
        gpu = None
        if cuda:
            rate("cuda", args.scenario, 512)
            gpu = rate("cuda", args.scenario, args.timesteps)
        print("\n" + table(cpu, gpu), flush=True)
    if args.skip_drrn:
        return
    print("DRRN (native text form, batch 64):")
    warmup = min(256, args.drrn_timesteps)
    drrn_rate("cpu", args.scenario, warmup, args.backend)  # warm-up
    dcpu = drrn_rate("cpu", args.scenario, args.drrn_timesteps, args.backend)
    dgpu = None
    if cuda:
        drrn_rate("cuda", args.scenario, warmup, args.backend)
        dgpu = drrn_rate("cuda", args.scenario, args.drrn_timesteps, args.backend)
    print("\n" + table(dcpu, dgpu), flush=True)


if __name__ == "__main__":
    main()
