# kotae: the two promises are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
KB     ?= demo-kb

.PHONY: demo test check lint typecheck unit install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip wheel setuptools

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

# torch is pinned to the CPU build first: any other spec makes pip pull a multi-GB CUDA build.
$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q 'torch==2.13.0'
	$(BIN)/pip install -q -e '.[test,embeddings]'
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

demo: $(VENV)/.installed
	@rm -rf $(KB)
	@$(BIN)/kotae init $(KB)
	@echo "== ingest the sample documents (confidential/ only for the executives group)"
	@$(BIN)/kotae ingest samples/docs/*.* --kb $(KB)
	@$(BIN)/kotae ingest samples/docs/confidential --acl executives --kb $(KB)
	@$(BIN)/kotae users add sato --groups executives --kb $(KB) >/dev/null
	@echo
	@echo "== 日本語: 出張の宿泊費の上限はいくら？"
	@$(BIN)/kotae search "出張の宿泊費の上限はいくら？" -k 3 --kb $(KB)
	@echo
	@echo "== English: What is the rate limit of the API?"
	@$(BIN)/kotae search "What is the rate limit of the API?" -k 3 --kb $(KB)
	@echo
	@echo "== ACL: 価格改定 as a public reader, then as sato (executives)"
	@echo "-- public reader: the board minutes stay hidden"
	@$(BIN)/kotae search "SP-200の価格改定" -k 2 --kb $(KB)
	@echo "-- sato (executives):"
	@$(BIN)/kotae search "SP-200の価格改定" -k 2 --as sato --kb $(KB)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kotae tests benchmarks samples
	$(BIN)/ruff format --check kotae tests benchmarks samples

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q

check: lint typecheck

test: check unit

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_retrieval.py
	$(BIN)/python benchmarks/render.py

clean:
	rm -rf $(VENV) $(KB) .mypy_cache .ruff_cache .pytest_cache *.egg-info
