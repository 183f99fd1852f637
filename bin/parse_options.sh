# shellcheck shell=bash
# Kaldi's option contract, sourced by every run.sh after its defaults:
#
#   stage=0            # every option is a shell variable with a default,
#   use_gpu=false      # declared before this file is sourced
#   . bin/parse_options.sh || exit 1
#
#   --foo-bar VALUE    sets foo_bar=VALUE (the variable must already exist)
#   --foo-bar=VALUE    the same
#   --config FILE      sources FILE first (any number of times, in order)
#   --help, -h         prints the script's header comment and every option with its default
#
# A boolean option (default true or false) only takes true or false. An unknown
# option is an error. Positional arguments are left in "$@". The names of the options
# given on the command line are left in $po_given (" stage stop_stage "), for bin/stage.sh.

__po_die() { echo "$0: $*" >&2; exit 1; }

__po_help() {
  local script=$0
  # The header comment of the calling script (after the shebang), as Kaldi prints it.
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$script" >&2
  echo "Options (default in brackets):" >&2
  local name value
  for name in $__po_names; do
    value=${!name}
    printf '  --%-24s [%s]\n' "${name//_/-}" "$value" >&2
  done
}

# Record the option variables the script declared, before any --config changes them.
__po_names=$(sed -n '1,/parse_options\.sh/s/^\([a-z][a-z0-9_]*\)=.*/\1/p' "$0" | awk '!seen[$0]++' | tr '\n' ' ')

# First pass: --config files, sourced in order.
__po_args=("$@")
for ((__po_i = 0; __po_i < ${#__po_args[@]}; __po_i++)); do
  case ${__po_args[__po_i]} in
    --config) __po_file=${__po_args[__po_i + 1]:-}
              [ -f "$__po_file" ] || __po_die "--config: no such file '$__po_file'"
              # shellcheck disable=SC1090
              . "$__po_file" ;;
    --config=*) __po_file=${__po_args[__po_i]#--config=}
                [ -f "$__po_file" ] || __po_die "--config: no such file '$__po_file'"
                # shellcheck disable=SC1090
                . "$__po_file" ;;
  esac
done

po_given=" "
while [ $# -gt 0 ]; do
  case $1 in
    --help|-h) __po_help; exit 0 ;;
    --config) shift 2; continue ;;
    --config=*) shift; continue ;;
    --) shift; break ;;
    --*=*) __po_opt=${1%%=*}; __po_value=${1#*=}; __po_consumed=1 ;;
    --*) [ $# -ge 2 ] || __po_die "option $1 needs a value"
         __po_opt=$1; __po_value=$2; __po_consumed=2 ;;
    *) break ;;
  esac
  __po_name=${__po_opt#--}
  __po_name=${__po_name//-/_}
  [[ $__po_name =~ ^[a-z][a-z0-9_]*$ ]] || __po_die "invalid option $__po_opt"
  # The variable must exist (declared with a default before sourcing this file).
  [ -n "${!__po_name+x}" ] || __po_die "unknown option $__po_opt (see --help)"
  __po_old=${!__po_name}
  if [ "$__po_old" = true ] || [ "$__po_old" = false ]; then
    case $__po_value in
      true|false) ;;
      *) __po_die "option $__po_opt is boolean: it takes true or false, not '$__po_value'" ;;
    esac
  fi
  printf -v "$__po_name" '%s' "$__po_value"
  po_given+="$__po_name "
  shift "$__po_consumed"
done

unset __po_i __po_file __po_args __po_opt __po_value __po_consumed __po_name __po_old
true
