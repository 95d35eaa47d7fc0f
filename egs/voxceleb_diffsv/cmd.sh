# Job runners for the stages, Kaldi style. Each is called as
#   $cmd [--num-threads N] [--gpu N] [--mem X] [--time T] [--num-nodes N] JOB=1:N exp/log/name.JOB.log command args...
# cmd_backend chooses where the jobs run (set it here, or in the environment: cmd_backend=slurm ./run.sh ...):
#   local   run.pl: on this machine, --max-jobs-run at once
#   slurm   slurm.pl: one sbatch array job per call; partition, account, GRES names in conf/slurm.conf
#   sge     queue.pl: one qsub array job per call (grid engine); queue names and flags in conf/queue.conf
# Kaldi's own run.pl, queue.pl or slurm.pl can be put here instead.
case "${cmd_backend:=local}" in
  local) runner="run.pl" ;;
  slurm) runner="slurm.pl --config conf/slurm.conf" ;;
  sge) runner="queue.pl --config conf/queue.conf" ;;
  *) echo "cmd.sh: unknown cmd_backend '$cmd_backend' (local, slurm or sge)" >&2; return 1 ;;
esac
export train_cmd="$runner"
export cuda_cmd="$runner --gpu 1"
export decode_cmd="$runner"
