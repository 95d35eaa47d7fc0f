#!/usr/bin/env bash
# Slurm job runner with the interface of Kaldi's utils/slurm.pl and of our run.pl, for cmd.sh:
#   slurm.pl [--config conf/slurm.conf] [--num-threads N] [--gpu N] [--mem X] [--time T] [--max-jobs-run N]
#            [--num-nodes N] JOB=1:N LOG command args...
# One sbatch array job per call, waited for; see jobqueue.py for the site config and the files in LOG's q/.
exec python3 "$(dirname "$0")/jobcli.py" --backend slurm "$@"
