"""User codes (RFC 8628 §6.1): eight consonants, typed any way, shown as XXXX-XXXX."""

from __future__ import annotations

import pytest

from relay.device.user_codes import ALPHABET, LENGTH, new_user_code, normalise, shown


def test_user_codes_are_eight_letters_of_the_alphabet() -> None:
    codes = {new_user_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == LENGTH and set(code) <= set(ALPHABET)
    assert set(ALPHABET) == set("BCDFGHJKLMNPQRSTVWXZ")  # no vowels, no look-alike digits


@pytest.mark.parametrize(
    "typed",
    [
        "BCDF-GHJK",
        "bcdf-ghjk",
        "bcdf ghjk",
        " Bc dF-gh.jK ",
        "BCDFGHJK",
        "ＢＣＤＦ－ＧＨＪＫ",  # noqa: RUF001 - full-width, from an East Asian keyboard
    ],
)
def test_user_codes_typed_any_way_normalise_to_the_eight_letters(typed: str) -> None:
    assert normalise(typed) == "BCDFGHJK"


@pytest.mark.parametrize(
    "typed",
    [None, "", "BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ1", "B" * 65, "-" * 10],
)
def test_user_codes_that_cannot_exist_are_refused_without_a_lookup(typed: str | None) -> None:
    assert normalise(typed) is None


def test_user_codes_shown_with_a_dash_in_the_middle() -> None:
    assert shown("BCDFGHJK") == "BCDF-GHJK"
