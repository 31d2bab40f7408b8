"""The built-in benchmark suites; importing this package adds them to ``latentstack bench``."""

from latentstack.bench.suites import ann, classify, generate, rag, retrieval

SUITES = [retrieval.retrieval, ann.ann, classify.classify, rag.rag, generate.generate]
