"""Danish CPR numbers: find them and mask them before anything is logged or stored.

The pattern lives in :mod:`assistant.guard` (the assistant warns about CPR numbers too); this
module adds masking of whole log payloads and the API's warning texts.

Example:
    >>> from assistant.api.privacy import contains_cpr, mask_cpr
    >>> mask_cpr("Borger 010203-1234 og 3112991234")
    'Borger ******-**** og ******-****'
    >>> contains_cpr("Telefon 4512345678")
    False
"""

from __future__ import annotations

from typing import Any

from assistant.guard import CPR_MASK, contains_cpr, mask_cpr

__all__ = ["CPR_MASK", "contains_cpr", "mask_any", "mask_cpr"]

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
