"""Generative answers from the organisation's own language model, behind the citation gate:
``prompt`` (the grounded prompt), ``parse`` (the reply's sentences and markers), ``verifier``
(each sentence against its cited passage) and ``composer`` (the Composer, with fallback)."""
