"""The built-in benchmark suites; importing this package adds them to ``latentstack bench``."""

from latentstack.bench.suites import ann, classify, embed, generate, rag, retrieval, sft

SUITES = [retrieval.retrieval, ann.ann, classify.classify, rag.rag, generate.generate, embed.embed, sft.sft]
