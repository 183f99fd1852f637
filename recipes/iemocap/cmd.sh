# shellcheck shell=bash
# How jobs run. Local by default; on a Slurm cluster change "local" to "slurm" followed by any
# sbatch options your site needs, e.g.
#   feat_cmd="slurm -p cpu --mem 4G"          # feature extraction: --nj array jobs
#   train_cmd="slurm -p gpu --gres gpu:1"     # training and scoring: one job each
feat_cmd="local"
train_cmd="local"
