# Top-level entry points named in README.md.
VENV := tools/venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): setup.py tools/install.sh
	tools/install.sh
	touch $@

# The embedded demo: every recipe stage end to end on a small corpus, on the CPU.
demo: $(STAMP)
	cd egs/mini_diffsv && ./run.sh

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(VENV)/bin/ruff check diffsv tests bench utils

clean:
	rm -rf $(VENV) .pytest_cache
