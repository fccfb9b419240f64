"""Answer-quality evaluation: suites of cases, a runner, metrics, reports and a CI gate.

Run ``python -m evals --help`` for the command line; ``evals/README.md`` is the guide.

Example:
    >>> from evals.suite import load_suite
    >>> load_suite("evals/suites/core.yaml").name
    'core'
"""
