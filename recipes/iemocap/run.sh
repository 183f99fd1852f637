#!/usr/bin/env bash
# IEMOCAP, 4 classes: "Multimodal speech emotion recognition using speech embeddings"
# (shared/papers/002_*): 34-d acoustic features (100/100 ms) in one Bi-LSTM, Speech2Vec speech
# embeddings of the transcript words in another, fused by concatenation (ENC1 + ENC2). serkit adds
# a pseudo-word skip-gram speech space (pw_* rows) and measures each space against Word2Vec (stage 4).
#
# Usage: bash run.sh [options]
#   bash run.sh --mini true                     # everything, on the generated mini corpus
#   bash run.sh --db /corpora/IEMOCAP_full_release
#   bash run.sh --db list.csv --csv-opts "--ctm words.ctm"   # a corpus listed in a CSV (prepare-data csv)
#   bash run.sh --stage 3                       # again from Speech2Vec on, keeping stages 0-2
#   bash run.sh --folds loso                    # five leave-one-session-out folds, mean ± sd
set -euo pipefail
. ./path.sh
. recipe.sh

emb_dim=50              # Speech2Vec and Word2Vec dimension (Table 3: 50, 100, 200, 300)
s2v_epochs=20           # Speech2Vec training epochs (--fast true: fast_epochs)
eval_spaces=true        # stage 4: align each speech space onto Word2Vec and measure it (false: skip)
configs="s2v_acoustic s2v_speech_emb s2v_word_emb s2v_dual s2v_dual_w2v pw_speech_emb pw_dual"

. parse_options.sh
recipe_init
[ "$fast" = true ] && s2v_epochs=$fast_epochs
# The mini corpus's models are small: one training on one CPU thread is 3x faster than on two, and
# its rows are the same bit for bit, so two configs train (and score) at once (README, "The mini corpus").
if [ "$mini" = true ] && [ "$fast" != true ] && [ "$ngpu" -eq 0 ] && [ "$train_jobs" -eq 1 ]; then
  train_jobs=2
fi

corpus_stage iemocap IEMOCAP_full_release

if stage_begin 1 "data dirs from $db (4 classes, excited merged into happy)" db folds csv_opts; then
  prepare_sets iemocap
  align_sets  # a --db LIST.csv without --ctm: the word times Speech2Vec needs, by forced alignment
  stage_done 1
fi

if stage_begin 2 "features: 34-d pyAudioAnalysis at 100/100 ms, word-segment MFCC for Speech2Vec"; then
  stage_fresh feats
  serkit extract-features data/all feats/all_pyaa34.h5 --type pyaa34 --window 0.1 --step 0.1 \
    --nj "$nj" --cmd "$feat_cmd"
  serkit extract-features data/all feats/all_word-mfcc.h5 --type word-mfcc --nj "$nj" --cmd "$feat_cmd"
  stage_done 2
fi

what="embeddings, $emb_dim-d, from the training words: Word2Vec (text; a second seed, the reference"
what+=" of stage 4), Speech2Vec and pseudo-word skip-gram (speech)"
if stage_begin 3 "$what" emb_dim s2v_epochs seed; then
  stage_fresh exp/emb
  for fold in $(recipe_folds); do
    train=$(fold_data "$fold" train)
    emb=$(fold_emb "$fold")
    serkit train-word2vec "$train" "$emb/w2v" --config conf/emb/w2v.yaml --dim "$emb_dim" --seed "$seed"
    serkit train-word2vec "$train" "$emb/w2v_ref" --config conf/emb/w2v.yaml --dim "$emb_dim" \
      --seed $((seed + 1))
    serkit train-speech2vec "$train" feats/all_word-mfcc.h5 "$emb/s2v" --config conf/emb/s2v.yaml \
      --dim "$emb_dim" --epochs "$s2v_epochs" --seed "$seed"
    serkit train-pseudo-words "$train" feats/all_word-mfcc.h5 "$emb/pw" --config conf/emb/pw.yaml \
      --dim "$emb_dim" --seed "$seed"
  done
  stage_done 3
fi

# The paper looks Speech2Vec vectors up by transcript word as they are; stage 4 measures how much
# meaning each speech space holds: each one (and the reference Word2Vec) mapped onto the Word2Vec
# space without supervision, with the diagnostics of serkit eval-embeddings (RESULTS.md).
# measure_space FOLD SPACE: one space (its dir/file under the fold's exp/emb), aligned and measured.
measure_space() {
  local train emb name align instances=()
  train=$(fold_data "$1" train)
  emb=$(fold_emb "$1")
  name=${2%/*}
  align=$emb/align_$name
  serkit align-embeddings "$emb/$2.bin" "$emb/w2v/w2v.bin" "$align" --config conf/emb/align.yaml --seed "$seed"
  if [ "$name" != w2v_ref ]; then
    serkit embed-words "$emb/$name" "$train" feats/all_word-mfcc.h5 "$emb/$name/train_words.h5"
    instances=(--instances "$emb/$name/train_words.h5" --data "$train")
  fi
  serkit eval-embeddings "$emb/$2.bin" "$emb/w2v/w2v.bin" --aligned "$align" "${instances[@]}" \
    --seed "$seed" --out "$align/diagnostics.json"
}
if [ "$eval_spaces" != true ]; then
  stage_skip 4 "--eval-spaces $eval_spaces: the speech spaces are not measured"
elif stage_begin 4 "align each speech space onto Word2Vec (unsupervised) and measure it" seed; then
  for fold in $(recipe_folds); do
    for space in s2v/s2v pw/pw w2v_ref/w2v; do  # --train-jobs of them at once (one thread each)
      in_background "$train_jobs" "exp/log/measure.${space%/*}${fold#-}.log" measure_space "$fold" "$space"
    done
  done
  wait_background
  stage_done 4
fi

if stage_begin 5 "train: $configs" configs fast fast_epochs seed train_opts; then
  train_configs "$configs"
  stage_done 5
fi

if stage_begin 6 "score; exp/RESULTS.md" configs; then
  score_configs "$configs"
  stage_done 6
fi
