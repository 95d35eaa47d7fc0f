#!/usr/bin/env bash
# Grid-engine job runner with the interface of Kaldi's utils/queue.pl and of our run.pl, for cmd.sh:
#   queue.pl [--config conf/queue.conf] [--num-threads N] [--gpu N] [--mem X] [--time T] [--max-jobs-run N]
#            JOB=1:N LOG command args...
# One qsub array job per call, waited for; see jobqueue.py for the site config and the files in LOG's q/.
exec python3 "$(dirname "$0")/jobcli.py" --backend sge "$@"
