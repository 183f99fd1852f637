# shellcheck shell=bash
# What every recipe shares: its common options (declared here, once) and the stage machinery.
# A run.sh sources path.sh, then this file, declares its own options, then parse_options.sh:
#
#   . ./path.sh
#   . recipe.sh              # the options below
#   emb_dim=50               # this recipe's own options
#   . parse_options.sh
#   recipe_init              # stage helpers, cmd.sh, done-markers in exp/.done
#
# `bash run.sh --help` lists these options and the recipe's own, with their defaults.
# The declarations below are read by bin/parse_options.sh: one `name=default  # comment` a line.

stage=0                 # first stage to run
stop_stage=6            # last stage to run
force_stage=            # redo this stage even if it is done (and the stages after it)
mini=false              # true: stage 0 generates the synthetic mini corpus and the recipe runs on it
mini_size=default       # size of the mini corpus: tiny | default
db=                     # your copy of the corpus (default with --mini true: mini/<layout>), or a LIST.csv of your own corpus (serkit prepare-data csv)
csv_opts=               # with --db LIST.csv: options of serkit prepare-data csv, e.g. "--classes ang,hap,neu,sad --merge exc:hap --ctm words.ctm"
folds=                  # fold protocol given to prepare-data (empty: the corpus default; IEMOCAP: none | loso)
nj=2                    # parallel jobs: corpus generation, ASR, feature extraction
ngpu=0                  # 0: CPU | 1: one CUDA GPU | N: N GPUs through torchrun (DDP)
fast=false              # true: a handful of epochs everywhere (CI)
fast_epochs=2           # epochs of every training with --fast true
train_opts=             # extra config values for every training, "key=value ...", e.g. "train.epochs=40 optim.lr=0.001"
train_jobs=1            # configs trained at once (stage 5), each on nproc/train_jobs CPU threads, logs in exp/log
seed=1                  # random seed of the embedding and model training
cmd=local               # how jobs run: local, or "slurm <sbatch options>" (cmd.sh may set feat_cmd, train_cmd apart)

# Not an option (indented, so parse_options.sh does not list it): where the options above live.
  po_option_files=${BASH_SOURCE[0]}

# recipe_init: after parse_options.sh. Stage helpers, how jobs run (cmd.sh), done-markers.
recipe_init() {
  . stage.sh
  feat_cmd=$cmd
  train_cmd=$cmd
  # shellcheck disable=SC1091
  [ -f ./cmd.sh ] && . ./cmd.sh
  done_dir=exp/.done
  log "$0 ${po_argv:-}"
}

# The fold names of the prepared protocol (meta.json): "-" for a fixed split (data/<set>), else
# fold1 fold2 ... (data/<fold>/<set>).
recipe_folds() { serkit protocol data folds; }

# The sets each fold is scored on (meta.json): "test", or "dev test".
score_sets() { serkit protocol data score; }

# data/<fold>/<set> or data/<set>
fold_data() { local f=${1#-}; echo "data${f:+/$f}/$2"; }

# exp/emb/<fold> or exp/emb
fold_emb() { local f=${1#-}; echo "exp/emb${f:+/$f}"; }

# corpus_stage LAYOUT RELEASE: stage 0. With --mini true, db defaults to mini/LAYOUT and the mini
# corpus is generated there; otherwise --db must name the user's copy (RELEASE says what it is).
corpus_stage() {
  local layout=$1 release=$2
  if [ "$mini" = true ]; then
    db=${db:-mini/$layout}
    if stage_begin 0 "generate the synthetic mini $layout corpus ($mini_size) in $db" mini mini_size db; then
      serkit make-mini-corpus --layout "$layout" --size "$mini_size" --nj "$nj" --force "$db"
      stage_done 0
    fi
    return 0
  fi
  if [ -z "$db" ] && [ "$stage" -le 1 ] && [ "$stop_stage" -ge 1 ]; then
    echo "$0: give --db /path/to/$release, or --mini true for the generated corpus" >&2
    exit 1
  fi
  stage_skip 0 "--mini false: the corpus is --db $db"
}

# prepare_sets CORPUS [PREPARE-DATA OPTIONS]: inside stage 1. The data dirs of the protocol
# (--folds) and data/all, every utterance once, from which features are extracted. A --db that is
# a .csv file is read by `serkit prepare-data csv` with $csv_opts instead (--folds loso: --split loso).
prepare_sets() {
  local corpus=$1 fold sets set_name parts=()
  shift
  stage_fresh data
  if [[ $db == *.csv ]] && [ -f "$db" ]; then
    case $folds in
      ""|none) ;;
      loso) csv_opts="--split loso $csv_opts" ;;
      *) echo "$0: with --db $db, --folds is none or loso (other splits: --csv-opts '--split ...')" >&2; exit 1 ;;
    esac
    # shellcheck disable=SC2086  # csv_opts holds separate options
    serkit prepare-data csv "$db" data $csv_opts
  else
    serkit prepare-data "$corpus" "$db" data ${folds:+--folds "$folds"} "$@"
  fi
  fold=$(recipe_folds | cut -d' ' -f1)
  sets=$(serkit protocol data sets)
  for set_name in $sets; do parts+=("$(fold_data "$fold" "$set_name")"); done
  serkit combine-data data/all "${parts[@]}"
  serkit validate-data data/all
}

# align_sets: inside stage 1, after prepare_sets, for a recipe that needs word times. When data/all
# has no words.ctm (a --db LIST.csv without --ctm in csv_opts), data/all is aligned once (serkit
# align-words) and each set dir of the protocol gets its utterances' lines, as Kaldi's filter_scp.pl.
align_sets() {
  local fold set_name dir
  [ -f data/all/words.ctm ] && return 0
  log "data/all has no words.ctm: aligning its text (serkit align-words)"
  serkit align-words data/all --nj "$nj"
  for fold in $(recipe_folds); do
    for set_name in $(serkit protocol data sets); do
      dir=$(fold_data "$fold" "$set_name")
      awk 'NR == FNR { keep[$1]; next } $1 in keep' "$dir/utt2spk" data/all/words.ctm >"$dir/words.ctm"
      [ -s "$dir/words.ctm" ] || rm -f "$dir/words.ctm"
      serkit validate-data "$dir"
    done
  done
}

# train_config CONFIG FOLD [--set k=v ...]: train conf/CONFIG.yaml into exp/CONFIG[/FOLD] ({fold} in
# the config names FOLD's data and embeddings), on CPU, one GPU, or N GPUs through torchrun
# (--ngpu), locally or through $train_cmd. Later values win: --fast's epochs, the --set arguments,
# then --train-opts.
train_config() {
  local config=$1 fold=${2#-}; shift 2
  local exp="exp/$config${fold:+/$fold}"
  local args=(--config "conf/$config.yaml" --exp "$exp" ${fold:+--fold "$fold"} --set "train.seed=$seed")
  if [ "$ngpu" -gt 0 ]; then args+=(--set train.device=cuda); else args+=(--set train.device=cpu); fi
  [ "$fast" = true ] && args+=(--set "train.epochs=$fast_epochs")
  args+=("$@")
  local value
  for value in $train_opts; do args+=(--set "$value"); done
  local launcher=(serkit train)
  if [ "$ngpu" -gt 1 ]; then
    # PYTHONSAFEPATH: the workers import the installed serkit, not a serkit/ folder in the recipe dir
    launcher=(env PYTHONSAFEPATH=1 python -m torch.distributed.run --standalone --nproc_per_node "$ngpu" -m serkit train)
  fi
  log "train $exp"
  if [ "$train_cmd" = local ]; then
    "${launcher[@]}" "${args[@]}"
  else
    serkit run-job --cmd "$train_cmd" "$exp/log/train.log" -- "${launcher[@]}" "${args[@]}"
  fi
}

# config_opts CONFIG: `--set key=value` arguments of CONFIG's training beyond its config file; none
# here, a recipe may redefine it (recipes/sewa: the mini corpus's budget).
config_opts() { :; }

# train_configs "CONFIGS": stage 5, every config on every fold of the protocol. Exp dirs of a
# stale earlier run are removed first; an interrupted training resumes.
train_configs() {
  local config fold fold_names
  fold_names=$(recipe_folds)
  for config in $1; do
    stage_fresh "exp/$config"
    for fold in $fold_names; do
      # shellcheck disable=SC2046  # config_opts prints separate words
      in_background "$train_jobs" "exp/log/train.$config${fold#-}.log" \
        train_config "$config" "$fold" $(config_opts "$config")
    done
  done
  wait_background
}

# in_background JOBS LOG CMD...: with JOBS 1, run CMD here. Otherwise start it in the background,
# its output in LOG, on nproc/JOBS CPU threads, once fewer than JOBS are running; wait_background
# waits for all of them.
__bg_pids=()
__bg_logs=()
in_background() {
  local jobs=$1 logfile=$2
  shift 2
  if [ "$jobs" -le 1 ]; then
    "$@"
    return
  fi
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
  mkdir -p "$(dirname "$logfile")"
  log "in the background (log: $logfile): $*"
  (
    export OMP_NUM_THREADS=$(($(nproc) / jobs > 0 ? $(nproc) / jobs : 1))
    "$@"
  ) >"$logfile" 2>&1 &
  __bg_pids+=("$!")
  __bg_logs+=("$logfile")
}

# wait_background: wait for every in_background job and show its log; if one failed, say which
# (with its log's last lines) and return 1.
wait_background() {
  local i status failed=0
  for i in "${!__bg_pids[@]}"; do
    status=0
    wait "${__bg_pids[i]}" || status=$?
    if [ "$status" -ne 0 ]; then
      tail -n 20 "${__bg_logs[i]}" >&2
      log "failed with exit code $status; its log: ${__bg_logs[i]}"
      failed=1
    else
      grep -v '^\s*$' "${__bg_logs[i]}" | tail -n 3 >&2
    fi
  done
  __bg_pids=()
  __bg_logs=()
  return "$failed"
}

# score_configs "CONFIGS": stage 6, each config on each scored set of the protocol (folds: mean
# ± sd), then exp/RESULTS.md, printed and compared with the committed RESULTS.md.
score_configs() {
  local config set_name device=cpu sets=()
  [ "$ngpu" -gt 0 ] && device=cuda
  for set_name in $(score_sets); do sets+=(--set "$set_name"); done
  for config in $1; do  # one process scores every set
    in_background "$train_jobs" "exp/log/score.$config.log" serkit score "exp/$config" "${sets[@]}" --device "$device"
  done
  wait_background
  serkit results . --out exp/RESULTS.md
  cat exp/RESULTS.md
  if cmp -s exp/RESULTS.md RESULTS.md; then
    log "exp/RESULTS.md reproduces the committed RESULTS.md exactly"
  elif [ -f RESULTS.md ]; then
    log "exp/RESULTS.md differs from the committed RESULTS.md (diff -u RESULTS.md exp/RESULTS.md);" \
      "to publish this run: cp exp/RESULTS.md RESULTS.md"
  else
    log "to publish this run: cp exp/RESULTS.md RESULTS.md"
  fi
}
