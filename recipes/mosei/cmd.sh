# shellcheck shell=bash
# How jobs run, sourced by recipe_init after the options are parsed. --cmd sets both kinds:
#   bash run.sh --cmd "slurm -p cpu --mem 4G"
# To run one kind apart, set it here, e.g. GPU training on another partition:
#   train_cmd="slurm -p gpu --gres gpu:1"     # training: one job per config and fold
#   feat_cmd="slurm -p cpu --mem 4G"          # feature extraction: --nj array jobs
feat_cmd=$cmd
train_cmd=$cmd
