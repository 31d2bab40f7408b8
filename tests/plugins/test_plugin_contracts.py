"""Every built-in plugin passes the whole-plugin contract, as a third party's would."""

from __future__ import annotations

from latentstack.testing import PluginContract

BUILTINS = ["bench", "bert", "bm25", "faiss", "finetune", "linear", "llm", "lora", "onnx", "ray", "sources", "tfidf"]

for _name in BUILTINS:  # one test class per plugin, named after it: TestBert, TestBm25, ...
    globals()[f"Test{_name.title()}"] = type(f"Test{_name.title()}", (PluginContract,), {"plugin": _name})
