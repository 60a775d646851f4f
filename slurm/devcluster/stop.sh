#!/usr/bin/env bash
# Stop the dev Slurm cluster: only the daemons start.sh started, by the PIDs it recorded (run/pids/).
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PIDS="$HERE/run/pids"
for d in slurmd slurmctld slurmdbd mysqld munged; do
    f="$PIDS/$d.pid"
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        kill -0 "$pid" 2>/dev/null && { echo "devcluster: $d ($pid) did not stop; sending KILL"; kill -9 "$pid"; }
        echo "devcluster: stopped $d ($pid)"
    fi
    rm -f "$f"
done
