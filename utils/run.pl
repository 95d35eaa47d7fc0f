#!/usr/bin/env bash
# Local job runner with the interface of Kaldi's utils/run.pl, so cmd.sh can say
#   export train_cmd="run.pl"
# as Kaldi users expect:
#   run.pl [--num-threads N] [--gpu N] [--mem X] [--time T] [--max-jobs-run N] JOB=1:N LOG command args...
# The work is done by jobcli.py and jobrunner.py (stdlib-only Python); see their docstrings for the log format
# and exit codes.
exec python3 "$(dirname "$0")/jobcli.py" --backend local "$@"
