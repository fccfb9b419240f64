"""The fit's rules for choosing among what the tuning data cannot tell apart (evals.fitting):
the simplest sentence fit within one standard error of the best, and a card shape in use that
gives way only to one better beyond noise."""

from __future__ import annotations

import doctest

import pytest

import evals.fitting
from evals.fitting import better_beyond_noise, one_standard_error


def test_the_doctests_hold() -> None:
    result = doctest.testmod(evals.fitting)
    assert result.attempted >= 3 and result.failed == 0


def test_the_simplest_fit_within_one_standard_error_of_the_best_is_taken() -> None:
    # 190 questions: 0.621 and 0.632 top-1 are two questions apart, well within one error.
    simple = [1] * 118 + [0] * 72
    pairwise = [1] * 120 + [0] * 70
    assert one_standard_error([("pointwise", simple), ("pairwise", pairwise)]) == "pointwise"
    # Order is what "simplest" means: the same options the other way round take the other.
    assert one_standard_error([("pairwise", pairwise), ("pointwise", simple)]) == "pairwise"
    # Clearly better is taken even though it comes last.
    weak = [1] * 80 + [0] * 110
    assert one_standard_error([("weak", weak), ("pairwise", pairwise)]) == "pairwise"


def test_a_fit_with_no_questions_takes_the_first_option() -> None:
    assert one_standard_error([("a", []), ("b", [])]) == "a"


@pytest.mark.parametrize(
    ("new", "old", "expected"),
    [
        ([0.8] * 50, [0.7] * 50, True),  # better on every case
        ([1.0, 0.0] * 25, [0.0, 1.0] * 25, False),  # as good on average
        ([0.75] * 49 + [1.0], [0.75] * 50, False),  # one case better: noise
        ([0.6] * 50, [0.7] * 50, False),  # worse
    ],
)
def test_a_card_in_use_gives_way_only_to_one_better_beyond_noise(
    new: list[float], old: list[float], expected: bool
) -> None:
    assert better_beyond_noise(new, old) is expected
