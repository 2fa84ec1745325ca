"""classp.lab.tables: mean ± sample std over seeds, one row per label, and the plain-text table."""
import doctest

import numpy as np
import pytest

from classp.lab import tables
from classp.lab.tables import format_table, summarize


def test_summarize_mean_and_sample_std(make_result):
    a = make_result(seed=0, R=[[1.0, 0.0], [0.6, 0.8]])
    b = make_result(seed=1, R=[[1.0, 0.0], [0.8, 1.0]])
    c = make_result(method="adam", seed=0)
    rows = summarize([a, b, c])
    assert [r["method"] for r in rows] == ["sgd", "adam"]
    sgd = rows[0]
    assert sgd["seeds"] == 2 and sgd["sequence"] == "toy"
    # average accuracies 0.7 and 0.9: mean 0.8, sample std sqrt(((.1)^2 + (.1)^2) / 1)
    assert sgd["average_accuracy"] == pytest.approx(0.8)
    assert sgd["average_accuracy_std"] == pytest.approx(np.sqrt(0.02))
    # forgetting 0.4 and 0.2
    assert sgd["forgetting"] == pytest.approx(0.3)
    assert sgd["state_bytes"] == 120 and sgd["wall_s"] == pytest.approx(0.5) and sgd["wall_s_std"] == 0.0
    assert rows[1]["average_accuracy_std"] is None  # one run: no std
    table = format_table(rows)
    assert "0.800 ± 0.141" in table
    assert table.splitlines()[0].startswith("method")
    assert set(table.splitlines()[1]) == {"-", " "}
    assert "adam" in table.splitlines()[3]


def test_summarize_groups_by_label(make_result):
    rows = summarize([make_result(label="sgd lr=0.1"), make_result(label="sgd lr=0.3")])
    assert [r["method"] for r in rows] == ["sgd lr=0.1", "sgd lr=0.3"]
    with pytest.raises(ValueError, match="Result"):
        summarize([{"method": "x"}])


def test_format_table_columns_digits_and_units():
    rows = [{"method": "a", "average_accuracy": 0.81234, "average_accuracy_std": 0.01, "state_bytes": 70440,
             "wall_s": 1.234}]
    text = format_table(rows, columns=["method", "average_accuracy", "state_bytes", "wall_s"], digits=1)
    header, rule, line = text.splitlines()
    assert header.split() == ["method", "avg", "acc", "state", "time", "(s)"]
    assert line.split() == ["a", "0.8", "±", "0.0", "70.4", "kB", "1.23"]
    # by default only the columns some row has
    assert format_table(rows).splitlines()[0].split()[:3] == ["method", "avg", "acc"]
    assert "sequence" not in format_table(rows)


@pytest.mark.parametrize("digits, message", [(-1, r"^digits must be an integer >= 0; got -1$"),
                                             (2.0, r"^digits must be an integer >= 0; got 2.0$")])
def test_format_table_checks_digits(digits, message):
    with pytest.raises(ValueError, match=message):
        format_table([], digits=digits)


def test_numpy_digits_and_the_doctest():
    row = {"method": "a", "forgetting": 0.5}
    assert format_table([row], digits=np.int64(2)).splitlines()[-1].split() == ["a", "0.50"]
    assert doctest.testmod(tables).failed == 0
