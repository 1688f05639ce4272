#!/usr/bin/env bash
# deploy/infra.sh up|down|status [component...]: local infrastructure.
# Components (default: all): postgres kafka cerbos mail nginx; up in that order, down in reverse.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"

ALL_COMPONENTS=(postgres kafka cerbos mail nginx)
action=${1:-status}; shift || true
wanted=("$@")
for c in "${wanted[@]}"; do
  case " ${ALL_COMPONENTS[*]} " in *" $c "*) ;; *) echo "infra: unknown component '$c' (expected: ${ALL_COMPONENTS[*]})" >&2; exit 2 ;; esac
done
# keep the canonical order whatever order the caller gave
selected=()
for c in "${ALL_COMPONENTS[@]}"; do
  if [ ${#wanted[@]} -eq 0 ] || [[ " ${wanted[*]} " == *" $c "* ]]; then selected+=("$c"); fi
done

case $action in
  up|start)
    for c in "${selected[@]}"; do "$ROOT/deploy/$c.sh" start; done ;;
  down|stop)
    rc=0
    for ((i = ${#selected[@]} - 1; i >= 0; i--)); do "$ROOT/deploy/${selected[i]}.sh" stop || rc=1; done
    exit $rc ;;
  status)
    rc=0
    for c in "${selected[@]}"; do "$ROOT/deploy/$c.sh" status || rc=1; done
    exit $rc ;;
  *) echo "usage: $0 up|down|status [postgres|kafka|cerbos|mail|nginx ...]" >&2; exit 2 ;;
esac
