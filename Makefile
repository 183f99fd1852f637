# serkit — the two commands a fresh machine needs: `make demo` and `make test`.
#
# Torch is installed first, pinned, and every later install is constrained to the
# installed build so that no dependency can upgrade it. A GPU user picks a build:
#   make install TORCH_SPEC=torch==2.5.1 TORCH_PIP_ARGS="--index-url <your CUDA wheel index>"

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_PIP_ARGS ?=
PYTEST_ARGS ?=

BIN := $(VENV)/bin
STAMP := $(VENV)/.serkit-installed

.PHONY: install test test-slow demo bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_PIP_ARGS) "$(TORCH_SPEC)"
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(VENV)/constraints.txt
	PIP_CONSTRAINT=$(abspath $(VENV))/constraints.txt $(BIN)/python -m pip install --quiet -e ".[test]"
	# lhotse (its Kaldi import is tested against serkit's data dirs) without its torch requirement,
	# then only what lhotse.kaldi imports, under the same torch constraint
	PIP_CONSTRAINT=$(abspath $(VENV))/constraints.txt $(BIN)/python -m pip install --quiet --no-deps "lhotse==1.33.0"
	PIP_CONSTRAINT=$(abspath $(VENV))/constraints.txt $(BIN)/python -m pip install --quiet \
		click intervaltree cytoolz tqdm pyyaml audioread packaging
	$(BIN)/python -c "import torch, serkit; print('serkit', serkit.__version__, 'with torch', torch.__version__)"
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-slow: install
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

demo: install
	@if [ -x recipes/iemocap/run.sh ] || [ -f recipes/iemocap/run.sh ]; then \
		cd recipes/iemocap && PATH=$(abspath $(BIN)):$$PATH bash run.sh --mini true; \
	else \
		echo "make demo: recipes/iemocap does not exist yet (it comes with the IEMOCAP recipe issue)" >&2; exit 1; \
	fi

bench: install
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

lint: install
	$(BIN)/ruff check serkit tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
