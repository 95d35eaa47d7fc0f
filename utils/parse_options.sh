#!/usr/bin/env bash
# Kaldi-style option parsing, sourced by a script after it sets its defaults:
#   --name value, --name=value  set the existing shell variable "name" (dashes become underscores);
#   --config FILE               sets $config when the script has that variable (our recipes: the experiment
#                               YAML); otherwise, as in Kaldi, sources FILE (name=value lines);
#   --help / -h                 print $help_message (or a usage line), then exit.
# An option naming no variable of the script is an error, so a typo never passes silently.

__po_script=$(basename "$0")
while true; do
  [ $# -eq 0 ] && break
  case "$1" in
    --help|-h)
      if [ -n "${help_message:-}" ]; then printf '%s\n' "$help_message"; else echo "Usage: $__po_script [options]"; fi
      exit 0 ;;
    --*=*)
      __po_name=${1%%=*}; __po_value=${1#*=}; shift
      set -- "$__po_name" "$__po_value" "$@" ;;
    --*)
      __po_name=$(echo "${1#--}" | tr '-' '_')
      if [ $# -lt 2 ]; then echo "$__po_script: option $1 needs a value" >&2; exit 1; fi
      if [ "$__po_name" = config ] && ! declare -p config >/dev/null 2>&1; then
        if [ ! -r "$2" ]; then echo "$__po_script: cannot read config file '$2' given by --config" >&2; exit 1; fi
        # shellcheck disable=SC1090
        . "$2"; shift 2; continue
      fi
      if ! declare -p "$__po_name" >/dev/null 2>&1; then
        echo "$__po_script: invalid option $1 (no variable '$__po_name' in this script; see --help)" >&2
        exit 1
      fi
      __po_old=${!__po_name}
      printf -v "$__po_name" '%s' "$2"
      if [ "$__po_old" = true ] || [ "$__po_old" = false ]; then
        case "$2" in true|false) ;; *) echo "$__po_script: option $1 takes true or false, not '$2'" >&2; exit 1 ;; esac
      fi
      shift 2 ;;
    *) break ;;
  esac
done
unset __po_name __po_value __po_old __po_script
true
