"""The built-in benchmark suites; importing this package adds them to ``latentstack bench``."""

from latentstack.bench.suites import retrieval

SUITES = [retrieval.retrieval]
