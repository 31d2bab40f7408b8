"""Readers for the benchmark data formats (SQuAD v1.1 JSON; labeled TSV/CSV/JSONL)."""
