# Job runners for the stages, Kaldi style. Each takes
#   $cmd [--num-threads N] [--gpu N] [--mem X] JOB=1:N exp/log/name.JOB.log command args...
# run.pl runs the jobs on this machine. Kaldi's own run.pl, queue.pl or slurm.pl can be used instead.
export train_cmd="run.pl"
export cuda_cmd="run.pl --gpu 1"
export decode_cmd="run.pl"
