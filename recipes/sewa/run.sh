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
mini_budget=true        # with --mini true (not --fast): the mini corpus's training budget (README); false: the configs' own

. parse_options.sh
recipe_init
[ "$fast" = true ] && s2v_epochs=$fast_epochs
align_opts=()
[ "$fast" = true ] && align_opts=(--n-epochs 1 --epoch-size 10000)  # a smoke test, not the paper's
# The default mini corpus's budget (README, "The mini corpus run"): every row in 15 minutes on two
# CPU cores. The configs keep the paper's values; RESULTS.md prints what each row trained with.
[ "$mini" = true ] && [ "$fast" != true ] || mini_budget=false
if [ "$mini_budget" = true ]; then
  s2v_epochs=10
  align_opts=(--n-epochs 2)
  [ "$train_jobs" -eq 1 ] && train_jobs=2
fi
lstm_only_configs="w2v_only s2v_only s2v_aligned_only pw_aligned_only"  # the rows without the waveform CNN
config_opts() {
  [ "$mini_budget" = true ] || return 0
  echo --set train.batch_size=5 --set data.chunk_frames=40 --set optim.lr=0.0005
  case " $lstm_only_configs " in
    *" $1 "*) echo --set train.epochs=8 ;;  # a word-vector LSTM: a few seconds an epoch
    *)  # the waveform CNN: about 65 s an epoch in float32, 40 s in bfloat16 (two jobs at once, 1 thread each)
      echo --set train.epochs=2
      grep -qwE 'avx512_bf16|amx_bf16' /proc/cpuinfo 2>/dev/null && echo --set train.amp=bf16 ;;
  esac
  return 0
}

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
    fast mini_budget seed; then
  for space in s2v pw; do  # one thread each (alignment.py): both at once
    in_background 2 "exp/log/align.$space.log" serkit align-embeddings "exp/emb/$space/$space.bin" \
      exp/emb/w2v/w2v.bin "exp/emb/align_$space" --config conf/emb/align.yaml --seed "$seed" "${align_opts[@]}"
  done
  wait_background
  for space in s2v pw; do
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

if stage_begin 5 "train: $configs" configs fast fast_epochs seed train_opts mini_budget; then
  train_configs "$configs"
  stage_done 5
fi

if stage_begin 6 "score; exp/RESULTS.md" configs; then
  score_configs "$configs"
  stage_done 6
fi
