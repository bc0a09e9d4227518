import numpy as np
import pytest

from mlsafety.agents.social import CollectiveReward, InequityAversion


def test_collective_reward_mean_and_sum():
    r = np.array([[1.0, 0.0, 2.0]], dtype=np.float32)
    done = np.zeros(1, bool)
    np.testing.assert_allclose(CollectiveReward()(r, done), [[1, 1, 1]])
    np.testing.assert_allclose(CollectiveReward("sum")(r, done), [[3, 3, 3]])
    with pytest.raises(ValueError, match="mode"):
        CollectiveReward("max")


def test_inequity_aversion_hand_computed():
    # two agents, one step: e = r. Agent 0 has 1, agent 1 has 0.
    ia = InequityAversion(alpha=5.0, beta=0.05)
    r = np.array([[1.0, 0.0]])
    out = ia(r, np.zeros(1, bool))
    # agent 0 is ahead by 1: guilt 0.05 * 1; agent 1 is behind by 1: envy 5 * 1
    np.testing.assert_allclose(out, [[1 - 0.05, 0 - 5.0]])


def test_inequity_traces_decay_and_reset():
    ia = InequityAversion(alpha=1.0, beta=0.0, gamma=0.5, lam=1.0)
    ia(np.array([[2.0, 0.0]]), np.zeros(1, bool))
    out = ia(np.array([[0.0, 0.0]]), np.zeros(1, bool))
    np.testing.assert_allclose(out, [[0.0, -1.0]])  # trace 2 * 0.5 = 1 ahead of agent 1
    ia(np.array([[0.0, 0.0]]), np.ones(1, bool))  # episode end clears the traces
    out = ia(np.array([[0.0, 0.0]]), np.zeros(1, bool))
    np.testing.assert_allclose(out, [[0.0, 0.0]])


def test_inequity_rejects_bad_arguments():
    with pytest.raises(ValueError, match="alpha"):
        InequityAversion(alpha=-1)
    with pytest.raises(ValueError, match="gamma"):
        InequityAversion(gamma=1.0, lam=1.0)
