"""Every built-in plugin passes the whole-plugin contract, as a third party's would."""

from __future__ import annotations

from latentstack.testing import PluginContract


class TestBert(PluginContract):
    plugin = "bert"


class TestBm25(PluginContract):
    plugin = "bm25"


class TestFaiss(PluginContract):
    plugin = "faiss"


class TestFinetune(PluginContract):
    plugin = "finetune"


class TestLinear(PluginContract):
    plugin = "linear"


class TestLora(PluginContract):
    plugin = "lora"


class TestLlm(PluginContract):
    plugin = "llm"


class TestOnnx(PluginContract):
    plugin = "onnx"


class TestTfidf(PluginContract):
    plugin = "tfidf"


class TestSources(PluginContract):
    plugin = "sources"


class TestBench(PluginContract):
    plugin = "bench"
