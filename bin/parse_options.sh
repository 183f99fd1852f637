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
#                      and the comment of its declaration
#
# Options may also be declared in files named in $po_option_files (bin/recipe.sh declares the
# options every recipe shares there), sourced before this file.
#
# A boolean option (default true or false) only takes true or false. An unknown
# option is an error. Positional arguments are left in "$@". The names of the options
# given on the command line are left in $po_given (" stage stop_stage "), for bin/stage.sh, and the
# command line itself in $po_argv.

__po_die() { echo "$0: $*" >&2; exit 1; }

__po_help() {
  local script=$0
  # The header comment of the calling script (after the shebang), as Kaldi prints it.
  sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$script" >&2
  echo "Options (default in brackets):" >&2
  local name value note
  for name in $__po_names; do
    value=${!name}
    note=$(__po_declarations | awk -v n="$name" -F'\t' '$1 == n { print $2; exit }')
    printf '  --%-24s [%s]%s\n' "${name//_/-}" "$value" "${note:+  $note}" >&2
  done
}

# "name<TAB>comment" for every option declared (name=default  # comment) in the files of
# $po_option_files (shared options, e.g. bin/recipe.sh) and in the script up to this file's line.
__po_declarations() {
  local file
  for file in ${po_option_files:-}; do
    sed -n 's/^\([a-z][a-z0-9_]*\)=[^#]*\(#[[:space:]]*\(.*\)\)\{0,1\}$/\1\t\3/p' "$file"
  done
  sed -n '1,/parse_options\.sh/s/^\([a-z][a-z0-9_]*\)=[^#]*\(#[[:space:]]*\(.*\)\)\{0,1\}$/\1\t\3/p' "$0"
}

# Record the option variables declared, before any --config changes them.
__po_names=$(__po_declarations | cut -f1 | awk '!seen[$0]++' | tr '\n' ' ')

po_argv=$*

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
