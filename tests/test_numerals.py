from __future__ import annotations

import pytest

from vietser.numerals import localise, number


@pytest.mark.parametrize(
    ("value", "spec", "english", "vietnamese"),
    [(-1.5, "+.1f", "-1.5", "-1,5"), (0.55, ".2g", "0.55", "0,55"), (2e-05, "g", "2e-05", "2e-05"), (3.0, "g", "3", "3")],
)
def test_number_uses_the_language_decimal_separator(value: float, spec: str, english: str, vietnamese: str) -> None:
    assert (number(value, spec, "en"), number(value, spec, "vi")) == (english, vietnamese)


def test_localise_rewrites_a_formatted_number() -> None:
    assert (localise("+0.25", "vi"), localise("+0.25", "en")) == ("+0,25", "+0.25")
