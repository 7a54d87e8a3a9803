#!/usr/bin/env bash
# projector.sh: a demo and its kernel counters side by side, for a projector.
#
#   scripts/projector.sh DEMO [DEMO FLAGS]
#   scripts/projector.sh cow_overhead --pages 65536
#
# Opens a tmux session with two panes: the demo above, run with --pause so it stops at the
# lecture's pause points, and proc_watch below, watching it every 200 ms. Press ENTER in the top
# pane to go on. Both panes stay on screen after the demo ends; Ctrl-b d detaches, and
# `tmux kill-session -t oslab-DEMO-...` (printed at the start) closes it. Needs tmux.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ $# -ge 1 ] || { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
command -v tmux >/dev/null || { echo "projector.sh: tmux is not installed (apt-get install tmux)" >&2; exit 1; }
bin=$(oslab_bin_dir)
demo=$1; shift
[ -x "$bin/$demo" ] || { echo "projector.sh: no demo called $demo in $bin" >&2; exit 1; }
"$bin/$demo" --help | grep -q -- '--pause' || {
  echo "projector.sh: $demo has no --pause points (try cow_overhead or multiple_forks)" >&2; exit 1; }

session="oslab-$demo-$$"
pidfile=$(mktemp)
trap 'rm -f "$pidfile"' EXIT
# The top pane writes the demo's PID (the shell's, which then becomes the demo by exec).
top="echo \$\$ > '$pidfile'; exec '$bin/$demo' --pause $(printf '%q ' "$@")"
bottom="while [ ! -s '$pidfile' ]; do sleep 0.05; done; exec '$bin/proc_watch' \$(cat '$pidfile') --interval 200ms"
echo "projector.sh: tmux session $session (close it with: tmux kill-session -t $session)" >&2
tmux new-session -d -s "$session" -x 200 -y 50 "bash -c \"$top\""
# Keep each pane, and what it printed, on screen after its program ends.
tmux set-option -t "$session" remain-on-exit on >/dev/null
tmux split-window -v -t "$session" "bash -c \"$bottom\""
tmux select-pane -t "$session:0.0"
if [ -n "${TMUX:-}" ]; then
  tmux switch-client -t "$session"
else
  tmux attach -t "$session"
fi
