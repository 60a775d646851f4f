#!/usr/bin/env bash
# Start the single-node dev Slurm cluster: munge, MariaDB, slurmdbd, slurmctld, slurmd (as root).
# Idempotent: when the cluster is already up with the same configuration it says so and exits 0.
# PIDs of the daemons this script starts are kept in slurm/devcluster/run/pids/ for stop.sh.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RUN="$HERE/run"
CONF_DIR=/etc/slurm
CPUS="${HPCGEN_DEVCLUSTER_CPUS:-4}"
GPUS="${HPCGEN_DEVCLUSTER_GPUS:-4}"
CRED_EXPIRE="${HPCGEN_DEVCLUSTER_CRED_EXPIRE:-10}"
DB_PORT=3306

log() { echo "devcluster: $*"; }
die() { echo "devcluster: error: $*" >&2; for f in slurmctld slurmd slurmdbd; do [ -f "$RUN/log/$f.log" ] && { echo "--- last lines of $RUN/log/$f.log" >&2; tail -n 5 "$RUN/log/$f.log" >&2; }; done; exit 1; }
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2; shift 2
    local t0=$SECONDS
    until "$@" >/dev/null 2>&1; do
        (( SECONDS - t0 >= limit )) && die "$what not ready after ${limit}s"
        sleep 0.5
    done
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

[ "$(id -u)" = 0 ] || die "run as root (the dev cluster's daemons run as root)"
command -v slurmctld >/dev/null && command -v slurmdbd >/dev/null && command -v munged >/dev/null \
    && command -v mysqld_safe >/dev/null || bash "$HERE/install.sh"

mkdir -p "$RUN"/{pids,log,state,spool,dev,etc}
chmod 0700 "$RUN"

# ---- configuration (rendered into run/etc first, installed only when it changed)
MEM_MB="${HPCGEN_DEVCLUSTER_MEM_MB:-$(awk '/MemAvailable/ {m=int($2/1024/2); if (m>8192) m=8192; print m}' /proc/meminfo)}"
[ -f "$RUN/dbpass" ] || { head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$RUN/dbpass"; chmod 0600 "$RUN/dbpass"; }
DB_PASS="$(cat "$RUN/dbpass")"
FIRST_JOB_ID=1
[ -f "$CONF_DIR/slurm.conf" ] && FIRST_JOB_ID="$(sed -n 's/^FirstJobId=\([0-9]*\)$/\1/p' "$CONF_DIR/slurm.conf")"
FIRST_JOB_ID="${FIRST_JOB_ID:-1}"
render() {
    sed -e "s|@RUN@|$RUN|g" -e "s|@FIRST_JOB_ID@|$FIRST_JOB_ID|g" -e "s|@CPUS@|$CPUS|g" -e "s|@GPUS@|$GPUS|g" -e "s|@LAST_GPU@|$((GPUS - 1))|g" \
        -e "s|@MEM_MB@|$MEM_MB|g" -e "s|@CRED_EXPIRE@|$CRED_EXPIRE|g" -e "s|@DB_PORT@|$DB_PORT|g" \
        -e "s|@DB_PASS@|$DB_PASS|g" "$HERE/templates/$1.in" > "$RUN/etc/$1"
}
for f in slurm.conf slurmdbd.conf gres.conf; do render "$f"; done
# the node's memory may differ between calls (free memory): keep the installed value when the cluster is up
if [ -f "$CONF_DIR/slurm.conf" ]; then
    old_mem="$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' "$CONF_DIR/slurm.conf")"
    [ -n "$old_mem" ] && { MEM_MB="$old_mem"; render slurm.conf; }
fi
changed=0
mkdir -p "$CONF_DIR"
for f in slurm.conf slurmdbd.conf gres.conf; do
    cmp -s "$RUN/etc/$f" "$CONF_DIR/$f" || { install -m 0644 "$RUN/etc/$f" "$CONF_DIR/$f"; changed=1; }
done
chmod 0600 "$CONF_DIR/slurmdbd.conf"

cluster_up() {
    scontrol ping 2>/dev/null | grep -q "UP" &&
    sinfo -h -n localhost -o %T 2>/dev/null | grep -Eq "^(idle|mixed|allocated)" &&
    sacct -n -X -S now-1minutes -o JobID >/dev/null 2>&1
}
if [ "$changed" = 0 ] && alive "$RUN/pids/slurmctld.pid" && alive "$RUN/pids/slurmd.pid" && cluster_up; then
    log "already up (sinfo: $(sinfo -h -o '%P %T' | tr '\n' ' '))"
    exit 0
fi
if [ "$changed" = 1 ]; then
    # a new configuration needs the Slurm daemons restarted (only those this script started)
    for d in slurmd slurmctld; do
        if alive "$RUN/pids/$d.pid"; then kill "$(cat "$RUN/pids/$d.pid")"; fi
    done
    sleep 1
fi

# ---- fake GPUs: character devices (plain files are refused, a GRES without File= makes the node INVAL)
for ((i = 0; i < GPUS; i++)); do
    [ -c "$RUN/dev/gpu$i" ] || { rm -f "$RUN/dev/gpu$i"; mknod "$RUN/dev/gpu$i" c 1 3; }
done

# ---- munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
    runuser -u munge -- /usr/sbin/munged
    wait_for 10 munge bash -c "munge -n | unmunge"
    cp /run/munge/munged.pid "$RUN/pids/munged.pid"
    log "munged started"
fi

# ---- MariaDB
if ! mysqladmin --protocol=socket ping >/dev/null 2>&1; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    nohup mysqld_safe --user=mysql --bind-address=127.0.0.1 --port="$DB_PORT" --pid-file=/run/mysqld/mysqld.pid \
        >"$RUN/log/mysqld_safe.log" 2>&1 &
    wait_for 30 MariaDB mysqladmin --protocol=socket ping
    # the mysql user cannot write into run/: its pid file lives in /run/mysqld, recorded here for stop.sh
    wait_for 10 "MariaDB pid file" test -s /run/mysqld/mysqld.pid
    cp /run/mysqld/mysqld.pid "$RUN/pids/mysqld.pid"
    log "MariaDB started"
fi
mysql --protocol=socket <<SQL
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'localhost' IDENTIFIED BY '$DB_PASS';
ALTER USER 'slurm'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL

# ---- slurmdbd, then the cluster / accounts / QoS it must know
if ! alive "$RUN/pids/slurmdbd.pid" || [ "$changed" = 1 ]; then
    alive "$RUN/pids/slurmdbd.pid" && { kill "$(cat "$RUN/pids/slurmdbd.pid")"; sleep 1; }
    slurmdbd
    log "slurmdbd started"
fi
wait_for 30 slurmdbd sacctmgr -n list cluster
sacctmgr -i -Q add cluster hpcgen-dev >/dev/null 2>&1 || true
sacctmgr -i -Q add account hpcgen Description="hpcgen tests" Organization=hpcgen >/dev/null 2>&1 || true
# Jean Zay-style QoS names, so that its scripts pass the real sbatch's checks here
for q in qos_gpu_h100-dev qos_gpu_h100-t3 qos_gpu_h100-t4 qos_gpu_a100-dev qos_gpu_a100-t3; do
    sacctmgr -i -Q add qos "$q" >/dev/null 2>&1 || true
done
sacctmgr -i -Q add user root account=hpcgen >/dev/null 2>&1 || true
sacctmgr -i -Q modify user root set qos+=qos_gpu_h100-dev,qos_gpu_h100-t3,qos_gpu_h100-t4,qos_gpu_a100-dev,qos_gpu_a100-t3 >/dev/null 2>&1 || true

# ---- slurmctld and slurmd
if ! alive "$RUN/pids/slurmctld.pid"; then
    # MariaDB outlives run/ (fresh clones, CI, other checkouts): a controller counting job ids from its own
    # saved state could reuse ids already recorded, and sacct would then mix old jobs with new ones. A dev
    # controller starts with no jobs (none survive a restart here) and numbers them after the highest recorded.
    rm -f "$RUN/state/job_state" "$RUN/state/job_state.old"
    max_id="$(mysql --protocol=socket -N -e 'SELECT COALESCE(MAX(id_job), 0) FROM slurm_acct_db.`hpcgen-dev_job_table`' 2>/dev/null || echo 0)"
    FIRST_JOB_ID=$(( ${max_id:-0} + 1 ))
    render slurm.conf
    cmp -s "$RUN/etc/slurm.conf" "$CONF_DIR/slurm.conf" || install -m 0644 "$RUN/etc/slurm.conf" "$CONF_DIR/slurm.conf"
fi
if ! alive "$RUN/pids/slurmctld.pid"; then
    slurmctld
    log "slurmctld started"
fi
wait_for 30 slurmctld bash -c "scontrol ping | grep -q UP"
if ! alive "$RUN/pids/slurmd.pid"; then
    slurmd -N localhost
    log "slurmd started"
fi
t0=$SECONDS
until sinfo -h -n localhost -o %T 2>/dev/null | grep -Eq "^(idle|mixed|allocated)$"; do
    state="$(sinfo -h -n localhost -o %T 2>/dev/null || true)"
    case "$state" in
        down*|drain*|inval*) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
    esac
    (( SECONDS - t0 >= 60 )) && die "node not idle after 60s (state: ${state:-unknown})"
    sleep 0.5
done
wait_for 30 sacct sacct -n -X -S now-1minutes -o JobID
log "up in ${SECONDS}s: $(sinfo -h -o '%P %D %T %G %f' | tr '\n' ';')"
