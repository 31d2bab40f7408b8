"""Retrieval-augmented generation: search, a prompt of numbered passages, a cited answer."""

from latentstack.rag.answer import Citation, clean_answer, parse_citations, short_answer
from latentstack.rag.pipeline import RagAnswer, RagConfig, RagPipeline
from latentstack.rag.prompt import Passage, build_messages, select_passages

__all__ = ["Citation", "Passage", "RagAnswer", "RagConfig", "RagPipeline", "build_messages", "clean_answer",
           "parse_citations", "select_passages", "short_answer"]
