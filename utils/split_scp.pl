#!/usr/bin/env bash
# Kaldi's utils/split_scp.pl interface, so recipes and Kaldi habits work unchanged:
#   split_scp.pl [--utt2spk=FILE] in.scp out1.scp out2.scp ...
# The work is done by split_scp.py (stdlib-only Python); see its docstring.
exec python3 "$(dirname "$0")/split_scp.py" "$@"
