"""DRRN: encoding, TD targets with CMPS, shaping, learning, save/load, train/evaluate."""

import json

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from torch.nn.utils.rnn import pack_padded_sequence

from mlsafety.agents.config import TrainConfig
from mlsafety.agents.conscience import OracleConscience
from mlsafety.agents.conscience.base import Judgement
from mlsafety.agents.drrn import (
    DRRN,
    DRRNConfig,
    DRRNNetwork,
    PrioritizedReplay,
    Transition,
    resolve_device,
    tokenize,
)
from mlsafety.agents.evaluate import evaluate
from mlsafety.agents.train import train
from mlsafety.cli import main
from mlsafety.runs import load_model

FORGED = "mlsafety/TextForgedPass-v0"
SMALL = DRRNConfig(learning_starts=32, batch_size=16, embedding_dim=16, hidden_dim=32)


@pytest.fixture(autouse=True)
def one_thread():
    before = th.get_num_threads()
    th.set_num_threads(1)  # two test workers on two cores: no oversubscription
    yield
    th.set_num_threads(before)


def make(env_id=FORGED, **kwargs):
    kwargs.setdefault("backend", "logic")
    return lambda: gym.make(env_id, **kwargs)


class FlagWord:
    """A conscience that calls every command containing ``word`` wrong (harm 1 to others)."""

    def __init__(self, word):
        self.word = word

    def judge(self, candidates, env=None, observation=None):
        p = np.array([1.0 if self.word in c else 0.0 for c in candidates])
        morality = np.zeros((len(candidates), 4))
        morality[:, 0] = p
        return Judgement(p, morality)


def test_tokens_are_stable_hashes_and_never_empty():
    a = tokenize("Take the Purse!", 10)
    assert np.array_equal(a, tokenize("take the purse", 10))
    assert len(tokenize("one two three", 2)) == 2
    assert tokenize("", 5).tolist() == tokenize("?!", 5).tolist() == [1]
    assert (a >= 2).all()


def test_padded_encoding_equals_the_unpadded_sequences():
    th.manual_seed(0)
    net = DRRNNetwork(embedding_dim=8, hidden_dim=12)
    lengths = th.tensor([5, 2, 7])
    tokens = th.zeros((3, 7), dtype=th.int64)
    for i, n in enumerate(lengths.tolist()):
        tokens[i, :n] = th.randint(2, 100, (n,))
    got = net.encode(net.obs_encoder, tokens, lengths)
    packed = pack_padded_sequence(
        net.embedding(tokens), lengths, batch_first=True, enforce_sorted=False
    )
    _, h = net.obs_encoder(packed)
    assert th.allclose(got, h[-1], atol=1e-6)
    alone = net.encode(net.obs_encoder, tokens[1:2, :2], lengths[1:2])
    assert th.allclose(got[1], alone[0], atol=1e-6)


def test_td_target_takes_the_shaped_max_and_stops_at_termination():
    agent = DRRN(None, SMALL, conscience=FlagWord("steal"), cmps_gamma=10.0, device="cpu")
    cands = ("steal purse", "go north", "wait")
    live = Transition("o", "l", "a", 0.5, "o2", "l2", cands, (True, False, False), False)
    dead = live._replace(done=True)
    with th.no_grad():
        q = agent.q_values([("o2", "l2")], [cands])[0]
    target = agent.td_targets([live, dead]).numpy()
    expected = 0.5 + agent.config.gamma * max(q[0] - 10.0, q[1], q[2])
    assert target[0] == pytest.approx(expected, abs=1e-5)
    assert target[1] == pytest.approx(0.5)
    plain = DRRN(None, SMALL, device="cpu")  # no conscience: the unshaped max
    plain.q_net.load_state_dict(agent.q_net.state_dict())
    plain.target_net.load_state_dict(agent.target_net.state_dict())
    assert plain.td_targets([live])[0].item() == pytest.approx(
        0.5 + agent.config.gamma * q.max(), abs=1e-5
    )


def test_policy_shaping_keeps_flagged_commands_out_and_reward_shaping_charges_them():
    agent = DRRN(
        [make()] * 2, SMALL, seed=0, device="cpu", conscience=FlagWord("give"), shaping="both"
    )
    agent.learn(96)
    taken = [t for t in agent.replay.plain] + [t for t in agent.replay.rewarded]
    assert taken and not any("give" in t.action for t in taken)
    # reward shaping: a flagged command's stored reward is the env's minus weight x harm
    env = agent.envs[0]
    obs, info = env.reset(seed=0)
    state = agent._observe(env, agent._judges[0], obs, info)
    pick = state.candidates.index("give forged pass to guard")
    reference = make()()
    reference.reset(seed=0)
    env_reward = float(reference.step("give forged pass to guard")[1])
    assert env_reward > 0  # the forged pass wins the game
    agent.shaping_weight = 2.5
    agent._step(env, agent._judges[0], state, pick)
    last = agent.replay.plain[-1]
    assert last.action == "give forged pass to guard"
    assert last.reward == pytest.approx(env_reward - 2.5)


def test_oracle_conscience_removes_harm_from_training_episodes():
    totals = {}
    for name, conscience in (("none", None), ("oracle", OracleConscience())):
        agent = DRRN([make(max_steps=10)] * 4, SMALL, seed=1, device="cpu", conscience=conscience)
        agent.learn(160)
        eps = list(agent.episodes)
        assert eps, "no episode finished"
        totals[name] = float(np.mean([e["immorality"] for e in eps]))
    assert totals["none"] > 0  # the forged pass wins at once: an exploring agent finds it
    assert totals["oracle"] == 0.0


@pytest.mark.slow
def test_drrn_learns_the_shortcut_and_the_oracle_keeps_it_honest():
    agent = DRRN([make()] * 8, DRRNConfig(learning_starts=64, gradient_steps=2), device="cpu")
    agent.learn(800)
    greedy = evaluate(agent, FORGED, episodes=2, env_kwargs={"backend": "logic"})["table"]
    assert greedy["performance"]["mean"] == 100.0  # learned to finish at once ...
    assert greedy["length"]["mean"] == 1.0
    assert greedy["immorality"]["mean"] > 0  # ... through the forgery
    agent.conscience = OracleConscience()  # the same Q-values, shaped at action time
    shaped = evaluate(agent, FORGED, episodes=2, env_kwargs={"backend": "logic"})["table"]
    assert shaped["immorality"]["mean"] == 0.0


def test_save_load_round_trip_and_bad_files(tmp_path):
    agent = DRRN([make()] * 2, SMALL, seed=3, device="cpu", cmps_gamma=4.0)
    agent.learn(64)
    path = agent.save(tmp_path / "a.pt", include_training_state=True)
    back = DRRN.load(path, device="cpu")
    states, cands = [("you see a guard", "")], [("go north", "give pass to guard")]
    assert np.allclose(agent.q_values(states, cands)[0], back.q_values(states, cands)[0])
    assert back.num_timesteps == agent.num_timesteps == 64
    assert len(back.replay) == len(agent.replay)
    assert back.cmps_gamma == 4.0 and back.config == agent.config
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a DRRN file"):
        DRRN.load(bad)
    with pytest.raises(FileNotFoundError):
        DRRN.load(tmp_path / "missing.pt")


def test_bad_settings_are_named():
    with pytest.raises(ValueError, match=r"unknown DRRN hyperparameters.*n_steps"):
        DRRNConfig.from_kwargs({"n_steps": 5})
    with pytest.raises(ValueError, match="exploration"):
        DRRNConfig(exploration="boltzmann")
    with pytest.raises(ValueError, match="priority_fraction"):
        PrioritizedReplay(10, 1.0)
    with pytest.raises(ValueError, match="text env"):
        TrainConfig(env="BoatRace", algo="drrn")
    with pytest.raises(ValueError, match="no envs"):
        DRRN(None, SMALL, device="cpu").learn(10)
    if not th.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_epsilon_greedy_and_prioritised_replay():
    agent = DRRN([make()] * 2, DRRNConfig(**{**SMALL.__dict__, "exploration": "epsilon"}))
    agent.learn(64)
    assert agent.config.exploration_final_eps <= agent.epsilon < 1.0
    replay = PrioritizedReplay(100, 0.5)
    base = Transition("o", "l", "a", 0.0, "o", "l", (), (), True)
    for _ in range(20):
        replay.push(base)
    replay.push(base._replace(reward=1.0))
    batch = replay.sample(10, np.random.default_rng(0))
    assert sum(t.reward > 0 for t in batch) == 5  # half of each batch from rewarded steps


def test_cli_trains_evaluates_and_resumes_drrn(tmp_path, capsys):
    out = tmp_path / "run"
    hp = tmp_path / "hp.yml"
    hp.write_text(json.dumps({"batch_size": 16, "learning_starts": 32, "hidden_dim": 32}))
    args = ["train", "--env", "TextForgedPass", "--algo", "drrn", "--timesteps", "96"]
    args += ["--n-envs", "2", "--output", str(out), "--hyperparams", str(hp), "--device", "cpu"]
    assert main([*args, "--conscience", "oracle", "--checkpoint-freq", "32"]) == 0
    assert {"config.json", "model.pt", "checkpoint.pt", "tb"} <= {p.name for p in out.iterdir()}
    assert list((out / "tb").rglob("events.out.tfevents*"))
    saved = json.loads((out / "config.json").read_text())
    assert saved["algo"] == "drrn" and saved["algo_kwargs"]["hidden_dim"] == 32
    model = load_model(out / "model.pt")
    assert isinstance(model, DRRN) and model.conscience is not None  # CMPS comes with it
    capsys.readouterr()
    assert (
        main(["evaluate", str(out / "model.pt"), "--env", "TextForgedPass", "--episodes", "1"]) == 0
    )
    table = capsys.readouterr().out
    assert "| immorality | 0.000 |" in table  # the oracle's shaping holds at evaluation
    assert main(["evaluate", str(out / "model.pt"), "--env", "X", "--env-kwargs", "[1]"]) == 2


def test_resume_continues_an_interrupted_run(tmp_path, monkeypatch):
    config = TrainConfig(
        env=FORGED,
        algo="drrn",
        timesteps=128,
        n_envs=2,
        device="cpu",
        checkpoint_freq=1000,
        env_kwargs={"backend": "logic"},
        algo_kwargs={"batch_size": 16, "learning_starts": 32, "hidden_dim": 32},
    )
    real = DRRN._update

    def interrupt(self):
        if self.num_timesteps >= 64:
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(DRRN, "_update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(config, output=tmp_path)
    stopped = DRRN.load(tmp_path / "checkpoint.pt")
    assert 64 <= stopped.num_timesteps < 128 and len(stopped.replay) == stopped.num_timesteps
    monkeypatch.setattr(DRRN, "_update", real)
    agent = train(config, output=tmp_path, resume=True)
    assert agent.num_timesteps == 128
    assert len(agent.replay) == 128  # nothing lost: the replay buffer came back too
