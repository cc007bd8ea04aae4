#!/bin/sh
# The image's programs: global-topo, cell-topo, topoctl. exec keeps node as tini's child,
# so signals reach it directly.
set -eu
program="${1:-}"
[ $# -gt 0 ] && shift
case "$program" in
  global-topo) exec node /app/dist/services/global-topo/main.js "$@" ;;
  cell-topo) exec node /app/dist/services/cell-topo/main.js "$@" ;;
  topoctl) exec node /app/dist/libs/client/cli/main.js "$@" ;;
  *) echo "usage: topo global-topo|cell-topo|topoctl [flags]" >&2; exit 2 ;;
esac
