"""Entry point: ``python -m evals run evals/suites --out artifacts/evals/latest``."""

import sys

from evals.cli import main

sys.exit(main())
