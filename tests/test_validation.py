"""classp._validation: one checker, one message format, numbers as numpy and torch users pass them."""
from __future__ import annotations

import re
import math

import numpy as np
import pytest
import torch

from classp._validation import check_bool, check_choice, check_int, check_number, describe_range


@pytest.mark.parametrize("value", [0.5, 1, np.float32(0.5), np.float64(0.5), np.int64(1), torch.tensor(0.5),
                                   torch.tensor([0.5]), torch.tensor(1, dtype=torch.int32)])
def test_numbers_are_accepted_as_numpy_and_torch_users_pass_them(value):
    out = check_number("lr", value, 0.0)
    assert isinstance(out, float) and math.isclose(out, float(value))


@pytest.mark.parametrize("value,shown", [
    (True, "True"), (np.bool_(True), repr(np.bool_(True))), ("0.1", "'0.1'"), (None, "None"), ([0.1], "[0.1]"),
    (torch.tensor([0.1, 0.2]), "a tensor of shape (2,)"), (complex(1, 0), "(1+0j)"),
])
def test_non_numbers_are_refused_naming_the_argument(value, shown):
    with pytest.raises(ValueError) as info:
        check_number("lr", value, 0.0)
    assert str(info.value) == f"lr must be a number >= 0; got {shown}"


@pytest.mark.parametrize("kwargs,value,message", [
    ({"low": 0.0}, -1.0, "lr must be a number >= 0; got -1.0"),
    ({"low": 0.0, "low_open": True}, 0.0, "lr must be a number > 0; got 0.0"),
    ({"low": 0.0, "high": 1.0}, 1.5, "lr must be a number in [0, 1]; got 1.5"),
    ({"low": 0.0, "high": 1.0, "high_open": True}, 1.0, "lr must be a number in [0, 1); got 1.0"),
    ({"high": 2.0}, 3, "lr must be a number <= 2; got 3"),
    ({"low": 0.0}, float("nan"), "lr must be a finite number >= 0; got nan"),
    ({"low": 0.0}, float("inf"), "lr must be a finite number >= 0; got inf"),
    ({"low": 0.0, "allow_none": True}, -1, "lr must be None or a number >= 0; got -1"),
])
def test_out_of_range_numbers_name_the_range(kwargs, value, message):
    low = kwargs.pop("low", None)
    high = kwargs.pop("high", None)
    with pytest.raises(ValueError) as info:
        check_number("lr", value, low, high, **kwargs)
    assert str(info.value) == message


def test_bounds_themselves_and_none_and_infinity_where_allowed():
    assert check_number("x", 0, 0) == 0.0 and check_number("x", 1, 0, 1) == 1.0
    assert check_number("x", None, 0, allow_none=True) is None
    assert check_number("x", float("inf"), 0, finite=False) == math.inf


@pytest.mark.parametrize("value", [3, np.int64(3), np.int8(3), torch.tensor(3), torch.tensor([3])])
def test_integers_are_accepted_from_python_numpy_and_torch(value):
    out = check_int("seed", value, 0)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value,message", [
    (3.0, "seed must be an integer >= 0; got 3.0"),
    (np.float64(3.0), f"seed must be an integer >= 0; got {np.float64(3.0)!r}"),
    (True, "seed must be an integer >= 0; got True"),
    (-1, "seed must be an integer >= 0; got -1"),
    (torch.tensor(3.0), "seed must be an integer >= 0; got tensor(3.)"),
    ("3", "seed must be an integer >= 0; got '3'"),
])
def test_non_integers_and_out_of_range_are_refused(value, message):
    with pytest.raises(ValueError) as info:
        check_int("seed", value, 0)
    assert str(info.value) == message


def test_integer_ranges_and_none():
    assert check_int("steps", 2, 2, 10) == 2 and check_int("steps", 10, 2, 10) == 10
    with pytest.raises(ValueError, match=r"^steps must be an integer in \[2, 10\]; got 11$"):
        check_int("steps", 11, 2, 10)
    assert check_int("threads", None, 1, allow_none=True) is None
    with pytest.raises(ValueError, match=r"^threads must be None or an integer >= 1; got 0$"):
        check_int("threads", 0, 1, allow_none=True)


def test_choices_and_bools():
    assert check_choice("mode", "online", ("separate", "online")) == "online"
    with pytest.raises(ValueError) as info:
        check_choice("mode", "both", ("separate", "online"))
    assert str(info.value) == "mode must be one of 'separate', 'online'; got 'both'"
    with pytest.raises(ValueError, match="got True"):
        check_choice("n", True, (1, 2))  # True == 1 in Python, but True is not the choice 1
    with pytest.raises(ValueError, match="got tensor"):
        check_choice("n", torch.tensor([1, 2]), (1, 2))
    assert check_bool("decay", np.bool_(False)) is False
    for bad in (1, 0, "yes", None):
        with pytest.raises(ValueError, match=r"^decay must be True or False; got "):
            check_bool("decay", bad)


def test_describe_range():
    assert describe_range() == ""
    assert describe_range(1e-8, None) == ">= 1e-08"
    assert describe_range(None, 1, high_open=True) == "< 1"


def test_check_distinct_and_exact_integer_bounds():
    from classp._validation import MAX_SEED, check_distinct

    assert check_distinct("seeds", (0, 1, 2)) == [0, 1, 2]
    with pytest.raises(ValueError, match=re.escape("methods must be distinct (each one is counted once); got "
                                                   "['sgd', 'adam', 'sgd'] ('sgd' repeats)")):
        check_distinct("methods", ["sgd", "adam", "sgd"])
    with pytest.raises(ValueError, match=re.escape("seed must be an integer in [0, 4294967295]; got 4294967296")):
        check_int("seed", MAX_SEED + 1, 0, MAX_SEED)
