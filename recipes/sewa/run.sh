#!/usr/bin/env bash
# SEWA (AVEC 2017), continuous arousal, valence and liking: "semantic + paralinguistic" fusion
# (shared/papers/001_*, Tzirakis et al., ICASSP 2021): a 1-D CNN on each 100 ms of raw waveform
# (22,050 Hz) and Speech2Vec word vectors aligned onto a German Word2Vec space, one vector per label
# frame, fused by disentangled attention, a one-layer LSTM, 1 − CCC per dimension. serkit adds the
# pseudo-word skip-gram speech space (pw_* rows).
#
# Usage: bash run.sh [options]
#   bash run.sh --mini true                     # everything, on the generated mini corpus
#   bash run.sh --db /corpora/AVEC2017_SEWA
#   bash run.sh --w2v wiki.de.bin               # an imported German text space instead of Word2Vec
set -euo pipefail
. ./path.sh
. recipe.sh

emb_dim=100             # word-space dimension (methods.md §A.3: the authors' 100)
s2v_epochs=20           # Speech2Vec training epochs (--fast true: fast_epochs)
w2v=""                  # word2vec/fastText file for the text space (default: Word2Vec on the training text)
configs="paralinguistic w2v_only s2v_only s2v_aligned_only concat attention attention_lookup attention_code pw_aligned_only pw_attention"

. parse_options.sh
recipe_init
[ "$fast" = true ] && s2v_epochs=$fast_epochs

corpus_stage sewa AVEC2017_SEWA

if stage_begin 1 "data dirs from $db (Train/Devel/Test, labels at 10 Hz)" db; then
  prepare_sets sewa
  stage_done 1
fi

if stage_begin 2 "features: raw waveform, 2,205 samples per 100 ms label frame; word-segment MFCC"; then
  stage_fresh feats
  serkit extract-features data/all feats/all_waveform.h5 --type waveform --nj "$nj" --cmd "$feat_cmd"
  serkit extract-features data/all feats/all_word-mfcc.h5 --type word-mfcc --nj "$nj" --cmd "$feat_cmd"
  stage_done 2
fi

if stage_begin 3 "embeddings, $emb_dim-d: German text space, Speech2Vec and pseudo-word skip-gram" \
    emb_dim s2v_epochs w2v seed; then
  stage_fresh exp/emb
  if [ -n "$w2v" ]; then
    serkit import-embeddings "$w2v" exp/emb/w2v/w2v.bin
  else
    serkit train-word2vec data/train exp/emb/w2v --config conf/emb/w2v.yaml --dim "$emb_dim" --seed "$seed"
  fi
  serkit train-speech2vec data/train feats/all_word-mfcc.h5 exp/emb/s2v --config conf/emb/s2v.yaml \
    --dim "$emb_dim" --epochs "$s2v_epochs" --seed "$seed"
  serkit train-pseudo-words data/train feats/all_word-mfcc.h5 exp/emb/pw --config conf/emb/pw.yaml \
    --dim "$emb_dim" --seed "$seed"
  stage_done 3
fi

# Paper §3.1: the speech space is mapped onto the text space (adversarial + Procrustes); every set's
# word segments then get their vectors from audio (embed-words), mapped at training time.
if stage_begin 4 "align the speech spaces onto the text space; word vectors of every set from audio" \
    fast seed; then
  adversarial=()
  [ "$fast" = true ] && adversarial=(--n-epochs 1 --epoch-size 10000)  # a smoke test, not the paper's
  for space in s2v pw; do
    serkit align-embeddings "exp/emb/$space/$space.bin" exp/emb/w2v/w2v.bin "exp/emb/align_$space" \
      --config conf/emb/align.yaml --seed "$seed" "${adversarial[@]}"
    for set_name in $(serkit protocol data sets); do
      serkit embed-words "exp/emb/$space" "data/$set_name" feats/all_word-mfcc.h5 \
        "feats/${set_name}_${space}_words.h5"
    done
    serkit eval-embeddings "exp/emb/$space/$space.bin" exp/emb/w2v/w2v.bin --aligned "exp/emb/align_$space" \
      --instances "feats/train_${space}_words.h5" --data data/train --seed "$seed" \
      --out "exp/emb/align_$space/diagnostics.json"
  done
  stage_done 4
fi

if stage_begin 5 "train: $configs" configs fast fast_epochs seed; then
  train_configs "$configs"
  stage_done 5
fi

if stage_begin 6 "score; exp/RESULTS.md" configs; then
  score_configs "$configs"
  stage_done 6
fi
