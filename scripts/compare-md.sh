#!/usr/bin/env bash
# compare-md.sh: a family's comparison as a Markdown table, for slides and lab reports.
#
#   scripts/compare-md.sh FAMILY [--trials N] [-- DEMO FLAGS]
#   scripts/compare-md.sh race --trials 5 > race.md
#
# Runs `oslab compare FAMILY --format csv` and prints it as a Markdown table, under a line
# naming the machine.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
bin=$(oslab_bin_dir)
family=$1; shift
csv=$("$bin/oslab" compare "$family" --format csv "$@")
printf '%s\n\n' "oslab compare $family $*: $(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%d)"
printf '%s\n' "$csv" | awk -F, '
  NR == 1 { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n|";
            for (i = 1; i <= NF; i++) printf "---|"; printf "\n"; next }
          { printf "|"; for (i = 1; i <= NF; i++) printf " %s |", $i; printf "\n" }'
