#!/usr/bin/env bash
# torchrun inside one job of $cuda_cmd:   utils/torchrun.sh [torchrun options] -m module args...
# In a Slurm allocation of several nodes (slurm.pl --num-nodes N, i.e. sbatch --nodes N) it starts one
# torchrun per node with srun, each told its --node-rank (its place in Slurm's node list) and the list's
# first node as --master-addr. Anywhere else (one node, run.pl, queue.pl) it is torchrun with the options given.
set -euo pipefail

nodes=${SLURM_JOB_NUM_NODES:-1}
if [ "$nodes" -le 1 ]; then
  exec torchrun "$@"
fi
if [ -z "${DIFFSV_TORCHRUN_NODE_STEP:-}" ]; then
  # The batch script runs on the first node only: one step task per node runs this script again there.
  export DIFFSV_TORCHRUN_NODE_STEP=1
  exec srun --nodes="$nodes" --ntasks="$nodes" --ntasks-per-node=1 --cpus-per-task="${SLURM_CPUS_PER_TASK:-1}" \
    --kill-on-bad-exit=1 "$0" "$@"
fi
head=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
exec torchrun --node-rank "$SLURM_NODEID" --master-addr "$head" "$@"
