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
