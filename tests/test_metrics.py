"""Metrics against counts and sums worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nbfromscratch.exceptions import EmptyInputError, LabelError, ShapeError
from nbfromscratch.metrics import accuracy, confusion_matrix, mean_squared_error, r2_score


def test_accuracy_counts_matching_labels():
    assert accuracy([0, 1, 2, 1], [0, 2, 2, 1]) == 0.75


def test_accuracy_accepts_arbitrary_label_values():
    assert accuracy(["cat", "dog", "dog"], ["cat", "cat", "dog"]) == pytest.approx(2 / 3)


def test_accuracy_takes_argmax_of_score_rows():
    scores = np.array([[2.0, 1.0, 0.0],   # -> 0
                       [0.1, 0.2, 0.7],   # -> 2
                       [-1.0, 5.0, 4.0]])  # -> 1
    assert accuracy([0, 1, 1], scores) == pytest.approx(2 / 3)


def test_accuracy_rejects_single_score_column_with_a_hint():
    with pytest.raises(ShapeError, match="> 0"):
        accuracy([0, 1], np.array([[0.3], [-0.2]]))


def test_accuracy_rejects_length_mismatch_and_empty_input():
    with pytest.raises(ShapeError, match="same number of samples"):
        accuracy([0, 1, 1], [0, 1])
    with pytest.raises(EmptyInputError):
        accuracy([], [])


def test_confusion_matrix_rows_are_truth_columns_are_predictions():
    y_true = [0, 0, 1, 2, 2, 2]
    y_pred = [0, 1, 1, 2, 0, 2]
    expected = np.array([[1, 1, 0],
                         [0, 1, 0],
                         [1, 0, 2]])
    cm = confusion_matrix(y_true, y_pred)
    np.testing.assert_array_equal(cm, expected)
    assert cm.dtype.kind == "i"


def test_confusion_matrix_pads_to_n_classes_and_accepts_scores():
    scores = np.array([[0.9, 0.1, 0.0, 0.0], [0.0, 0.2, 0.8, 0.0]])
    cm = confusion_matrix([0, 2], scores, n_classes=4)
    expected = np.zeros((4, 4), dtype=int)
    expected[0, 0] = 1
    expected[2, 2] = 1
    np.testing.assert_array_equal(cm, expected)


def test_confusion_matrix_rejects_labels_out_of_range():
    with pytest.raises(LabelError, match="0..1"):
        confusion_matrix([0, 1, 2], [0, 1, 1], n_classes=2)
    with pytest.raises(LabelError):
        confusion_matrix([0, -1], [0, 0])


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=60))
def test_confusion_matrix_matches_a_naive_double_loop(pairs):
    y_true = [t for t, _ in pairs]
    y_pred = [p for _, p in pairs]
    naive = np.zeros((5, 5), dtype=int)
    for t, p in pairs:
        naive[t, p] += 1
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, n_classes=5), naive)
    # Its diagonal holds the correct predictions.
    assert naive.trace() / len(pairs) == pytest.approx(accuracy(y_true, y_pred))


def test_mean_squared_error_by_hand():
    # errors 1, -2, 0.5 -> squares 1, 4, 0.25 -> mean 5.25 / 3
    assert mean_squared_error([1.0, 2.0, 3.0], [0.0, 4.0, 2.5]) == pytest.approx(5.25 / 3)


def test_r2_score_by_hand():
    # y = [1, 2, 3], mean 2, SS_tot = 2; prediction [1, 2, 4]: SS_res = 1 -> R^2 = 0.5
    assert r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 4.0]) == pytest.approx(0.5)
    assert r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == pytest.approx(0.0)
    assert r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0


def test_r2_score_averages_columns_and_handles_constant_target():
    y = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
    pred = np.array([[1.0, 5.0], [2.0, 5.0], [4.0, 5.0]])
    # column 0: 0.5; column 1 constant and predicted exactly: 1.0
    assert r2_score(y, pred) == pytest.approx(0.75)
    pred[0, 1] = 4.0  # constant column predicted wrongly: 0.0
    assert r2_score(y, pred) == pytest.approx(0.25)


def test_regression_metrics_reject_shape_mismatch():
    with pytest.raises(ShapeError, match="same shape"):
        mean_squared_error(np.zeros((3, 1)), np.zeros(3))
