"""Danish CPR numbers: find them and mask them before anything is logged or stored.

A CPR number is ``ddmmyy-xxxx`` or ``ddmmyyxxxx`` (or with a space, as :mod:`assistant.guard`
accepts). We check that day and month are plausible
so that ordinary ten-digit numbers (amounts, phone numbers with prefixes) are mostly left alone;
a false positive only costs a masked number in a log line, a miss would leak personal data, so the
pattern errs on the side of masking.

Example:
    >>> from assistant.api.privacy import contains_cpr, mask_cpr
    >>> mask_cpr("Borger 010203-1234 og 3112991234")
    'Borger ******-**** og ******-****'
    >>> contains_cpr("Telefon 4512345678")
    False
"""

from __future__ import annotations

import re
from typing import Any

CPR_MASK = "******-****"

# Digits directly before or after would make it part of a longer number, not a CPR number,
# except the hex digits of a URL escape ("%20" + number, as in a logged query string).
_CPR = re.compile(
    r"(?:(?<!\d)|(?<=%[0-9A-Fa-f]{2}))"
    r"(?:0[1-9]|[12]\d|3[01])(?:0[1-9]|1[0-2])\d{2}[- ]?\d{4}(?!\d)"
)

_WARNINGS = {
    "da": (
        "Spørgsmålet ser ud til at indeholde et CPR-nummer. Indtast ikke personoplysninger; "
        "nummeret er skjult i logfilerne og blev ikke brugt i søgningen."
    ),
    "en": (
        "The question appears to contain a Danish CPR number. Do not enter personal data; "
        "the number was masked in the logs and not used in the search."
    ),
}


def contains_cpr(text: str) -> bool:
    return _CPR.search(text) is not None


def mask_cpr(text: str) -> str:
    return _CPR.sub(CPR_MASK, text)


def mask_any(value: Any) -> Any:
    """Mask strings inside nested dicts/lists/tuples; other values pass through.

    >>> mask_any({"q": ["010203-1234", 7]})
    {'q': ['******-****', 7]}
    """
    if isinstance(value, str):
        return mask_cpr(value)
    if isinstance(value, dict):
        return {k: mask_any(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_any(v) for v in value]
    return value


def cpr_warning(language: str) -> str:
    """The user-facing warning, in the answer's language (Danish unless English).

    >>> cpr_warning("en").startswith("The question")
    True
    """
    return _WARNINGS["en" if language == "en" else "da"]
