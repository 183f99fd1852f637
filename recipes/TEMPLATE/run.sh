#!/usr/bin/env bash
# TEMPLATE: the skeleton a new recipe starts from (README.md says how). As shipped it runs a
# sanity baseline, mean-pooled 34-d features and an MLP, on IEMOCAP's layout (4 classes): a
# recipe that works end to end, to be changed stage by stage into your paper's.
#
# Usage: bash run.sh [options]
#   bash run.sh --mini true                     # everything, on the generated mini corpus
#   bash run.sh --db /corpora/IEMOCAP_full_release
#   bash run.sh --help                          # every option (shared and this recipe's)
set -euo pipefail
. ./path.sh             # serkit and bin/ on PATH
. recipe.sh             # the options every recipe shares (--stage, --mini, --db, --nj, --ngpu, ...)

# This recipe's own options: `name=default  # what it is`, one a line (--help prints them).
window=0.1              # 34-d feature window and step, seconds
configs="mean_pool"     # conf/<name>.yaml to train and score (stages 5, 6)

. parse_options.sh
recipe_init

# Stage 0: the synthetic mini corpus (--mini true) or a check that --db is given.
corpus_stage iemocap IEMOCAP_full_release

# Each stage: stage_begin N "what it does" OPTIONS-ITS-RESULTS-DEPEND-ON; one or two serkit commands.
if stage_begin 1 "data dirs from $db" db folds; then
  prepare_sets iemocap
  stage_done 1
fi

if stage_begin 2 "features: 34-d pyAudioAnalysis at $window/$window s" window; then
  stage_fresh feats
  serkit extract-features data/all feats/all_pyaa34.h5 --type pyaa34 --window "$window" --step "$window" \
    --nj "$nj" --cmd "$feat_cmd"
  stage_done 2
fi

stage_skip 3 "no embeddings: the baseline uses acoustic features only"
stage_skip 4 "no embedding spaces to align"

if stage_begin 5 "train: $configs" configs fast fast_epochs seed train_opts; then
  train_configs "$configs"
  stage_done 5
fi

if stage_begin 6 "score; exp/RESULTS.md" configs; then
  score_configs "$configs"
  stage_done 6
fi
