# One-word entry points. `make practice` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True

.PHONY: setup practice test bench clean chromium

# The CPU build of torch goes in first: otherwise sentence-transformers pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install --quiet --disable-pip-version-check -e ".[test]"
	@touch $(STAMP)

setup: $(STAMP)

practice: setup
	$(BIN)/interviewer practice $(ARGS)

test: setup chromium
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The HTML report's browser test drives Debian's chromium (Playwright never downloads a browser).
# Best effort: installed when missing and we are root with apt-get; otherwise that test skips.
chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the HTML report's browser test..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 \
	  || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; } \
	  || echo "Could not install chromium: the browser test will skip."; \
	fi

bench: setup
	$(BIN)/python bench/performance.py $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
