"""Binary metrics and the constant baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest

from zhongtai.models.metrics import baseline_metrics, binary_metrics, lift

pytestmark = pytest.mark.unit

LABELS = np.array([0, 0, 0, 1, 1, 0, 1, 0, 0, 0])


def test_a_perfect_ranking_has_auc_one_and_full_precision_and_recall():
    scores = np.where(LABELS == 1, 0.9, 0.1)
    found = binary_metrics(LABELS, scores, threshold=0.5)
    assert found["auc"] == 1.0
    assert found["precision"] == 1.0 and found["recall"] == 1.0
    assert found["positive_rate"] == pytest.approx(0.3)
    assert found["predicted_positive_rate"] == pytest.approx(0.3)
    assert found["rows"] == 10


def test_precision_and_recall_follow_the_threshold():
    scores = np.array([0.1, 0.2, 0.6, 0.7, 0.4, 0.1, 0.9, 0.2, 0.1, 0.1])
    found = binary_metrics(LABELS, scores, threshold=0.5)
    # predicted positive: rows 2, 3, 6 → two of them are positive; positives are rows 3, 4, 6
    assert found["precision"] == pytest.approx(2 / 3)
    assert found["recall"] == pytest.approx(2 / 3)


def test_the_baseline_scores_auc_half_and_the_label_entropy():
    found = baseline_metrics(LABELS, train_positive_rate=0.3, threshold=0.5)
    entropy = -(0.3 * math.log(0.3) + 0.7 * math.log(0.7))
    assert found["auc"] == 0.5
    assert found["log_loss"] == pytest.approx(entropy)
    # a constant below the threshold predicts no positive: nothing found, nothing claimed
    assert found["precision"] == 0.0 and found["recall"] == 0.0


def test_a_baseline_above_the_threshold_flags_everyone():
    found = baseline_metrics(LABELS, train_positive_rate=0.3, threshold=0.2)
    assert found["recall"] == 1.0
    assert found["precision"] == pytest.approx(0.3)


def test_certain_wrong_predictions_keep_log_loss_finite():
    found = binary_metrics(np.array([0, 1]), np.array([1.0, 0.0]), threshold=0.5)
    assert math.isfinite(found["log_loss"]) and found["log_loss"] > 30


def test_lift_is_model_minus_baseline():
    model = {"auc": 0.8, "log_loss": 0.4}
    baseline = {"auc": 0.5, "log_loss": 0.6}
    assert lift(model, baseline) == pytest.approx({"auc": 0.3, "log_loss": 0.2})
