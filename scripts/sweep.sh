#!/usr/bin/env bash
# sweep.sh: one demo, several thread counts, one CSV.
#
#   scripts/sweep.sh DEMO N1 N2 ... [-- DEMO FLAGS]
#   scripts/sweep.sh race_condition_mutex 1 2 4 8 -- --steps 200000 --trials 3 > mutex.csv
#
# Runs DEMO --threads N --format csv for each N and prints the header once, then every row
# (each row carries its own threads column). Works with every demo that has --threads.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 2 ] || usage
demo=$1; shift
counts=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  [[ $1 =~ ^[0-9]+$ ]] || { echo "sweep.sh: '$1' is not a thread count" >&2; usage; }
  counts+=("$1"); shift
done
[ "${1:-}" = "--" ] && shift
[ ${#counts[@]} -gt 0 ] || usage

bin="$(oslab_bin_dir)/$demo"
[ -x "$bin" ] || { echo "sweep.sh: no demo called $demo in $(dirname "$bin")" >&2; exit 1; }

first=1
for n in "${counts[@]}"; do
  echo "sweep.sh: $demo --threads $n $*" >&2
  out=$("$bin" --threads "$n" --format csv "$@")
  if [ $first = 1 ]; then
    printf '%s\n' "$out"
    first=0
  else
    printf '%s\n' "$out" | tail -n +2
  fi
done
