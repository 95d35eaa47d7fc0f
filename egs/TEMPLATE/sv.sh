# The stages every speaker-verification recipe shares, Kaldi/ESPnet style. A recipe's run.sh sets its own
# defaults, sources its local/corpora.sh (its corpus options, stage 0 and stage 1), then sources this file:
#
#   . ./path.sh; . ./cmd.sh
#   . local/corpora.sh       # corpus_help, local_check_corpora, local_prepare_data DATA
#   systems=diffsv           # recipe defaults of any option below
#   . ../TEMPLATE/sv.sh      # parses "$@" and runs stages $stage..$stop_stage
#
# Stages: 0 corpora (the recipe's), 1 data directories (the recipe's, then validated), 2 noisy test copies,
# 3 pre-training, 4 training, 5 embeddings/scores/report, 6 export. Each stage can be run alone and re-run.
# shellcheck shell=bash

: "${stage:=0}" "${stop_stage:=1}" "${nj:=8}"
: "${systems:=diffsv}"       # experiments, in order: $conf_dir/<system>.yaml trained into $exp/<system>
: "${conf_dir:=conf}"
config=${config:-}           # one explicit config instead of --systems ...
tag=${tag:-}                 # ... and its experiment name [the config's basename]
: "${data:=data}" "${exp:=exp}"
noisy_audio=${noisy_audio:-} # where stage 2 writes the noisy test audio [$data/noisy_audio]
: "${noisy_format:=flac}"    # flac (lossless, about half the size of wav) or wav
: "${noisy_seed:=3}"         # seeds the noise choice and offsets of stage 2
: "${snrs:=0,5,10,15,20}"
: "${ngpu:=0}"               # GPUs per node for training; >1 (or --num-nodes >1) launches torchrun in the $cuda_cmd job
: "${cpus_per_gpu:=8}"       # CPUs asked per training GPU (--num-threads: Slurm's --cpus-per-task), for loader workers
: "${num_nodes:=1}"          # nodes for training: asked of the scheduler (slurm.pl --num-nodes), or see --master-addr
: "${node_rank:=0}"          # multi-node by hand (run.pl on each node): this node's rank ...
master_addr=${master_addr:-} # ... and the rank-0 node's address; empty: the scheduler's allocation gives both
: "${master_port:=29500}"
: "${segments:=4}"           # test protocol of stage 5: segments per utterance ...
: "${segment_samples:=159920}" # ... of this many samples (the reference: 4 x 10 s)
: "${score_norm:=none}"      # stage 5 scoring: none (the reference), mean (subtract the cohort mean) or asnorm
: "${cohort_utts:=3000}"     # training utterances (evenly spaced) embedded as the mean/AS-norm cohort
: "${asnorm_top_n:=300}"     # cohort scores kept per utterance by AS-norm
calibrate_sets=${calibrate_sets:-} # stage 5: conditions to fit a score calibration on (empty: none) ...
: "${calibrate_quality:=none}" # ... and its quality measure: none or duration
: "${embed_gpus:=0}"        # stage 5 embedding: 0 runs $nj CPU jobs ($decode_cmd); N runs N jobs of one GPU each ($cuda_cmd)
: "${embed_batch_size:=8}"   # segments per forward pass (a GPU: a few hundred)
: "${embed_precision:=fp32}" # fp32, tf32 or bf16 (diffsv/utils/arithmetic.py); tf32 and bf16 are for GPUs
: "${model:=final}"          # model for stages 5-6: final (average of the last epochs) or best (validation)
sampler=${sampler:-}         # stages 5-6: reverse-diffusion sampler euler|heun|dpm_solver [the config's]
sampler_steps=${sampler_steps:-}
compare=${compare:-}         # another experiment shown beside the first system in RESULTS.md
: "${show_paper:=true}"      # RESULTS.md shows the paper's EERs (VoxCeleb1-O) beside ours
: "${follow_logs:=auto}"     # print a job's log (its progress bars) while it runs: auto (on a terminal), true, false

help_message="Usage: $0 [options]
Stages: 0 corpora, 1 data directories, 2 noisy test copies, 3 train enhancer, 4 train extractor,
        5 embeddings/scoring/metrics, 6 export.
Options (defaults in brackets):
  --stage N / --stop-stage M   run stages N..M [$stage..$stop_stage]
  --nj N                       parallel jobs [$nj]
  --systems 'A B'              experiments, in order: conf-dir/A.yaml trained into exp/A, ...; each is compared
                               with the one before it in RESULTS.md [$systems]
  --conf-dir DIR               where --systems' configs are [$conf_dir]
  --config FILE [--tag NAME]   one explicit config instead, into exp/NAME [the config's basename]
${corpus_help:-}
  --data DIR --exp DIR         data and experiment directories [$data $exp]
  --noisy-audio DIR            noisy test audio of stage 2 [\$data/noisy_audio]
  --noisy-format flac|wav      audio format of stage 2 [$noisy_format]
  --snrs LIST                  SNRs (dB) of the noisy test copies, commas or spaces: '-5 0 5' [$snrs]
  --ngpu N                     GPUs per node; 0 trains on the CPU [$ngpu]
  --cpus-per-gpu N             CPUs asked of the scheduler per training GPU, for data.num_workers: auto [$cpus_per_gpu]
  --num-nodes N                nodes for training: one \$cuda_cmd job over N nodes (cmd_backend=slurm in cmd.sh) [$num_nodes]
  --node-rank R --master-addr HOST   multi-node by hand instead: run this on each node with its rank
  --master-port P              torchrun's rendezvous port [$master_port]
  --segments N --segment-samples M   test segments per utterance and their length [$segments x $segment_samples]
  --score-norm none|mean|asnorm   score normalisation of stage 5 [$score_norm]
  --cohort-utts N              training utterances in the mean/AS-norm cohort [$cohort_utts]
  --asnorm-top-n N             AS-norm's top-N cohort scores [$asnorm_top_n]
  --calibrate-sets 'A B'       stage 5: fit a score-to-LLR calibration on these conditions' trials (verify then
                               decides at a target prior) [none]
  --calibrate-quality none|duration   the calibration's quality measure [$calibrate_quality]
  --embed-gpus N               stage 5: N one-GPU embedding jobs instead of $nj CPU jobs [$embed_gpus]
  --embed-batch-size N --embed-precision fp32|tf32|bf16   segments per forward pass and arithmetic [$embed_batch_size, $embed_precision]
  --model final|best           model scored by stage 5 and exported by stage 6 [$model]
  --sampler NAME --sampler-steps N   sampler of stages 5-6: euler (the paper's), heun, dpm_solver [the config's]
  --compare EXP                experiment shown beside the first system in RESULTS.md
  --show-paper true|false      show the paper's EERs in RESULTS.md [$show_paper]
  --follow-logs auto|true|false   show each job's log (job 1 of arrays) live [$follow_logs]"

. utils/parse_options.sh

[ -n "$noisy_audio" ] || noisy_audio=$data/noisy_audio
sampler_args=()
[ -z "$sampler" ] || sampler_args+=(--sampler "$sampler")
[ -z "$sampler_steps" ] || sampler_args+=(--sampler-steps "$sampler_steps")
if [ -n "$config" ]; then
  [ -n "$tag" ] || tag=$(basename "$config" .yaml)
  configs=("$config") tags=("$tag")
else
  [ -z "$tag" ] || { echo "$0: --tag names the experiment of --config; with --systems the names are the systems" >&2; exit 1; }
  configs=() tags=()
  for system in $systems; do configs+=("$conf_dir/$system.yaml"); tags+=("$system"); done
fi

case "$follow_logs" in
  auto) follow_logs=false; [ -t 1 ] && follow_logs=true ;;
  true|false) ;;
  *) echo "$0: --follow-logs must be auto, true or false, not '$follow_logs'" >&2; exit 1 ;;
esac

# follow LOG COMMAND...: run COMMAND (a job runner call); with --follow-logs true, print LOG as it grows.
# The log stays the record; Ctrl-C stops the runner, which stops its jobs.
follow() {
  local log=$1 pid status=0
  shift
  if [ "$follow_logs" = false ]; then "$@"; return; fi
  rm -f "$log"
  "$@" &
  pid=$!
  trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
  tail -n +1 -F --pid="$pid" "$log" 2>/dev/null || true
  wait "$pid" || status=$?
  trap - INT TERM
  return "$status"
}

# need PATH STAGE: stop, naming the stage that makes PATH, when a stage's input is missing.
need() {
  [ -e "$1" ] || { echo "$0: $1 not found: run stage $2 first" >&2; exit 1; }
}

if [ "$stage" -le 0 ] && [ "$stop_stage" -ge 0 ]; then
  echo "$0: stage 0: corpora"
  local_check_corpora
fi

if [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
  echo "$0: stage 1: preparing data directories in $data/"
  local_prepare_data "$data"
  # The tables are validated; the audio was just probed by the same checks (readable, complete, mono, 16 kHz,
  # long enough) as the tables were made from it, and probing a million files twice would double the stage.
  for d in "$data"/*/; do
    [ -f "$d/wav.scp" ] && utils/validate_data_dir.sh --no-wav "${d%/}"
  done
fi

if [ "$stage" -le 2 ] && [ "$stop_stage" -ge 2 ]; then
  echo "$0: stage 2: noisy copies of $data/test (SNRs $snrs) in $noisy_audio"
  need "$data/test/wav.scp" 1
  noisy_args=(--data "$data" --audio-dir "$noisy_audio" --snrs="$snrs" --seed "$noisy_seed" --audio-format "$noisy_format")
  lines=$(wc -l < "$data/test/wav.scp")
  jobs=$(( nj < lines ? nj : lines ))
  mkdir -p "$data/test/split$jobs"
  parts=(); for i in $(seq "$jobs"); do parts+=("$data/test/split$jobs/wav.$i.scp"); done
  utils/split_scp.pl "$data/test/wav.scp" "${parts[@]}"
  follow "$exp/log/noisy_test.1.log" $train_cmd JOB=1:"$jobs" "$exp/log/noisy_test.JOB.log" \
    python -m diffsv.bin.make_noisy_sets mix --utterances "$data/test/split$jobs/wav.JOB.scp" "${noisy_args[@]}"
  python -m diffsv.bin.make_noisy_sets data-dirs "${noisy_args[@]}"
fi

# Training is one job of $cuda_cmd (or $train_cmd on the CPU). With several GPUs or nodes the job runs
# utils/torchrun.sh, which in a multi-node Slurm allocation starts one torchrun per node (srun).
if [ "$ngpu" -gt 1 ] || [ "$num_nodes" -gt 1 ]; then
  launcher=(utils/torchrun.sh --nnodes "$num_nodes" --nproc-per-node "$(( ngpu > 0 ? ngpu : 1 ))"
            --master-port "$master_port")
  [ -z "$master_addr" ] || launcher+=(--node-rank "$node_rank" --master-addr "$master_addr")
  launcher+=(-m diffsv.bin.train)
else
  launcher=(python -m diffsv.bin.train)
fi
# --device says where, whatever is visible: --ngpu 0 trains on the CPU even on a machine with a GPU.
if [ "$ngpu" -gt 0 ]; then
  train_runner=($cuda_cmd --gpu "$ngpu" --num-threads "$(( ngpu * cpus_per_gpu ))") launcher+=(--device cuda)
else
  train_runner=($train_cmd) launcher+=(--device cpu)
fi
[ "$num_nodes" -le 1 ] || [ -n "$master_addr" ] || train_runner+=(--num-nodes "$num_nodes")

# system_stages CONFIG EXPDIR COMPARE: stages 3-6 of one experiment.
system_stages() {
  local config=$1 expdir=$2 compare=$3 phase n
  local train_args=(--config "$config" --exp "$expdir" --train-data "$data/train" --pools "$data")
  for phase in pretrain joint; do
    n=3; [ "$phase" = joint ] && n=4
    if [ "$stage" -le "$n" ] && [ "$stop_stage" -ge "$n" ]; then
      echo "$0: stage $n: training ($phase) $expdir with $config; log in $expdir/log/train_$phase.log"
      need "$data/train/wav.scp" 1
      follow "$expdir/log/train_$phase.log" \
        "${train_runner[@]}" "$expdir/log/train_$phase.log" "${launcher[@]}" --phase "$phase" "${train_args[@]}"
    fi
  done

  if [ "$stage" -le 5 ] && [ "$stop_stage" -ge 5 ]; then
    echo "$0: stage 5: embeddings, scores and metrics of $expdir/$model.pt"
    need "$expdir/$model.pt" 4
    local jobs results_args=() embed_runner=($decode_cmd) embed_where=(--threads 1 --device cpu) embed_jobs=$nj
    if [ "$embed_gpus" -gt 0 ]; then embed_runner=($cuda_cmd --gpu 1) embed_where=(--device cuda) embed_jobs=$embed_gpus; fi
    # The plan records the device (embedding.json): embeddings made elsewhere are made again, never mixed.
    jobs=$(python -m diffsv.bin.evaluate plan --exp "$expdir" --data "$data" --model "$model" --nj "$embed_jobs" \
             --segments "$segments" --segment-samples "$segment_samples" "${sampler_args[@]}" \
             --batch-size "$embed_batch_size" --precision "$embed_precision" --device "${embed_where[-1]}" \
             --score-norm "$score_norm" --cohort-utts "$cohort_utts" --asnorm-top-n "$asnorm_top_n")
    [ "$jobs" -eq 0 ] || follow "$expdir/log/embed.1.log" "${embed_runner[@]}" JOB=1:"$jobs" "$expdir/log/embed.JOB.log" \
      python -m diffsv.bin.evaluate embed --exp "$expdir" --job JOB "${embed_where[@]}"
    [ -z "$compare" ] || results_args=(--compare "$compare")
    [ "$show_paper" = true ] || results_args+=(--no-paper)
    python -m diffsv.bin.evaluate finish --exp "$expdir" "${results_args[@]}"
    [ -z "$calibrate_sets" ] || python -m diffsv.bin.calibrate --exp "$expdir" --data "$data" \
      --sets "$calibrate_sets" --quality "$calibrate_quality"
    cat "$expdir/RESULTS.md"
  fi

  if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ]; then
    echo "$0: stage 6: exporting $expdir/$model.pt (TorchScript, ONNX) to $expdir/export"
    need "$expdir/$model.pt" 4
    need "$data/test/wav.scp" 1
    if [ -f "$expdir/export/export.json" ] && [ "$expdir/export/export.json" -nt "$expdir/$model.pt" ]; then
      echo "$0: $expdir/export is newer than $expdir/$model.pt: nothing to do"
    else
      python -m diffsv.bin.export_model --model "$expdir/$model.pt" --data "$data/test" --out-dir "$expdir/export" \
        --segment-samples "$segment_samples" "${sampler_args[@]}"
    fi
  fi
}

if [ "$stop_stage" -ge 3 ]; then
  for i in "${!configs[@]}"; do
    system_stages "${configs[i]}" "$exp/${tags[i]}" "$compare"
    compare=$exp/${tags[i]}
  done
fi

# The last experiment's report (with the one before it beside it) closes a run through stage 6.
if [ "$stage" -le 6 ] && [ "$stop_stage" -ge 6 ] && [ ${#tags[@]} -gt 0 ] && [ -f "$exp/${tags[-1]}/RESULTS.md" ]; then
  cat "$exp/${tags[-1]}/RESULTS.md"
fi
