from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from vietser.acoustic.domain import OutOfDomainDetector
from vietser.acoustic.priors import (
    SPEAKER_MIX_PSEUDO_CLIPS,
    adjust_to_priors,
    adjust_to_speaker_mix,
    estimate_priors_em,
    parse_priors,
    temper,
)
from vietser.errors import ConfigError, ModelError
from vietser.labels import CLASSES

N_COLUMNS = 100
TRAIN_PRIOR = np.array([0.43, 0.28, 0.29])
TARGET_PRIOR = np.array([0.9, 0.07, 0.03])
CLASS_MEANS = np.array([-2.0, 0.0, 2.0])


class CorrelatedGaussian:
    """Rows like acoustic features: 100 correlated columns of different scales, ten latent factors."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.loadings = self.rng.normal(size=(10, N_COLUMNS))
        self.mean = self.rng.normal(scale=5.0, size=N_COLUMNS)
        self.scale = np.exp(self.rng.normal(size=N_COLUMNS))

    def rows(self, n: int) -> np.ndarray:
        latent = self.rng.normal(size=(n, 10)) @ self.loadings
        return (latent + 0.3 * self.rng.normal(size=(n, N_COLUMNS))) * self.scale + self.mean

    def std(self) -> np.ndarray:
        return np.sqrt(np.sum(self.loadings**2, axis=0) + 0.3**2) * self.scale


@pytest.fixture(scope="module")
def source() -> CorrelatedGaussian:
    return CorrelatedGaussian(seed=7)


@pytest.fixture(scope="module")
def detector(source: CorrelatedGaussian) -> OutOfDomainDetector:
    return OutOfDomainDetector().fit(source.rows(300))


def bayes_posteriors(scores: np.ndarray, prior: np.ndarray) -> np.ndarray:
    joint = prior * norm.pdf(scores[:, None], loc=CLASS_MEANS)
    return joint / joint.sum(axis=1, keepdims=True)


def sample_scores(rng: np.random.Generator, prior: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.choice(len(prior), size=n, p=prior)
    return rng.normal(loc=CLASS_MEANS[labels]), labels


def test_detector_keeps_about_99_percent_of_new_in_domain_rows_below_one(
    source: CorrelatedGaussian, detector: OutOfDomainDetector
) -> None:
    scores = detector.ood_score(source.rows(20_000))

    assert 0.975 <= np.mean(scores < 1.0) <= 0.999
    assert detector.components_.shape[0] < N_COLUMNS // 2


def test_detector_flags_every_row_shifted_by_six_standard_deviations(
    source: CorrelatedGaussian, detector: OutOfDomainDetector
) -> None:
    rows = source.rows(2000)

    assert np.all(detector.ood_score(rows + 6 * source.std()) > 1.0)
    assert np.all(detector.is_out_of_domain(rows + 6 * source.std()))


def test_detector_flags_a_single_column_off_the_principal_subspace(
    source: CorrelatedGaussian, detector: OutOfDomainDetector
) -> None:
    rows = source.rows(2000)
    rows[:, 17] += 6 * source.std()[17]

    assert np.mean(detector.ood_score(rows) > 1.0) > 0.99


def test_detector_scores_rows_with_missing_values(source: CorrelatedGaussian) -> None:
    train = source.rows(300)
    train[source.rng.random(train.shape) < 0.05] = np.nan
    train[:, 3] = np.nan
    fitted = OutOfDomainDetector().fit(train)
    rows = source.rows(1000)
    rows[source.rng.random(rows.shape) < 0.05] = np.nan
    rows[::2, 40] = np.inf

    scores = fitted.ood_score(rows)

    assert np.all(np.isfinite(scores))
    assert np.mean(scores < 1.0) > 0.95
    assert np.all(fitted.ood_score(rows + 6 * source.std()) > 1.0)


def test_detector_is_a_scikit_learn_estimator(detector: OutOfDomainDetector) -> None:
    params = {"n_components": 12, "support_fraction": 0.8, "quantile": 0.95, "random_state": 3}

    copy = clone(OutOfDomainDetector(**params))

    assert copy.get_params() == params
    assert clone(detector).get_params() == OutOfDomainDetector().get_params()
    assert not hasattr(clone(detector), "threshold_")
    with pytest.raises(NotFittedError):
        clone(detector).ood_score(np.zeros((1, N_COLUMNS)))


def test_integer_n_components_keeps_that_many_components(source: CorrelatedGaussian) -> None:
    fitted = OutOfDomainDetector(n_components=12).fit(source.rows(200))

    assert fitted.components_.shape == (12, N_COLUMNS)
    assert fitted.precision_.shape == (12, 12)


@pytest.mark.filterwarnings("error")
def test_detector_falls_back_to_the_empirical_covariance_without_warnings() -> None:
    rng = np.random.default_rng(1)
    train = rng.normal(size=(200, 8))

    fitted = OutOfDomainDetector(support_fraction=0.02).fit(train)

    assert fitted.covariance_estimator_ == "empirical"
    assert np.mean(fitted.ood_score(rng.normal(size=(5000, 8))) < 1.0) > 0.97
    assert OutOfDomainDetector().fit(train).covariance_estimator_ == "mcd"


def test_detector_round_trips_through_json_with_identical_scores(
    source: CorrelatedGaussian, detector: OutOfDomainDetector
) -> None:
    rows = source.rows(500)
    rows[::3, 5] = np.nan

    loaded = OutOfDomainDetector.from_dict(json.loads(json.dumps(detector.to_dict())))

    np.testing.assert_array_equal(loaded.ood_score(rows), detector.ood_score(rows))
    assert loaded.get_params() == detector.get_params()
    assert loaded.threshold_ == detector.threshold_


def test_from_dict_refuses_data_that_is_not_a_detector(detector: OutOfDomainDetector) -> None:
    data = json.loads(json.dumps(detector.to_dict()))

    with pytest.raises(ModelError, match="format"):
        OutOfDomainDetector.from_dict({**data, "format": "pickle"})
    with pytest.raises(ModelError, match="precision"):
        OutOfDomainDetector.from_dict({**data, "precision": data["precision"][:-1]})
    with pytest.raises(ModelError, match="malformed"):
        OutOfDomainDetector.from_dict({key: value for key, value in data.items() if key != "threshold"})
    with pytest.raises(ModelError, match="threshold"):
        OutOfDomainDetector.from_dict({**data, "threshold": -1.0})
    with pytest.raises(ModelError, match="columns"):
        OutOfDomainDetector.from_dict({**data, "columns": data["columns"][::-1]})


def test_detector_refuses_bad_input(detector: OutOfDomainDetector) -> None:
    with pytest.raises(ModelError, match="columns"):
        detector.score_samples(np.zeros((2, N_COLUMNS - 1)))
    with pytest.raises(ModelError, match="at least 10"):
        OutOfDomainDetector().fit(np.zeros((9, 3)))
    with pytest.raises(ModelError, match="alike"):
        OutOfDomainDetector().fit(np.ones((50, 3)))
    with pytest.raises(ConfigError, match="quantile"):
        OutOfDomainDetector(quantile=1.5).fit(np.eye(20))
    with pytest.raises(ConfigError, match="n_components"):
        OutOfDomainDetector(n_components=1.0).fit(np.eye(20))


def test_temper_leaves_in_domain_rows_and_turns_far_rows_into_the_prior() -> None:
    rng = np.random.default_rng(2)
    probabilities = rng.dirichlet([0.3, 0.3, 0.3], size=300)
    ood = np.concatenate([rng.uniform(0.0, 1.0, 100), rng.uniform(1.0, 3.0, 100), rng.uniform(3.0, 9.0, 100)])
    prior = np.array([0.6, 0.3, 0.1])

    tempered = temper(probabilities, ood, prior)

    np.testing.assert_allclose(tempered.sum(axis=1), 1.0)
    np.testing.assert_allclose(tempered[:100], probabilities[:100])
    np.testing.assert_allclose(tempered[200:], np.tile(prior, (100, 1)))
    assert np.all(tempered[200:].max(axis=1) <= prior.max() + 1e-12)
    weight = ((ood[100:200] - 1.0) / 2.0)[:, None]
    np.testing.assert_allclose(tempered[100:200], (1 - weight) * probabilities[100:200] + weight * prior)
    assert np.max(probabilities[200:]) > 0.99


def test_temper_treats_an_unknown_score_as_far_out_and_checks_its_arguments() -> None:
    probabilities = np.array([[0.98, 0.01, 0.01]])

    np.testing.assert_allclose(temper(probabilities, [np.nan], [1, 1, 1]), [[1 / 3, 1 / 3, 1 / 3]])
    with pytest.raises(ValueError, match="greater than start"):
        temper(probabilities, [2.0], [1, 1, 1], start=3.0, full=3.0)
    with pytest.raises(ValueError, match="ood scores"):
        temper(probabilities, [2.0, 2.0], [1, 1, 1])
    with pytest.raises(ValueError, match="prior"):
        temper(probabilities, [2.0], [0.5, 0.5])


def test_adjust_to_priors_is_the_identity_when_the_prior_does_not_change() -> None:
    rng = np.random.default_rng(3)
    probabilities = rng.dirichlet([1.0, 1.0, 1.0], size=50)

    np.testing.assert_allclose(adjust_to_priors(probabilities, TRAIN_PRIOR, TRAIN_PRIOR), probabilities)


def test_adjust_to_priors_gives_the_bayes_posteriors_under_the_new_prior() -> None:
    scores = np.random.default_rng(4).normal(size=200)

    adjusted = adjust_to_priors(bayes_posteriors(scores, TRAIN_PRIOR), TRAIN_PRIOR, TARGET_PRIOR)

    np.testing.assert_allclose(adjusted, bayes_posteriors(scores, TARGET_PRIOR))


def test_adjust_to_priors_refuses_a_zero_training_prior() -> None:
    with pytest.raises(ValueError, match="train_prior"):
        adjust_to_priors([[0.5, 0.5, 0.0]], [0.5, 0.5, 0.0], TARGET_PRIOR)


def test_em_recovers_the_deployment_prior_from_unlabelled_posteriors() -> None:
    rng = np.random.default_rng(5)
    scores, labels = sample_scores(rng, TARGET_PRIOR, 5000)
    posteriors = bayes_posteriors(scores, TRAIN_PRIOR)

    estimate = estimate_priors_em(posteriors, TRAIN_PRIOR)

    assert estimate.converged
    assert 1 < estimate.iterations < 100
    np.testing.assert_allclose(estimate.priors, TARGET_PRIOR, atol=0.05)
    assert estimate.priors.sum() == pytest.approx(1.0)
    assert np.max(np.abs(posteriors.mean(axis=0) - TARGET_PRIOR)) > 0.1
    assert np.mean(adjust_to_priors(posteriors, TRAIN_PRIOR, estimate.priors).argmax(axis=1) == labels) > np.mean(
        posteriors.argmax(axis=1) == labels
    )


def test_em_keeps_the_training_prior_on_data_drawn_under_it() -> None:
    scores, _ = sample_scores(np.random.default_rng(6), TRAIN_PRIOR, 5000)

    estimate = estimate_priors_em(bayes_posteriors(scores, TRAIN_PRIOR), TRAIN_PRIOR)

    np.testing.assert_allclose(estimate.priors, TRAIN_PRIOR, atol=0.03)
    with pytest.raises(ValueError):
        estimate.priors[0] = 1.0


def test_em_reports_when_it_stops_before_converging() -> None:
    scores, _ = sample_scores(np.random.default_rng(5), TARGET_PRIOR, 2000)

    estimate = estimate_priors_em(bayes_posteriors(scores, TRAIN_PRIOR), TRAIN_PRIOR, max_iter=2)

    assert not estimate.converged
    assert estimate.iterations == 2


def test_em_with_pseudo_rows_keeps_every_class_possible_on_a_few_rows() -> None:
    leaning_calm = np.array([[0.7, 0.1, 0.2], [0.6, 0.1, 0.3], [0.8, 0.05, 0.15], [0.5, 0.2, 0.3]])

    plain = estimate_priors_em(leaning_calm, TRAIN_PRIOR, max_iter=1000).priors
    smoothed = estimate_priors_em(leaning_calm, TRAIN_PRIOR, pseudo_rows=3.0).priors

    assert plain[0] > 0.95 and plain[1] < 0.01  # plain EM on 4 rows all but rules out angry
    assert 0.5 < smoothed[0] < plain[0]
    assert smoothed[1] > 0.05
    np.testing.assert_allclose(
        estimate_priors_em(leaning_calm, TRAIN_PRIOR, pseudo_rows=0.0).priors, estimate_priors_em(leaning_calm, TRAIN_PRIOR).priors
    )
    with pytest.raises(ValueError, match="pseudo_rows"):
        estimate_priors_em(leaning_calm, TRAIN_PRIOR, pseudo_rows=-1.0)


def test_a_speaker_whose_clips_lean_one_way_is_read_surer_and_other_rows_keep_their_reading() -> None:
    calm_speaker = np.tile([0.6, 0.1, 0.3], (10, 1))
    panic_speaker = np.tile([0.3, 0.1, 0.6], (10, 1))
    unchosen = np.tile([0.6, 0.1, 0.3], (5, 1))
    probabilities = np.vstack([calm_speaker, panic_speaker, unchosen])
    speakers = np.array(["a"] * 10 + ["b"] * 10 + ["a"] * 5)
    chosen = np.array([True] * 20 + [False] * 5)

    adjusted = adjust_to_speaker_mix(probabilities, speakers, chosen, [1 / 3, 1 / 3, 1 / 3])

    assert (adjusted[:10, 0] > 0.6).all() and (adjusted[10:20, 2] > 0.6).all()
    assert (adjusted[:20].argmax(axis=1) == probabilities[:20].argmax(axis=1)).all()
    np.testing.assert_array_equal(adjusted[20:], probabilities[20:])
    one_clip = adjust_to_speaker_mix(probabilities[:1], speakers[:1], chosen[:1], [1 / 3, 1 / 3, 1 / 3])
    assert one_clip[0, 0] < adjusted[0, 0]  # one clip says less of its speaker than ten
    assert SPEAKER_MIX_PSEUDO_CLIPS == len(CLASSES)
    with pytest.raises(ValueError, match="one entry per row"):
        adjust_to_speaker_mix(probabilities, speakers[:3], chosen, [1 / 3, 1 / 3, 1 / 3])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("calm=0.9,angry=0.07,panic=0.03", [0.9, 0.07, 0.03]),
        (" panic = 0.03 , calm=0.9 , angry=0.07 ", [0.9, 0.07, 0.03]),
        ("calm=0.8", [0.8, 0.1, 0.1]),
        ("calm=0.5,angry=0.5", [0.5, 0.5, 0.0]),
        ("calm=9,angry=0.5,panic=0.5", None),
        ("calm=2,angry=1,panic=1", None),
        ("calm=0.45,angry=0.25,panic=0.05", [0.6, 1 / 3, 1 / 15]),
        ("calm=0.5000005,angry=0.5", [0.5000005 / 1.0000005, 0.5 / 1.0000005, 0.0]),
    ],
)
def test_parse_priors(text: str, expected: list[float] | None) -> None:
    if expected is None:
        with pytest.raises(ConfigError, match="above 1"):
            parse_priors(text)
    else:
        priors = parse_priors(text)
        np.testing.assert_allclose(priors, expected)
        assert priors.sum() == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("calm=0.9,fear=0.1", "unknown class 'fear'.*calm, angry, panic"),
        ("calm=0.9,calm=0.1", "twice"),
        ("calm=-0.1", "non-negative"),
        ("calm=nan", "non-negative"),
        ("calm=lots", "not a number"),
        ("calm", "name=value"),
        ("", "name=value"),
        ("calm=0.9,", "name=value"),
        ("calm=0,angry=0,panic=0", "all zero"),
    ],
)
def test_parse_priors_refuses(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_priors(text)


def test_parse_priors_follows_the_given_classes() -> None:
    np.testing.assert_allclose(parse_priors("b=0.25", classes=("a", "b")), [0.75, 0.25])
    assert parse_priors("calm=1", classes=CLASSES).tolist() == [1.0, 0.0, 0.0]
