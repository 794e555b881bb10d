"""Code matching: one number on the screen, three on the phone."""

from __future__ import annotations

from collections import Counter

from relay.crossdevice import new_match


def test_the_screens_number_is_one_of_three_distinct_two_digit_choices() -> None:
    for _ in range(500):
        code, choices = new_match()
        assert code in choices
        assert len(choices) == len(set(choices)) == 3
        assert all(10 <= n <= 99 for n in choices)


def test_the_right_number_is_not_always_in_the_same_place() -> None:
    # A guesser must not be able to count on a position: each place holds the code about a third
    # of the time (with 3000 draws, each count is far from 0 and from 3000).
    places = Counter(choices.index(code) for code, choices in (new_match() for _ in range(3000)))
    assert set(places) == {0, 1, 2}
    assert all(800 < count < 1200 for count in places.values()), places
