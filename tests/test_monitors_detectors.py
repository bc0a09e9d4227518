"""Anomaly detectors of mlsafety.monitors: Gaussian blobs, a briefly trained PPO, save/load."""

import os

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import PPO

from mlsafety.monitors import (
    Detector,
    KNNDetector,
    MahalanobisDetector,
    PolicyDivergenceDetector,
    PolicyOutputDetector,
    auroc,
    load_detector,
    policy_features,
)
from mlsafety.sb3 import make_sb3_vec_env

TRAIN_ID = "mlsafety/DistributionalShift-v0"
TEST_ID = "mlsafety/DistributionalShiftTest-v0"


def _blobs(seed=0, n=300, d=4, shift=3.0):
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(n, d))
    held_out = rng.normal(size=(n, d))
    shifted = rng.normal(size=(n, d)) + shift
    return train, held_out, shifted


def _separation(detector, train, held_out, shifted, actions=None):
    detector.fit(train, actions)
    scores = np.r_[detector.score(held_out), detector.score(shifted)]
    labels = np.r_[np.zeros(len(held_out)), np.ones(len(shifted))]
    return auroc(labels, scores)


@pytest.mark.parametrize(
    "make", [MahalanobisDetector, lambda: KNNDetector(k=5), lambda: KNNDetector(k=1)]
)
def test_feature_space_detectors_flag_a_shifted_blob(make):
    det = make()
    assert isinstance(det, Detector)
    assert _separation(det, *_blobs()) >= 0.95


def test_detectors_accept_multidimensional_and_single_observations():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(200, 3, 2))
    for det in (MahalanobisDetector().fit(train), KNNDetector().fit(train)):
        assert det.score(train[0]).shape == (1,)
        assert det.score(train[:7]).shape == (7,)
        np.testing.assert_allclose(det.score(train[0]), det.score(train[:1]))
        with pytest.raises(ValueError, match="shape"):
            det.score(np.zeros((4, 5)))


def test_mahalanobis_by_hand_and_constant_dimensions():
    # unit covariance (up to shrinkage): the squared distance is the squared Euclidean one
    train = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]) * np.sqrt(0.75)
    det = MahalanobisDetector(shrinkage=1e-9).fit(train)
    np.testing.assert_allclose(det.score(np.array([2.0, 0.0])), [4.0], rtol=1e-6)
    # a dimension that never varies is regularised, not singular, and its change is flagged
    const = np.c_[np.random.default_rng(0).normal(size=(50, 2)), np.zeros(50)]
    det = MahalanobisDetector().fit(const)
    moved = const[:5].copy()
    moved[:, 2] = 1.0
    assert np.all(np.isfinite(det.score(moved)))
    assert det.score(moved).min() > 100 * det.score(const[:5]).max()


def test_class_conditional_mahalanobis_uses_the_classes():
    # two tight classes at -5 and +5: the origin is between them, far from both class means
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 2)) * 0.3 - 5
    b = rng.normal(size=(200, 2)) * 0.3 + 5
    train, actions = np.r_[a, b], np.r_[np.zeros(200, int), np.ones(200, int)]
    middle = rng.normal(size=(200, 2)) * 0.3
    held_out = np.r_[rng.normal(size=(100, 2)) * 0.3 - 5, rng.normal(size=(100, 2)) * 0.3 + 5]
    cc = MahalanobisDetector(class_conditional=True)
    assert cc.name == "mahalanobis_cc"
    assert _separation(cc, train, held_out, middle, actions) >= 0.99
    np.testing.assert_array_equal(cc.classes_, [0, 1])
    # the class-agnostic Gaussian sits at the origin and calls the middle *typical*
    assert _separation(MahalanobisDetector(), train, held_out, middle) < 0.5
    with pytest.raises(ValueError, match="actions"):
        MahalanobisDetector(class_conditional=True).fit(train)


def test_knn_score_is_distance_to_kth_neighbour():
    train = np.array([[0.0], [1.0], [3.0], [6.0]])
    np.testing.assert_allclose(KNNDetector(k=1).fit(train).score(np.array([[10.0]])), [4.0])
    np.testing.assert_allclose(KNNDetector(k=2).fit(train).score(np.array([[10.0]])), [7.0])
    with pytest.raises(ValueError, match="k"):
        KNNDetector(k=0)
    with pytest.raises(ValueError, match="at least"):
        KNNDetector(k=10).fit(train)


def test_unfitted_detectors_refuse_to_score():
    for det in (MahalanobisDetector(), KNNDetector()):
        with pytest.raises(RuntimeError, match="fit"):
            det.score(np.zeros((2, 2)))


# --------------------------------------------------------------------------- save / load


@pytest.mark.parametrize(
    "det",
    [MahalanobisDetector(), MahalanobisDetector(class_conditional=True), KNNDetector(k=3)],
    ids=["mahalanobis", "mahalanobis_cc", "knn"],
)
def test_save_load_round_trip(tmp_path, det):
    train, held_out, shifted = _blobs()
    actions = (train[:, 0] > 0).astype(int)
    det.fit(train, actions)
    path = tmp_path / "det.npz"
    det.save(path)
    assert os.listdir(tmp_path) == ["det.npz"]  # atomic: no temp file left behind
    x = np.r_[held_out, shifted]
    for loaded in (type(det).load(path), load_detector(path)):
        assert type(loaded) is type(det)
        assert loaded.name == det.name
        np.testing.assert_array_equal(loaded.score(x), det.score(x))
    # no pickle: the file loads with allow_pickle=False
    with np.load(path, allow_pickle=False) as data:
        assert "header" in data.files
        arrays = {("__header__" if k == "header" else k): data[k] for k in data.files}
    # files written before the common npz format (header under "__header__") still load
    old = tmp_path.parent / f"{tmp_path.name}-old.npz"
    np.savez(old, **arrays)
    np.testing.assert_array_equal(load_detector(old).score(x), det.score(x))
    old.unlink()
    # overwriting an existing file is fine and still leaves no temp file
    det.save(path)
    assert os.listdir(tmp_path) == ["det.npz"]


def test_load_rejects_foreign_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a saved"):
        load_detector(tmp_path / "other.npz")
    MahalanobisDetector().fit(np.random.default_rng(0).normal(size=(20, 2))).save(
        tmp_path / "m.npz"
    )
    with pytest.raises(ValueError, match="MahalanobisDetector"):
        KNNDetector.load(tmp_path / "m.npz")


# --------------------------------------------------------------------------- policies


def _collect(env_id, n, seed, model=None):
    """``n`` observations from ``env_id``: random actions, or ``model``'s sampled ones."""
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    out: list[np.ndarray] = []
    while len(out) < n:
        out.append(obs)
        if model is None:
            action = int(rng.integers(5))  # Discrete(5)
        else:
            action = int(model.predict(obs, deterministic=False)[0])
        obs, _, term, trunc, _ = env.step(action)
        if term or trunc:
            obs, _ = env.reset()
    env.close()
    return np.asarray(out)


def _ppo(seed, steps=2000):
    venv = make_sb3_vec_env(TRAIN_ID, 8)
    model = PPO("MlpPolicy", venv, n_steps=64, batch_size=128, n_epochs=4, seed=seed, device="cpu")
    return model.learn(steps)


@pytest.fixture(scope="module")
def trained():
    return _ppo(seed=0)


@pytest.fixture(scope="module")
def shift_data(trained):
    train = _collect(TRAIN_ID, 300, seed=0, model=trained)
    held_out = _collect(TRAIN_ID, 200, seed=1, model=trained)
    shifted = _collect(TEST_ID, 200, seed=2, model=trained)
    return train, held_out, shifted


@pytest.mark.parametrize("kind", ["msp", "max_logit", "energy", "entropy"])
def test_policy_output_detectors_on_a_trained_ppo(trained, shift_data, kind):
    train, held_out, shifted = shift_data
    det = PolicyOutputDetector(trained, kind)
    assert isinstance(det, Detector) and det.name == kind
    assert det.fit(train) is det
    scores_in, scores_out = det.score(held_out), det.score(shifted)
    assert scores_in.shape == (200,) and scores_out.shape == (200,)
    assert np.all(np.isfinite(scores_in)) and np.all(np.isfinite(scores_out))
    assert det.score(held_out[0]).shape == (1,)
    np.testing.assert_allclose(det.score(held_out[0]), scores_in[:1], rtol=1e-6)
    # the model's policy works as well as the model
    np.testing.assert_allclose(
        PolicyOutputDetector(trained.policy, kind).score(held_out), scores_in
    )
    # moved lava (tile codes the net never saw in those cells) is far off its training data;
    # observed AUROC 1.0 for every kind (seed 0); assert a wide margin below that
    labels = np.r_[np.zeros(200), np.ones(200)]
    assert auroc(labels, np.r_[scores_in, scores_out]) >= 0.8


def test_policy_output_values_match_the_distribution(trained, shift_data):
    import torch as th

    obs = shift_data[1][:20]
    with th.no_grad():
        probs = trained.policy.get_distribution(trained.policy.obs_to_tensor(obs)[0])
        probs = probs.distribution.probs.numpy().astype(np.float64)
    msp = PolicyOutputDetector(trained, "msp").score(obs)
    np.testing.assert_allclose(msp, 1 - probs.max(axis=1), atol=1e-5)
    ent = PolicyOutputDetector(trained, "entropy").score(obs)
    np.testing.assert_allclose(ent, -(probs * np.log(probs)).sum(axis=1), atol=1e-5)
    assert np.all((ent >= 0) & (ent <= np.log(5) + 1e-9))
    # energy <= -max logit <= energy + T log(n_actions)
    energy = PolicyOutputDetector(trained, "energy").score(obs)
    max_logit = PolicyOutputDetector(trained, "max_logit").score(obs)
    assert np.all(energy <= max_logit + 1e-9)
    assert np.all(max_logit <= energy + np.log(5) + 1e-9)
    # higher temperature flattens the softmax: lower max probability, higher MSP score
    hot = PolicyOutputDetector(trained, "msp", temperature=10.0).score(obs)
    assert np.all(hot >= msp - 1e-9)
    with pytest.raises(ValueError, match="kind"):
        PolicyOutputDetector(trained, "bogus")


def test_feature_space_detectors_on_policy_features(trained, shift_data):
    train, held_out, shifted = shift_data
    feats = policy_features(trained)
    f = feats(train[:10])
    assert f.shape == (10, 64) and f.dtype == np.float64
    assert feats(train[0]).shape == (1, 64)
    labels = np.r_[np.zeros(200), np.ones(200)]
    for det in (MahalanobisDetector(features=feats), KNNDetector(features=feats)):
        det.fit(train)
        scores = np.r_[det.score(held_out), det.score(shifted)]
        assert np.all(np.isfinite(scores))
        assert auroc(labels, scores) >= 0.9
    # raw observation space: the moved lava changes cells that never vary in training
    det = MahalanobisDetector().fit(train)
    assert auroc(labels, np.r_[det.score(held_out), det.score(shifted)]) >= 0.95
    # class-conditional on the policy's own actions
    actions = trained.predict(train, deterministic=True)[0]
    det = MahalanobisDetector(class_conditional=True, features=feats).fit(train, actions)
    assert np.all(np.isfinite(det.score(shifted)))


def test_policy_detectors_save_and_load(tmp_path, trained, shift_data):
    train, held_out, _ = shift_data
    feats = policy_features(trained)
    det = KNNDetector(features=feats).fit(train)
    det.save(tmp_path / "knn.npz")
    with pytest.raises(ValueError, match="features"):
        load_detector(tmp_path / "knn.npz")
    loaded = load_detector(tmp_path / "knn.npz", features=feats)
    np.testing.assert_array_equal(loaded.score(held_out), det.score(held_out))

    out = PolicyOutputDetector(trained, "energy", temperature=2.0).fit(train)
    out.save(tmp_path / "energy.npz")
    with pytest.raises(ValueError, match="policy"):
        load_detector(tmp_path / "energy.npz")
    loaded_out = load_detector(tmp_path / "energy.npz", policy=trained)
    assert isinstance(loaded_out, PolicyOutputDetector)
    assert loaded_out.kind == "energy" and loaded_out.temperature == 2.0
    np.testing.assert_array_equal(loaded_out.reference_scores_, out.reference_scores_)
    np.testing.assert_array_equal(loaded_out.score(held_out), out.score(held_out))
    assert sorted(os.listdir(tmp_path)) == ["energy.npz", "knn.npz"]


# --------------------------------------------------------------------------- divergence


@pytest.fixture(scope="module")
def other():
    """A second, differently seeded and shorter-trained PPO."""
    return _ppo(seed=1, steps=512)


@pytest.mark.parametrize("kind", ["js", "hellinger", "kl"])
def test_divergence_of_identical_policies_is_zero(trained, shift_data, kind):
    obs = np.r_[shift_data[1], shift_data[2]]
    det = PolicyDivergenceDetector(trained, trained, kind)
    assert det.fit(shift_data[0]) is det
    np.testing.assert_allclose(det.score(obs), 0.0, atol=1e-6)
    assert det.score_trajectory(obs) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("kind", ["js", "hellinger", "kl"])
def test_divergence_of_different_policies(trained, other, shift_data, kind):
    obs = np.r_[shift_data[1], shift_data[2]]
    scores = PolicyDivergenceDetector(other, trained, kind).score(obs)
    assert scores.shape == (400,)
    assert np.all(np.isfinite(scores)) and np.all(scores > 0)
    if kind == "js":
        assert scores.max() <= np.log(2)
    if kind == "hellinger":
        assert np.all((scores >= 0) & (scores <= 1))
    assert PolicyDivergenceDetector(other, trained, kind).score(obs[0]).shape == (1,)


def test_divergence_by_hand_bounds_and_aggregation(trained, other, shift_data):
    import torch as th

    obs = shift_data[1][:30]
    with th.no_grad():

        def probs(model):
            dist = model.policy.get_distribution(model.policy.obs_to_tensor(obs)[0])
            return dist.distribution.probs.numpy().astype(np.float64)

        p, q = probs(trained), probs(other)
    m = (p + q) / 2
    js = 0.5 * (p * np.log(p / m)).sum(1) + 0.5 * (q * np.log(q / m)).sum(1)
    hel = np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(1))
    kl = (p * np.log(p / q)).sum(1)  # KL(trusted || policy)
    for kind, expected in (("js", js), ("hellinger", hel), ("kl", kl)):
        got = PolicyDivergenceDetector(other, trained, kind).score(obs)
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # JS and Hellinger are symmetric
    js_back = PolicyDivergenceDetector(trained, other, "js").score(obs)
    np.testing.assert_allclose(js_back, js, rtol=1e-4, atol=1e-6)
    # trajectory aggregation
    mean_det = PolicyDivergenceDetector(other, trained, "js", aggregate="mean")
    max_det = PolicyDivergenceDetector(other, trained, "js", aggregate="max")
    assert mean_det.score_trajectory(obs) == pytest.approx(js.mean(), rel=1e-4)
    assert max_det.score_trajectory(obs) == pytest.approx(js.max(), rel=1e-4)
    assert isinstance(mean_det.score_trajectory(obs), float)
    with pytest.raises(ValueError, match="aggregate"):
        PolicyDivergenceDetector(other, trained, "js", aggregate="sum")


def test_divergence_detector_save_and_load(tmp_path, trained, other, shift_data):
    det = PolicyDivergenceDetector(other, trained, "hellinger", aggregate="max")
    det.save(tmp_path / "div.npz")
    with pytest.raises(ValueError, match="policies"):
        load_detector(tmp_path / "div.npz", policy=other)
    loaded = load_detector(tmp_path / "div.npz", policy=other, trusted_policy=trained)
    assert isinstance(loaded, PolicyDivergenceDetector)
    assert (loaded.kind, loaded.aggregate, loaded.name) == (
        "hellinger",
        "max",
        "divergence_hellinger",
    )
    obs = shift_data[2]
    np.testing.assert_array_equal(loaded.score(obs), det.score(obs))
    assert loaded.score_trajectory(obs) == det.score_trajectory(obs)
    assert os.listdir(tmp_path) == ["div.npz"]


def test_continuous_and_dqn_policies():
    from stable_baselines3 import DQN

    env = gym.make("Pendulum-v1")
    a = PPO("MlpPolicy", env, seed=0, device="cpu")
    b = PPO("MlpPolicy", env, seed=1, device="cpu")
    obs = np.random.default_rng(0).uniform(-1, 1, size=(50, 3)).astype(np.float32)
    # diagonal Gaussians: closed-form KL and Hellinger
    for kind in ("kl", "hellinger"):
        np.testing.assert_allclose(PolicyDivergenceDetector(a, a, kind).score(obs), 0, atol=1e-6)
        scores = PolicyDivergenceDetector(a, b, kind).score(obs)
        assert np.all(np.isfinite(scores)) and np.all(scores > 0)
    assert np.all(PolicyDivergenceDetector(a, b, "hellinger").score(obs) <= 1)
    with pytest.raises(ValueError, match="js"):
        PolicyDivergenceDetector(a, b, "js").score(obs)
    # entropy works for any distribution; the softmax kinds need discrete actions
    assert PolicyOutputDetector(a, "entropy").score(obs).shape == (50,)
    with pytest.raises(ValueError, match="Discrete"):
        PolicyOutputDetector(a, "msp")
    # DQN: Q-values as logits, the Q-network's features
    dqn = DQN("MlpPolicy", gym.make(TRAIN_ID), seed=0, device="cpu", learning_starts=0)
    grid = _collect(TRAIN_ID, 20, seed=0)
    assert np.all(np.isfinite(PolicyOutputDetector(dqn, "energy").score(grid)))
    assert policy_features(dqn)(grid).shape[0] == 20
    with pytest.raises(ValueError, match="get_distribution"):
        PolicyDivergenceDetector(dqn, dqn, "js").score(grid)
