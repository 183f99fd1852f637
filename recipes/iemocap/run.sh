#!/usr/bin/env bash
# IEMOCAP, 4 classes: "Multimodal speech emotion recognition using speech embeddings"
# (shared/papers/002_*): 34-d acoustic features (100/100 ms) in one Bi-LSTM, Speech2Vec speech
# embeddings of the transcript words in another, fused by concatenation (ENC1 + ENC2).
#
# Usage: bash run.sh [options]
#   bash run.sh --mini true                     # everything, on the generated mini corpus
#   bash run.sh --db /corpora/IEMOCAP_full_release
#   bash run.sh --stage 3                       # again from Speech2Vec on, keeping stages 0-2
#   bash run.sh --folds loso                    # five leave-one-session-out folds, mean ± sd
set -euo pipefail

stage=0                 # first stage to run
stop_stage=6            # last stage to run
force_stage=            # redo this stage even if it is done (and what follows it)
mini=false              # true: stage 0 generates the mini corpus and the recipe runs on it
mini_size=default       # tiny | default
db=                     # the user's IEMOCAP_full_release (default with --mini true: mini/iemocap)
folds=none              # none: sessions 1-4 train, 5 test | loso: five folds, aggregated
nj=2                    # parallel jobs for corpus generation and feature extraction
ngpu=0                  # 0: CPU | 1: one CUDA GPU | N: N GPUs through torchrun (DDP)
fast=false              # true: a handful of epochs everywhere (CI)
fast_epochs=2
emb_dim=50              # Speech2Vec and Word2Vec dimension (Table 3: 50, 100, 200, 300)
s2v_epochs=20           # Speech2Vec training epochs
s2v_threads=2           # CPU threads for Speech2Vec training (the demo machine has 2 cores)
seed=1
configs="s2v_acoustic s2v_speech_emb s2v_word_emb s2v_dual s2v_dual_w2v"

. ./path.sh
. ./cmd.sh
. parse_options.sh
. stage.sh
. recipe.sh
done_dir=exp/.done

if [ "$fast" = true ]; then s2v_epochs=$fast_epochs; fi
corpus_stage iemocap IEMOCAP_full_release

if stage_begin 1 "data dirs from $db (4 classes, excited merged into happy)"; then
  prepare_sets iemocap
  serkit validate-data data/all
  stage_done 1
fi

if stage_begin 2 "features: 34-d pyAudioAnalysis at 100/100 ms, word-segment MFCC for Speech2Vec"; then
  serkit extract-features data/all feats/all_pyaa34.h5 --type pyaa34 --window 0.1 --step 0.1 \
    --nj "$nj" --cmd "$feat_cmd"
  serkit extract-features data/all feats/all_word-mfcc.h5 --type word-mfcc --nj "$nj" --cmd "$feat_cmd"
  stage_done 2
fi

if stage_begin 3 "embeddings: Word2Vec (text) and Speech2Vec (speech), $emb_dim-d, from the training words"; then
  for fold in $(recipe_folds); do
    train=$(fold_data "$fold" train)
    emb=$(fold_emb "$fold")
    serkit train-word2vec "$train" "$emb/w2v.kv" --dim "$emb_dim" --workers 1 --seed "$seed"
    serkit train-speech2vec "$train" feats/all_word-mfcc.h5 "$emb/s2v" --dim "$emb_dim" \
      --epochs "$s2v_epochs" --seed "$seed" --threads "$s2v_threads"
  done
  stage_done 3
fi

stage_skip 4 "the paper looks Speech2Vec vectors up by transcript word as they are; no space alignment"

if stage_begin 5 "train: $configs"; then
  train_configs "$configs"
  stage_done 5
fi

if stage_begin 6 "score on the test set; RESULTS.md"; then
  score_configs "$configs"
  stage_done 6
fi
