"""Tests for nbfromscratch._validation: the shared input checks."""

from __future__ import annotations

import numpy as np
import pytest

from nbfromscratch._labels import check_labels, infer_n_classes
from nbfromscratch._validation import (
    as_array,
    as_float,
    as_rng,
    check_array,
    check_choice,
    check_finite,
    check_float_dtype,
    check_not_empty,
    check_positive_int,
    check_real,
    check_same_length,
    describe,
    float_input,
    is_int,
    lookup,
)
from nbfromscratch.exceptions import (
    ArgumentTypeError,
    DTypeError,
    EmptyInputError,
    LabelError,
    NonFiniteError,
    ParameterError,
    ShapeError,
    UnknownNameError,
)
from nbfromscratch.layers._checks import (
    check_features,
    check_grad_output,
    check_layer_input,
    check_same_dtype,
)


# -- check_array -----------------------------------------------------------------------------
def test_check_array_accepts_matching_array_and_lists():
    x = np.zeros((3, 2))
    assert check_array(x, "X") is x
    out = check_array([[1.0, 2.0]], "X")
    assert isinstance(out, np.ndarray) and out.shape == (1, 2)


def test_check_array_wrong_ndim_raises_shape_error_naming_argument():
    with pytest.raises(ShapeError, match=r"X: expected a 2-D array, got 1-D with shape \(3,\)"):
        check_array(np.zeros(3), "X")


def test_check_array_accepts_any_of_several_ndims():
    check_array(np.zeros(3), "y", ndim=(1, 2))
    with pytest.raises(ShapeError, match="1-D or 2-D"):
        check_array(np.zeros((1, 1, 1)), "y", ndim=(1, 2))


def test_check_array_integer_where_float_needed_raises_dtype_error():
    with pytest.raises(DTypeError, match="X: expected a floating-point array, got dtype int64"):
        check_array(np.zeros((2, 2), dtype=np.int64), "X")


def test_check_array_none_disables_checks():
    x = np.array(["a", "b"])
    assert check_array(x, "x", ndim=None, dtype_kind=None) is x


# -- layer boundary checks -----------------------------------------------------------------
def test_check_features_message_names_layer_expected_and_got():
    with pytest.raises(ShapeError) as err:
        check_features(np.zeros((10, 5)), 4, "Linear(in_features=4, out_features=3)")
    assert str(err.value) == (
        "Linear(in_features=4, out_features=3): expected input of shape (n, 4), got (10, 5)"
    )


def test_check_same_dtype_names_both_dtypes():
    with pytest.raises(DTypeError, match="float32.*float64"):
        check_same_dtype(np.zeros(2, np.float32), np.dtype(np.float64), "Layer")
    check_same_dtype(np.zeros(2), np.dtype(np.float64), "Layer")


def test_check_layer_input_rejects_list_int_and_wrong_ndim():
    with pytest.raises(DTypeError, match="expected a NumPy array, got list"):
        check_layer_input([[1.0]], "L")
    with pytest.raises(DTypeError, match="floating-point input, got dtype int32"):
        check_layer_input(np.zeros((2, 2), np.int32), "L")
    with pytest.raises(DTypeError, match="bool"):
        check_layer_input(np.zeros((2, 2), bool), "L")
    with pytest.raises(ShapeError, match=r"expected input of shape \(n, 3\), got \(3,\)"):
        check_layer_input(np.zeros(3), "L", n_features=3)
    with pytest.raises(ShapeError):
        check_layer_input(np.array(1.0), "L", ndim=None)  # 0-D


def test_check_layer_input_passes_good_input():
    check_layer_input(np.zeros((4, 3), np.float32), "L", n_features=3, dtype=np.dtype(np.float32))


def test_check_grad_output_shape_and_dtype():
    g = np.zeros((2, 3))
    check_grad_output(g, (2, 3), np.dtype(np.float64), "L")
    with pytest.raises(ShapeError, match=r"grad_output has shape \(2, 3\).*\(2, 4\)"):
        check_grad_output(g, (2, 4), np.dtype(np.float64), "L")
    with pytest.raises(DTypeError, match="float64.*float32"):
        check_grad_output(g, (2, 3), np.dtype(np.float32), "L")


def test_describe_uses_extra_repr_of_objects():
    class Fake:
        def extra_repr(self) -> str:
            return "a=1"

    assert describe(Fake()) == "Fake(a=1)"
    assert describe("text") == "text"


# -- labels ------------------------------------------------------------------------------------
def test_check_labels_returns_int64_and_accepts_integral_floats_and_bools():
    assert check_labels([0, 2, 1], 3).dtype == np.int64
    np.testing.assert_array_equal(check_labels(np.array([0.0, 2.0]), 3), [0, 2])
    np.testing.assert_array_equal(check_labels(np.array([True, False]), 2), [1, 0])


@pytest.mark.parametrize("bad", [[0, 0.5], [0, np.nan], [0, np.inf]])
def test_check_labels_non_integer_raises_label_error(bad):
    with pytest.raises(LabelError, match="labels must be integers"):
        check_labels(np.array(bad), 2)


def test_check_labels_strings_raise_label_error():
    with pytest.raises(LabelError, match="dtype <U"):
        check_labels(np.array(["cat", "dog"]), 2)


def test_check_labels_out_of_range_reports_value_and_index():
    with pytest.raises(LabelError, match=r"y: labels must be in 0..2, found 3 at index 2"):
        check_labels([0, 1, 3], 3)
    with pytest.raises(LabelError, match=r"labels must be >= 0, found -1 at index 1"):
        check_labels([0, -1])


def test_check_labels_2d_raises_shape_error():
    with pytest.raises(ShapeError, match=r"\(2, 1\)"):
        check_labels(np.zeros((2, 1), int), 2)


def test_check_labels_empty_is_fine():
    assert check_labels(np.array([], dtype=int), 3).shape == (0,)


# -- conversions and data checks -------------------------------------------------------------
def test_as_float_converts_lists_and_ints_to_float64():
    out = as_float([[1, 2], [3, 4]], "X")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[1.0, 2.0], [3.0, 4.0]])


def test_as_float_keeps_float32_without_copy_and_converts_on_request():
    x = np.ones(3, np.float32)
    assert as_float(x, "X") is x
    assert as_float(x, "X", dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(
    "bad", [np.array(["a"]), np.array([object()], dtype=object), np.array([1j])]
)
def test_as_float_rejects_strings_objects_complex(bad):
    with pytest.raises(DTypeError, match="X: expected numbers"):
        as_float(bad, "X")


def test_as_float_rejects_ragged_lists_and_bad_target_dtype():
    with pytest.raises(ShapeError, match="rectangular"):
        as_float([[1, 2], [3]], "X")
    with pytest.raises(DTypeError, match="float16"):
        as_float([1.0], "X", dtype=np.float16)


def test_check_finite_reports_count_and_first_index():
    x = np.array([[1.0, np.nan], [np.inf, 2.0]])
    with pytest.raises(NonFiniteError, match=r"X contains 2 NaN/inf value\(s\), the first at index \(0, 1\)"):
        check_finite(x, "X")
    check_finite(np.ones(3), "X")


def test_check_not_empty_and_same_length():
    with pytest.raises(EmptyInputError, match=r"\(0, 3\)"):
        check_not_empty(np.zeros((0, 3)), "X")
    with pytest.raises(ShapeError, match="got 3 and 2"):
        check_same_length(np.zeros(3), np.zeros(2))


def test_check_choice_lists_valid_values():
    assert check_choice("mean", ("mean", "sum"), "reduction") == "mean"
    with pytest.raises(UnknownNameError, match="'avg'.*'mean', 'sum'"):
        check_choice("avg", ("mean", "sum"), "reduction")


def test_lookup_is_case_insensitive_and_lists_valid_names():
    table = {"relu": 1, "leaky_relu": 2}
    assert lookup(table, "ReLU", "activation") == 1
    for bad in ("swish", "", None, 3, ["relu"]):
        message = r"^activation: unknown name .*; valid names are 'relu', 'leaky_relu'$"
        with pytest.raises(UnknownNameError, match=message):
            lookup(table, bad, "activation")


@pytest.mark.parametrize("value,expected", [(3, True), (np.int8(3), True), (True, False), (np.bool_(True), False),
                                            (3.0, False), ("3", False), (None, False)])
def test_is_int_excludes_bools_and_floats(value, expected):
    assert is_int(value) is expected


def test_check_real_returns_a_python_float():
    number = check_real(np.float32(-1.5), "slope")
    assert number == -1.5 and type(number) is float
    for bad in (float("nan"), float("inf"), True, "1", 1j, None):
        with pytest.raises(ParameterError, match="slope must be a finite number"):
            check_real(bad, "slope")


def test_check_positive_int_raises_the_requested_error():
    assert check_positive_int(np.int64(2), "n") == 2
    with pytest.raises(ShapeError, match="in_features must be a positive int, got 0"):
        check_positive_int(0, "in_features", ShapeError)


def test_as_rng_seed_is_reproducible_and_generator_is_shared():
    a = as_rng(42).random(3)
    b = np.random.default_rng(42).random(3)
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(0)
    assert as_rng(gen) is gen
    assert isinstance(as_rng(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng"):
        as_rng("seed")
    with pytest.raises(TypeError):
        as_rng(True)


# -- the checks added for the reliability work ---------------------------------------------------
def test_as_array_reports_ragged_lists_as_shape_errors_and_keeps_arrays():
    x = np.zeros(3)
    assert as_array(x, "X") is x
    with pytest.raises(ShapeError, match="X: cannot be made into a rectangular array"):
        as_array([[1, 2], [3]], "X")


def test_float_input_passes_floats_converts_ints_and_rejects_the_rest():
    x32 = np.ones(3, np.float32)
    assert float_input(x32, "f: x") is x32
    out = float_input([1, 2], "f: x")
    assert out.dtype == np.float64 and out.tolist() == [1.0, 2.0]
    assert float_input(np.array([True]), "f: x").dtype == np.float64
    assert float_input(7, "f: x").shape == ()
    with pytest.raises(DTypeError, match="f: x: expected float32 or float64, got dtype float16"):
        float_input(np.ones(2, np.float16), "f: x")
    with pytest.raises(DTypeError, match="expected real numbers, got an array of dtype complex128"):
        float_input(np.ones(2, complex), "f: x")


def test_check_layer_input_rejects_float16_and_empty_batches():
    with pytest.raises(DTypeError, match="expected float32 or float64, got dtype float16"):
        check_layer_input(np.zeros((2, 2), np.float16), "L")
    with pytest.raises(EmptyInputError, match=r"L: got an empty input of shape \(0, 3\)"):
        check_layer_input(np.zeros((0, 3)), "L", n_features=3)


def test_check_array_with_float_kind_rejects_float16():
    with pytest.raises(DTypeError, match="float16"):
        check_array(np.zeros((2, 2), np.float16), "pred")


def test_as_float_refuses_values_that_would_overflow_the_narrower_dtype():
    x = np.array([[1.0, 2.0], [1e39, -1e40]])
    with pytest.raises(NonFiniteError, match=r"X: 2 value\(s\) are too large for float32.*\(1, 0\)"):
        as_float(x, "X", dtype=np.float32)
    # Infinities already in the data are not this error's business (check_finite reports them).
    assert np.isinf(as_float(np.array([np.inf, 1.0]), "X", dtype=np.float32)[0])


def test_check_labels_refuses_floats_beyond_int64_and_bad_n_classes():
    with pytest.raises(LabelError, match="labels must be integers"):
        check_labels(np.array([0.0, 1e300]))
    with pytest.raises(ParameterError, match="n_classes must be a positive int, got 0"):
        check_labels([0, 1], 0)


def test_infer_n_classes_refuses_labels_that_are_not_class_indices():
    assert infer_n_classes([np.array([0, 2]), np.array([1])], "cm") == 3
    assert infer_n_classes([np.array([], dtype=np.int64)], "cm") == 0
    with pytest.raises(LabelError, match="largest label is 5000, which would mean 5001 classes"):
        infer_n_classes([np.array([0, 5000])], "one_hot: y")


def test_check_same_length_refuses_scalars():
    with pytest.raises(ShapeError, match="y: expected an array with one entry per sample"):
        check_same_length(np.zeros(3), np.float64(1.0))


def test_check_positive_int_and_check_float_dtype():
    assert check_positive_int(np.int64(3), "epochs") == 3
    for bad in (0, -1, 2.0, True, "3"):
        with pytest.raises(ParameterError, match="epochs must be a positive int"):
            check_positive_int(bad, "epochs")
    assert check_float_dtype("float32", "dtype") == np.float32
    with pytest.raises(DTypeError, match="dtype must be float32 or float64"):
        check_float_dtype("not a dtype", "dtype")


def test_as_rng_errors_are_package_errors():
    with pytest.raises(ArgumentTypeError, match="rng: expected None, an int seed"):
        as_rng("seed")
    with pytest.raises(ParameterError, match="a seed must be >= 0"):
        as_rng(-1)
