# shellcheck shell=bash
# Stage helpers for run.sh (ESPnet habits): timestamped log lines, "Stage N: ..." banners,
# --stage/--stop-stage windows, and done-markers so a rerun skips finished stages.
#
#   . bin/stage.sh
#   if stage_begin 2 "extract features" feature_window seed; then
#     stage_fresh feats                 # outputs of an earlier, now stale run are removed
#     ...work...
#     stage_done 2
#   fi
#
# stage_begin N WHAT [OPTION...] prints "Stage N: WHAT" and returns 0 when N is inside
# [stage, stop_stage] and not already done. The OPTIONs are the names of the variables whose
# values the stage's results depend on; its done-marker $done_dir/stage.N records their values.
# A done stage is skipped (with a line saying how to force it) unless:
#   - --stage was given on the command line (every stage from there on is redone),
#   - --force-stage N names it, or its marker was deleted,
#   - one of its OPTIONs now has another value than when it was done (the line says which).
# A stage that runs removes the markers of the stages after it, since their results are now
# stale, and leaves them a stale note. A stage that runs while its results are stale (a stale
# note, or a marker it is redoing) has stage_stale=true, and stage_fresh removes its old outputs
# instead of resuming from them; a stage interrupted before its marker resumes on the next run.
# The stale note stays until the stage is done and lists the outputs stage_fresh has removed
# since: a stale stage interrupted halfway removes, on its next run, the old outputs it had not
# reached, and keeps (resumes) those it had begun anew.

__stage_options=()  # the OPTIONs of the stage begun last, recorded by stage_done
__stage_running=    # the number of the stage begun last, whose stale note stage_fresh writes

log() {
  # Name the first caller outside this file (the recipe line), as ESPnet's log does.
  local i=1
  while [ "${BASH_SOURCE[i]:-}" = "${BASH_SOURCE[0]}" ]; do i=$((i + 1)); done
  local fname=${BASH_SOURCE[i]:-$0}
  echo -e "$(date '+%Y-%m-%dT%H:%M:%S') (${fname##*/}:${BASH_LINENO[i - 1]}:${FUNCNAME[i]:-main}) $*" >&2
}

__stage_marker() { echo "${done_dir:-${exp_root:-exp}/.done}/stage.$1"; }

# "name=value" lines of the named options, as a marker records them.
__stage_values() {
  local name
  for name in "$@"; do
    printf 'option %s=%s\n' "$name" "${!name-}"
  done
}

# The options whose recorded value differs: "name: old -> new; ..."
__stage_changed() {
  local marker=$1; shift
  local name old now changes=
  for name in "$@"; do
    grep -q "^option $name=" "$marker" || { changes+="$name: (not recorded) -> '${!name-}'; "; continue; }
    old=$(sed -n "s/^option $name=//p" "$marker" | head -n 1)
    now=${!name-}
    [ "$old" = "$now" ] || changes+="$name: '$old' -> '$now'; "
  done
  echo "${changes%; }"
}

stage_begin() {
  local n=$1 what=$2
  shift 2
  stage_stale=false
  if [ "$n" -lt "${stage:-0}" ] || [ "$n" -gt "${stop_stage:-10000}" ]; then
    return 1
  fi
  local marker changed
  marker=$(__stage_marker "$n")
  if [ -f "$marker" ] && [ "${force_stage:-}" != "$n" ] && [[ ${po_given:-} != *" stage "* ]]; then
    changed=$(__stage_changed "$marker" "$@")
    if [ -z "$changed" ]; then
      log "Stage $n: $what — already done ($(head -n 1 "$marker")); to redo it: --stage $n, --force-stage $n, or rm $marker"
      return 1
    fi
    log "Stage $n: $what — done before with other options ($changed): redoing it and the stages after it"
    stage_stale=true
  elif [ -f "$marker" ]; then
    stage_stale=true
  fi
  if [ "$stage_stale" = true ]; then  # a new stale note, before the marker goes
    echo "stale since it was redone at $(date '+%Y-%m-%dT%H:%M:%S')" > "$marker.stale"
  fi
  [ -f "$marker.stale" ] && stage_stale=true
  log "Stage $n: $what"
  rm -f "$marker"
  __stage_options=("$@")
  __stage_running=$n
  stage_invalidate_after "$n"
  return 0
}

stage_skip() {
  local n=$1; shift
  if [ "$n" -ge "${stage:-0}" ] && [ "$n" -le "${stop_stage:-10000}" ]; then
    log "Skip stage $n: $*"
  fi
}

# stage_fresh PATH...: when the running stage's earlier results are stale, remove PATHs (the
# stage's own outputs) so that nothing resumes from them.
# A removed PATH is listed in the stage's stale note: if the stage is interrupted, its next run
# keeps what it made there since.
stage_fresh() {
  [ "${stage_stale:-false}" = true ] || return 0
  local path note
  note=$(__stage_marker "${__stage_running:?stage_fresh outside a stage}").stale
  for path in "$@"; do
    grep -qxF "fresh $path" "$note" 2>/dev/null && continue
    if [ -e "$path" ]; then
      log "removing $path: it was made by an earlier run with other inputs or options"
      rm -rf "$path"
    fi
    echo "fresh $path" >> "$note"
  done
}

# The marker is written whole (to a temporary name, then renamed), then the stale note goes.
stage_done() {
  local marker
  marker=$(__stage_marker "$1")
  mkdir -p "$(dirname "$marker")"
  { date '+finished %Y-%m-%dT%H:%M:%S'; __stage_values "${__stage_options[@]}"; } > "$marker.tmp"
  mv -f "$marker.tmp" "$marker"
  rm -f "$marker.stale"
}

# Invalidate the markers of every stage after N (a redone stage makes later results stale) and
# leave each later stage a stale note, read by its next stage_begin (stage numbers up to 9, the
# highest of DESIGN's table being 6).
stage_invalidate_after() {
  local n=$1 dir m
  dir=$(dirname "$(__stage_marker 0)")
  mkdir -p "$dir"
  for ((m = n + 1; m <= 9; m++)); do
    rm -f "$dir/stage.$m"
    echo "stale since stage $n was redone at $(date '+%Y-%m-%dT%H:%M:%S')" > "$dir/stage.$m.stale"
  done
  return 0
}
