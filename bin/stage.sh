# shellcheck shell=bash
# Stage helpers for run.sh (ESPnet habits): timestamped log lines, "Stage N: ..." banners,
# --stage/--stop-stage windows, and done-markers so a rerun skips finished stages.
#
#   . bin/stage.sh
#   if stage_begin 2 "extract features"; then
#     ...work...
#     stage_done 2
#   fi
#
# stage_begin prints "Stage N: WHAT" and returns 0 when N is inside [stage, stop_stage] and not already
# done; when its marker $done_dir/stage.N exists it logs how to force a rerun and returns 1.
# A stage runs again when --stage was given on the command line (every stage from there on is redone),
# when --force-stage N names it, or when its marker is deleted. A stage that runs removes the markers
# of the stages after it, since their results are now stale.

log() {
  # Name the first caller outside this file (the recipe line), as ESPnet's log does.
  local i=1
  while [ "${BASH_SOURCE[i]:-}" = "${BASH_SOURCE[0]}" ]; do i=$((i + 1)); done
  local fname=${BASH_SOURCE[i]:-$0}
  echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname##*/}:${BASH_LINENO[i - 1]}:${FUNCNAME[i]:-main}) $*" >&2
}

__stage_marker() { echo "${done_dir:-${exp_root:-exp}/.done}/stage.$1"; }

stage_begin() {
  local n=$1; shift
  local what=$*
  if [ "$n" -lt "${stage:-0}" ] || [ "$n" -gt "${stop_stage:-10000}" ]; then
    return 1
  fi
  local marker
  marker=$(__stage_marker "$n")
  if [ -f "$marker" ] && [ "${force_stage:-}" != "$n" ] && [[ ${po_given:-} != *" stage "* ]]; then
    log "Stage $n: $what — already done ($(cat "$marker")); to redo it: --stage $n, --force-stage $n, or rm $marker"
    return 1
  fi
  log "Stage $n: $what"
  rm -f "$marker"
  stage_invalidate_after "$n"
  return 0
}

stage_skip() {
  local n=$1; shift
  if [ "$n" -ge "${stage:-0}" ] && [ "$n" -le "${stop_stage:-10000}" ]; then
    log "Skip stage $n: $*"
  fi
}

stage_done() {
  local marker
  marker=$(__stage_marker "$1")
  mkdir -p "$(dirname "$marker")"
  date '+finished %Y-%m-%dT%H:%M:%S' > "$marker"
}

# Invalidate the markers of every stage after N (a redone stage makes later results stale).
stage_invalidate_after() {
  local n=$1 marker
  for marker in "$(dirname "$(__stage_marker 0)")"/stage.*; do
    [ -e "$marker" ] || continue
    [ "${marker##*.}" -gt "$n" ] && rm -f "$marker"
  done
  return 0
}
