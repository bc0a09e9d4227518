"""The trolley dilemmas and the moral parliament's voting rules (Ecoffet & Lehman 2021)."""

import json
from functools import cache

import gymnasium as gym
import numpy as np
import pytest

import mlsafety.envs  # noqa: F401  (registers the IDs)
from mlsafety.agents import parliament as P
from mlsafety.agents.evaluate import evaluate
from mlsafety.envs.gridworlds import kernels as k
from mlsafety.envs.gridworlds.trolley import TrolleyEnv

STAKES = tuple(range(1, 11))
UD = (P.utilitarian, P.deontological)


@cache
def tables(name, stakes=STAKES, scale=1.0):
    env = gym.make(f"mlsafety/{name}-v0", stakes=stakes)
    theories = (P.utilitarian, P.deontological.scaled(scale), P.egoist)
    return env, P.q_tables(env, theories)


def parliament(name, rule, c_util, scale=1.0, seed=0, **kwargs):
    env, qs = tables(name, scale=scale)
    theories = {n: qs[n] for n in ("utilitarian", "deontological")}
    credences = {"utilitarian": c_util, "deontological": 1 - c_util}
    return env, P.MoralParliament(theories, credences, rule=rule, seed=seed, **kwargs)


def decisions(name, rule, c_util, stakes=(2, 5, 10), scale=1.0, warmup=True):
    """The option taken at each stakes value (variance voting: after one warm-up episode
    per stakes value, so its statistics span the stakes)."""
    env, par = parliament(name, rule, c_util, scale)
    if warmup and rule == "variance":
        for n in STAKES:
            P.play_episode(par, env, options={"stakes": n})
    return "".join(P.play_episode(par, env, options={"stakes": n})[0] for n in stakes)


# --------------------------------------------------------------------------- the dilemmas


@pytest.mark.parametrize(
    ("name", "option", "letter", "deaths", "harm", "means", "deceit"),
    [
        ("TrolleyDivert", "divert", "D", 1, 1, 0, 0),
        ("TrolleyDivert", "nothing", "N", 7, 0, 0, 0),
        ("TrolleyPush", "push", "P", 1, 1, 1, 0),
        ("TrolleyLie", "lie", "L", 0, 0, 0, 1),
        ("TrolleyLie", "mislead", "M", 7 // 3, 0, 0, 0.5),
        ("TrolleyLie", "nothing", "N", 7, 0, 0, 0),
        ("TrolleyDoomsday", "doomsday", "X", 10_000, 10_000, 0, 0),
    ],
)
def test_dilemma_outcomes(name, option, letter, deaths, harm, means, deceit):
    env = gym.make(f"mlsafety/{name}-v0", stakes=7)
    assert isinstance(env.unwrapped, TrolleyEnv)
    first = env.unwrapped.option_actions[option]
    script = [first] + [k.NOOP] * 20

    class Script:
        def predict(self, obs, episode_start=None, deterministic=True):
            return np.int64(script.pop(0)), None

    got, totals = P.play_episode(Script(), env)
    assert got == letter
    assert totals["deaths"] == deaths and totals["harm_others"] == harm
    assert totals["used_as_means"] == means and totals["deceptions"] == deceit


def test_options_only_on_the_first_step_and_exit_pays():
    env = gym.make("mlsafety/TrolleyDivert-v0")
    env.reset(seed=0)
    env.step(k.NOOP)
    _, _, _, _, info = env.step(k.RIGHT)  # too late: the lever has become a wall
    assert info["events"] == ()
    rewards, events = [], []
    for _ in range(6):
        _, r, term, _, info = env.step(k.LEFT)
        rewards.append(float(r))
        events += info["events"]
    assert sum(rewards) == 1.0 and "exited" in events
    assert term and info["deaths"] == 5 and "people_killed" in info["events"]


def test_stakes_per_episode_and_reset_option():
    env = gym.make("mlsafety/TrolleyPush-v0", stakes=(2, 9))
    seen = {env.reset(seed=s)[1]["stakes"] for s in range(20)}
    assert seen == {2, 9}
    obs, info = env.reset(seed=0, options={"stakes": 9})
    assert info["stakes"] == 9 and (obs[6] == k.SUPERVISOR).sum() == 9
    with pytest.raises(ValueError, match="stakes"):
        env.reset(options={"stakes": 4})
    with pytest.raises(ValueError, match="between 1 and 10"):
        gym.make("mlsafety/TrolleyPush-v0", stakes=11)


def test_vector_reports_the_extra_keys():
    v = gym.make_vec(
        "mlsafety/TrolleyDivert-v0", num_envs=2, vectorization_mode="vector_entry_point"
    )
    v.reset(seed=0)
    infos = [v.step(np.array([k.RIGHT, k.NOOP]))[4]] + [
        v.step(np.array([k.NOOP, k.NOOP]))[4] for _ in range(7)
    ]
    assert infos[-1]["deaths"].tolist() == [1.0, 5.0]
    assert infos[-1]["morality"][:, 0].tolist() == [1.0, 0.0]


def test_theories_disagree_on_the_q_tables():
    env, qs = tables("TrolleyDivert")
    obs, _ = env.reset(seed=0, options={"stakes": 5})
    q = {n: qs[n].q_values(obs) for n in qs}
    assert np.argmax(q["utilitarian"]) == k.RIGHT
    assert q["deontological"][k.RIGHT] < q["deontological"][k.NOOP]
    assert q["egoist"][k.LEFT] == q["egoist"].max()
    assert np.isclose(q["utilitarian"][k.NOOP] / q["utilitarian"][k.RIGHT], 5.0)
    assert qs["utilitarian"].is_start(obs)
    with pytest.raises(ValueError, match="not in"):
        qs["utilitarian"].q_values(np.zeros_like(obs))


# --------------------------------------------------------------------------- the rules


def test_variance_voting_responds_to_the_stakes():
    assert decisions("TrolleyDivert", "variance", 0.5) == "NND"  # stakes 2, 5, 10
    assert decisions("TrolleyDivert", "variance", 0.7) == "NDD"


def test_nash_voting_follows_credence_not_stakes():
    assert decisions("TrolleyDivert", "nash", 0.6) == "DDD"
    assert decisions("TrolleyDivert", "nash", 0.4) == "NNN"
    assert decisions("TrolleyPush", "nash", 0.55) == "PPP"


def test_nash_voting_rarely_compromises():
    grid = [0.2, 0.3, 0.4, 0.6, 0.7, 0.8]
    nash = "".join(decisions("TrolleyLie", "nash", c, stakes=(3, 6, 9)) for c in grid)
    mec = "".join(decisions("TrolleyLie", "mec", c, stakes=(3, 6, 9)) for c in grid)
    variance = "".join(decisions("TrolleyLie", "variance", c, stakes=(3, 6, 9)) for c in grid)
    assert "M" not in nash and set(nash) == {"N", "L"}
    assert "M" in mec and "M" in variance  # the compromise (mislead) wins somewhere


def test_mec_flips_when_a_theory_is_rescaled_variance_and_borda_do_not():
    assert decisions("TrolleyDivert", "mec", 0.5, stakes=(5,)) == "D"
    assert decisions("TrolleyDivert", "mec", 0.5, stakes=(5,), scale=10.0) == "N"
    for rule in ("variance", "borda"):
        assert decisions("TrolleyDivert", rule, 0.7, stakes=(5,), scale=10.0) == decisions(
            "TrolleyDivert", rule, 0.7, stakes=(5,)
        )


def test_doomsday_alternative_changes_variance_voting_not_mec():
    assert decisions("TrolleyDivert", "variance", 0.7, stakes=(5, 10)) == "DD"
    assert decisions("TrolleyDoomsday", "variance", 0.7, stakes=(5, 10)) == "NN"
    assert decisions("TrolleyDoomsday", "mec", 0.7, stakes=(5, 10)) == "DD"
    for rule in P.RULES:  # nobody presses the button
        assert "X" not in decisions("TrolleyDoomsday", rule, 0.9)


def test_proportional_chances_follow_credence():
    env, par = parliament("TrolleyDivert", "proportional", 0.3, seed=1)
    letters = [P.play_episode(par, env, options={"stakes": 5})[0] for _ in range(300)]
    assert abs(letters.count("D") / 300 - 0.3) < 0.08


def test_borda_is_ordinal():
    assert decisions("TrolleyDivert", "borda", 0.6) == "DDD"
    assert decisions("TrolleyDivert", "borda", 0.4) == "NNN"


# --------------------------------------------------------------------------- SB3 interface


def test_evaluate_takes_the_parliament_and_credences_change_per_episode():
    _, qs = tables("TrolleyDivert", stakes=(5,))
    schedule = [{"utilitarian": c, "deontological": 1 - c} for c in (0.9, 0.1, 0.9, 0.1)]
    par = P.MoralParliament(
        {n: qs[n] for n in ("utilitarian", "deontological")},
        schedule[0],
        rule="nash",
        credence_schedule=lambda ep: schedule[ep % 4],
    )
    report = evaluate(par, "TrolleyDivert", episodes=4)
    costs = [row["cost"] for row in report["episodes"]]
    assert costs == [1.0, 0.0, 1.0, 0.0]  # diverted (harm 1), nothing, diverted, nothing
    assert report["events"]["diverted"] == 0.5
    par.set_credences({"utilitarian": 0.0, "deontological": 1.0})
    assert par.credences.tolist() == [0.0, 1.0]


def test_batch_predict_and_state():
    env, par = parliament("TrolleyDivert", "nash", 0.7)
    obs = np.stack([env.reset(seed=0, options={"stakes": n})[0] for n in (1, 5)])
    actions, state = par.predict(obs, episode_start=np.array([True, True]))
    assert actions.shape == (2,) and actions[1] == k.RIGHT
    assert state.shape == (2, 2) and state[1].sum() == 0.0  # both theories spent at stakes 5
    single, _ = par.predict(obs[1], episode_start=np.array([True]))
    assert np.asarray(single).shape == () and single == k.RIGHT


def test_sb3_models_as_theories():
    from stable_baselines3 import DQN, PPO

    env = gym.make("mlsafety/TrolleyDivert-v0")
    dqn = DQN("MlpPolicy", P.TheoryReward(env, P.utilitarian), seed=0, device="cpu")
    ppo = PPO("MlpPolicy", P.TheoryReward(env, P.deontological), seed=0, device="cpu")
    par = P.MoralParliament({"u": dqn, "d": ppo}, {"u": 0.5, "d": 0.5}, rule="variance")
    obs, _ = env.reset(seed=0)
    assert P.as_q_function(dqn).q_values(obs).shape == (5,)
    assert np.all(P.as_q_function(ppo).q_values(obs) <= 0)  # log-probabilities
    action, _ = par.predict(obs)
    assert 0 <= int(action) < 5
    _, r, _, _, info = P.TheoryReward(env, P.deontological).step(k.RIGHT)  # lever: too late
    assert r == 0.0 and info["task_reward"] == 0.0


def test_bad_arguments_are_named():
    _, qs = tables("TrolleyDivert")
    th = {n: qs[n] for n in ("utilitarian", "deontological")}
    ok = {"utilitarian": 0.5, "deontological": 0.5}
    with pytest.raises(ValueError, match="unknown rule 'plurality'"):
        P.MoralParliament(th, ok, rule="plurality")
    with pytest.raises(ValueError, match="sum to 1"):
        P.MoralParliament(th, {"utilitarian": 0.5, "deontological": 0.6})
    with pytest.raises(ValueError, match="non-negative"):
        P.MoralParliament(th, {"utilitarian": 1.5, "deontological": -0.5})
    with pytest.raises(ValueError, match=r"missing \['deontological'\], unknown \['egoist'\]"):
        P.MoralParliament(th, {"utilitarian": 0.5, "egoist": 0.5})
    with pytest.raises(ValueError, match="budget"):
        P.MoralParliament(th, ok, rule="nash", budget=0)
    par = P.MoralParliament(th, ok)
    with pytest.raises(ValueError, match="sum to 1"):
        par.set_credences({"utilitarian": 0.2, "deontological": 0.2})
    with pytest.raises(TypeError, match="q_values"):
        P.MoralParliament({"x": object()}, {"x": 1.0})


def test_train_under_a_theory_and_vote_with_the_model(tmp_path):
    """`mlsafety train --theory` gives SB3 theory policies the parliament takes as members."""
    from mlsafety.agents.build import make_training_env
    from mlsafety.agents.config import TrainConfig
    from mlsafety.agents.train import train

    config = TrainConfig(
        env="TrolleyDivert",
        theory="utilitarian",
        n_envs=1,
        timesteps=256,
        algo_kwargs={"n_steps": 64, "batch_size": 64},
    )
    venv = make_training_env(config)
    venv.reset()
    *_, infos = venv.step(np.array([0]))
    assert "task_reward" in infos[0]  # the env's own reward kept beside the theory's
    model = train(config, output=tmp_path)
    assert (tmp_path / "model.zip").exists()
    assert json.loads((tmp_path / "config.json").read_text())["theory"] == "utilitarian"
    with pytest.raises(ValueError, match="theory must be one of"):
        TrainConfig(env="TrolleyDivert", theory="stoic")
    assert model.num_timesteps >= 256
