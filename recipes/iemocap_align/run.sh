#!/usr/bin/env bash
# IEMOCAP, 4 classes: Xu et al., "Learning alignment for multimodal emotion recognition from
# speech" (Interspeech 2019; shared/papers/004_*): 34-d features at 20/10 ms and GloVe word
# vectors of the ASR (or oracle) transcript, fused by a learned attention alignment.
#
# Usage: bash run.sh [options]
#   bash run.sh --mini true                     # everything, on the generated mini corpus
#   bash run.sh --db /corpora/IEMOCAP_full_release
#   bash run.sh --glove /data/glove.6B.300d.txt # the paper's 300-d GloVe, if you have it
set -euo pipefail
. ./path.sh
. recipe.sh

asr_lm=generic          # pocketsphinx language model: generic (en-us) or an ARPA file
glove=glove6b50         # word vectors: glove6b50 (offline, 50-d) or a GloVe / word2vec text file
configs="xu_speech_attn xu_text_attn_asr xu_concat_asr xu_learned_align_asr xu_text_attn xu_concat xu_hard_align xu_learned_align"

. parse_options.sh
recipe_init

corpus_stage iemocap IEMOCAP_full_release

if stage_begin 1 "data dirs from $db (4 classes), ASR transcripts (pocketsphinx, $asr_lm LM)" db folds asr_lm; then
  prepare_sets iemocap
  # Each utterance is decoded once; every set takes its lines of data/all/text.asr.
  serkit transcribe data/all --lm "$asr_lm" --nj "$nj"
  sets=$(serkit protocol data sets)
  for fold in $(recipe_folds); do
    for set_name in $sets; do
      serkit transcribe "$(fold_data "$fold" "$set_name")" --import data/all/text.asr --subset
    done
  done
  stage_done 1
fi

if stage_begin 2 "features: 34-d pyAudioAnalysis at 20/10 ms"; then
  stage_fresh feats
  serkit extract-features data/all feats/all_pyaa34.h5 --type pyaa34 --window 0.02 --step 0.01 \
    --nj "$nj" --cmd "$feat_cmd"
  stage_done 2
fi

if stage_begin 3 "word vectors: $glove" glove; then
  serkit import-embeddings "$glove" exp/emb/glove.bin
  stage_done 3
fi

stage_skip 4 "the model learns the speech-text alignment itself (attention); no embedding-space alignment"

if stage_begin 5 "train: $configs" configs fast fast_epochs seed train_opts; then
  train_configs "$configs"
  stage_done 5
fi

if stage_begin 6 "score; exp/RESULTS.md" configs; then
  score_configs "$configs"
  stage_done 6
fi
