# shellcheck shell=bash
# Helpers the recipes share (sourced by run.sh after parse_options.sh and stage.sh).
# They read the recipe's options: folds, ngpu, fast, fast_epochs, train_cmd, nj, feat_cmd.

# The fold names of the protocol: "-" for the fixed split (data/train, dev, test), fold1..fold5 for LOSO.
recipe_folds() {
  case $folds in
    none) echo "-" ;;
    loso) echo "fold1 fold2 fold3 fold4 fold5" ;;
    *) echo "unknown --folds $folds (none or loso)" >&2; return 1 ;;
  esac
}

# data/<fold>/<set> or data/<set>
fold_data() { local f=${1#-}; echo "data${f:+/$f}/$2"; }

# exp/emb/<fold> or exp/emb
fold_emb() { local f=${1#-}; echo "exp/emb${f:+/$f}"; }

# train_config CONFIG FOLD [--set k=v ...]: train conf/CONFIG.yaml into exp/CONFIG[/FOLD], on CPU,
# one GPU, or N GPUs through torchrun (--ngpu), locally or through $train_cmd (cmd.sh).
train_config() {
  local config=$1 fold=${2#-}; shift 2
  local exp="exp/$config${fold:+/$fold}"
  local args=(--config "conf/$config.yaml" --exp "$exp")
  local set_name
  for set_name in train dev test; do
    args+=(--set "data.sets.$set_name=$(fold_data "$fold" $set_name)")
  done
  # A fold trains on its own embedding space when stage 3 made one (exp/emb/<fold>/...).
  if [ -n "$fold" ] && grep -q "kv: exp/emb/" "conf/$config.yaml"; then
    local kv
    kv=$(sed -n 's/.*kv: \(exp\/emb\/[^,} ]*\).*/\1/p' "conf/$config.yaml" | head -n 1)
    kv=${kv/exp\/emb\//exp/emb/$fold/}
    [ -e "$kv" ] && args+=(--set "data.streams.words.kv=$kv")
  fi
  [ "$fast" = true ] && args+=(--set "train.epochs=$fast_epochs")
  if [ "$ngpu" -gt 0 ]; then args+=(--set train.device=cuda); else args+=(--set train.device=cpu); fi
  args+=("$@")
  local launcher=(serkit train)
  if [ "$ngpu" -gt 1 ]; then
    launcher=(python -m torch.distributed.run --standalone --nproc_per_node "$ngpu" -m serkit train)
  fi
  log "train $exp"
  if [ "$train_cmd" = local ]; then
    "${launcher[@]}" "${args[@]}"
  else
    serkit run-job --cmd "$train_cmd" "$exp/log/train.log" -- "${launcher[@]}" "${args[@]}"
  fi
}

# score_config CONFIG: the best checkpoint of exp/CONFIG on the test set (folds: mean ± sd).
score_config() {
  local device=cpu
  [ "$ngpu" -gt 0 ] && device=cuda
  serkit score "exp/$1" --set test --device $device
}

# train_configs "CONFIGS": every config on every fold of the protocol (stage 5).
train_configs() {
  local config fold
  for config in $1; do
    for fold in $(recipe_folds); do
      train_config "$config" "$fold"
    done
  done
}

# score_configs "CONFIGS": each config on the test set, then RESULTS.md, printed (stage 6).
score_configs() {
  local config
  for config in $1; do
    score_config "$config"
  done
  serkit results .
  cat RESULTS.md
}

# corpus_stage LAYOUT RELEASE: with --mini true, db defaults to mini/LAYOUT and stage 0 generates
# the mini corpus there; otherwise --db must name the user's copy (RELEASE says what it is called).
corpus_stage() {
  local layout=$1 release=$2
  if [ "$mini" = true ]; then
    db=${db:-mini/$layout}
    if stage_begin 0 "generate the mini $layout corpus ($mini_size) in $db"; then
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

# prepare_sets CORPUS: the data dirs of the protocol (--folds), and data/all with every utterance,
# from which each utterance's features are extracted once.
prepare_sets() {
  local fold_args=() first
  [ "$folds" = loso ] && fold_args=(--folds loso)
  serkit prepare-data "$1" "$db" data "${fold_args[@]}"
  first=$(recipe_folds | cut -d' ' -f1)
  serkit combine-data data/all "$(fold_data "$first" train)" "$(fold_data "$first" dev)" \
    "$(fold_data "$first" test)"
}
