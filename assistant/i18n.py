"""The one way a Danish/English string is looked up, for every table of them (the handout's
here in ``assistant``, the UI's and the workshop pages' in ``ui``): a table maps a key to its
text per language, and a language the table lacks falls back to Danish.

Example:
    >>> table = {"hello": {"da": "Hej {name}", "en": "Hello {name}"}}
    >>> lookup(table, "hello", "en", name="Ida"), lookup(table, "hello", "de", name="Ida")
    ('Hello Ida', 'Hej Ida')
    >>> label(table, "greeting_", "formal", "en")  # a value with no entry shows as it is
    'formal'
"""

from __future__ import annotations

from typing import Literal

UiLang = Literal["da", "en"]
DEFAULT_LANG: UiLang = "da"
Strings = dict[str, dict[str, str]]


def lookup(table: Strings, key: str, lang: str, **kwargs: object) -> str:
    """The string for ``key`` in ``lang``, formatted with ``kwargs``; unknown lang falls back."""
    entry = table[key]
    text = entry.get(lang) or entry[DEFAULT_LANG]
    return text.format(**kwargs) if kwargs else text


def label(table: Strings, prefix: str, value: str, lang: str) -> str:
    """A readable name for ``value`` (key ``prefix + value``); values added later show as they
    are rather than crash."""
    key = f"{prefix}{value}"
    return lookup(table, key, lang) if key in table else value
