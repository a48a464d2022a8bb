#!/usr/bin/env bash
# slurm.sh - bring up a throw-away, single-node Slurm cluster on this machine.
#
# Meant for CI and local testing of the Snakemake Slurm executor path only:
# one node (this host), one partition ("debug"), munge auth, no accounting,
# no cgroups, daemons running as root. It is NOT a production setup.
#
# Usage: bash .ci/slurm.sh [install|start|wait|status|stop|up]
#   install  apt-get install slurmctld slurmd slurm-client munge if missing
#   start    start munged, write slurm.conf, start slurmctld + slurmd, wait
#   wait     wait (about 60 s) until the node is idle
#   status   print sinfo/squeue; exit 0 if the node is usable
#   stop     cancel all jobs, stop slurmd, slurmctld and munged
#   up       install + start (the default)
#
# Environment knobs (optional):
#   SLURM_WAIT_TIMEOUT   seconds to wait for the node (default 60)
#   SLURM_MEM_MARGIN_MB  memory kept back from what slurmd -C reports (default 1024)
set -euo pipefail

SLURM_CONF=/etc/slurm/slurm.conf
SLURM_LOG_DIR=/var/log/slurm
SLURMCTLD_STATE=/var/spool/slurmctld
SLURMD_SPOOL=/var/spool/slurmd
SLURMCTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
MUNGE_KEY=/etc/munge/munge.key
MUNGE_RUN=/run/munge
MUNGE_PID=/run/munge/munged.pid
PARTITION=debug
WAIT_TIMEOUT=${SLURM_WAIT_TIMEOUT:-60}
MEM_MARGIN_MB=${SLURM_MEM_MARGIN_MB:-1024}

log() { echo "slurm.sh: $*"; }
die() { echo "slurm.sh: ERROR: $*" >&2; exit 1; }

# True if PIDFILE names a live (not zombie) process called NAME. A stale pid
# file (daemon SIGKILLed, pid reused, or zombie not yet reaped) counts as dead.
proc_alive() {  # proc_alive PID NAME
    local comm state
    [[ $1 =~ ^[0-9]+$ && -r /proc/$1/stat ]] || return 1
    comm=$(cat "/proc/$1/comm" 2>/dev/null) || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ $comm == "$2" && $state != Z ]]
}

pid_alive() {  # pid_alive PIDFILE NAME
    [[ -s $1 ]] && proc_alive "$(cat "$1")" "$2"
}

# ---------------------------------------------------------------- install ---

have_slurm() {
    command -v sbatch >/dev/null && command -v slurmctld >/dev/null &&
        command -v slurmd >/dev/null && command -v munged >/dev/null
}

cmd_install() {
    if have_slurm; then
        log "slurm and munge already installed"
        return 0
    fi
    log "installing slurmctld slurmd slurm-client munge (apt-get)"
    local pkgs=(slurmctld slurmd slurm-client munge)
    export DEBIAN_FRONTEND=noninteractive
    # Try with the package lists we have first; refresh them only if needed.
    if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/tmp/slurm-apt.log 2>&1; then
        log "install failed with current package lists, running apt-get update"
        apt-get update -qq >>/tmp/slurm-apt.log 2>&1
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >>/tmp/slurm-apt.log 2>&1 ||
            { tail -n 30 /tmp/slurm-apt.log >&2; die "apt-get install failed"; }
    fi
    have_slurm || die "packages installed but sbatch/slurmctld/slurmd/munged not found"
    log "installed"
}

# ------------------------------------------------------------------ munge ---

munge_running() {
    pid_alive "$MUNGE_PID" munged
}

start_munge() {
    mkdir -p /etc/munge /var/lib/munge /var/log/munge "$MUNGE_RUN"
    if [[ ! -s $MUNGE_KEY ]]; then
        log "creating $MUNGE_KEY"
        if command -v mungekey >/dev/null; then
            mungekey --create --keyfile="$MUNGE_KEY" --force
        else
            dd if=/dev/urandom of="$MUNGE_KEY" bs=1024 count=1 status=none
        fi
    fi
    # munged refuses keys and dirs with loose ownership or permissions.
    chown munge:munge "$MUNGE_KEY" /etc/munge /var/lib/munge /var/log/munge "$MUNGE_RUN"
    chmod 400 "$MUNGE_KEY"
    chmod 700 /etc/munge /var/lib/munge /var/log/munge
    chmod 755 "$MUNGE_RUN"
    if munge_running; then
        log "munged already running"
    else
        log "starting munged"
        rm -f "$MUNGE_PID" "$MUNGE_RUN/munge.socket.2.lock"
        runuser -u munge -- munged --force --pid-file="$MUNGE_PID"
    fi
    munge -n </dev/null | unmunge >/dev/null || die "munge self-test failed"
}

# ------------------------------------------------------------ slurm.conf ---

# Prints one field (e.g. RealMemory) of `slurmd -C` output.
slurmd_c_field() {
    slurmd -C 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1
}

node_name() {
    local name
    name=$(slurmd_c_field NodeName)
    [[ -n $name ]] || name=$(hostname -s)
    echo "$name"
}

write_conf() {
    local node cpus real_mb mem_mb
    node=$(node_name)
    cpus=$(nproc)
    real_mb=$(slurmd_c_field RealMemory)
    [[ -n $real_mb ]] || real_mb=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) / 1024 ))
    mem_mb=$(( real_mb - MEM_MARGIN_MB ))
    (( mem_mb > 256 )) || mem_mb=$(( real_mb * 9 / 10 ))

    mkdir -p /etc/slurm "$SLURM_LOG_DIR" "$SLURMCTLD_STATE" "$SLURMD_SPOOL"
    local tmp
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Generated by .ci/slurm.sh - single-node test cluster, not for production.
ClusterName=ci
SlurmctldHost=$node
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$SLURMCTLD_STATE
SlurmdSpoolDir=$SLURMD_SPOOL
SlurmctldPidFile=$SLURMCTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$SLURM_LOG_DIR/slurmctld.log
SlurmdLogFile=$SLURM_LOG_DIR/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
NodeName=$node CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$PARTITION Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
    if [[ -f $SLURM_CONF ]] && cmp -s "$tmp" "$SLURM_CONF"; then
        rm -f "$tmp"
    else
        mv "$tmp" "$SLURM_CONF"
        chmod 644 "$SLURM_CONF"
        log "wrote $SLURM_CONF (node $node, $cpus CPUs, ${mem_mb} MB)"
        # Running daemons would keep the old config: restart them.
        stop_daemon slurmd "$SLURMD_PID"
        stop_daemon slurmctld "$SLURMCTLD_PID"
    fi
}

# ---------------------------------------------------------------- daemons ---

ctld_responding() {
    scontrol ping 2>/dev/null | grep -q 'is UP'
}

# Prints the node's state as sinfo shows it, e.g. idle, mixed, down*, drained.
node_state() {
    sinfo -h -N -n "$(node_name)" -o '%T' 2>/dev/null | head -n 1
}

# True if the node can take jobs: its slurmd answers and sinfo shows it
# idle or busy (after a restart sinfo may show the saved state before slurmd
# has registered, hence the direct slurmd check).
node_usable() {
    scontrol show slurmd >/dev/null 2>&1 || return 1
    case "$(node_state)" in
        idle | mixed | allocated | completing) return 0 ;;
        *) return 1 ;;
    esac
}

start_daemons() {
    if pid_alive "$SLURMCTLD_PID" slurmctld; then
        log "slurmctld already running"
    else
        log "starting slurmctld"
        rm -f "$SLURMCTLD_PID"
        slurmctld
    fi
    if pid_alive "$SLURMD_PID" slurmd; then
        log "slurmd already running"
    else
        log "starting slurmd"
        rm -f "$SLURMD_PID"
        slurmd
    fi
}

print_log_tails() {
    local f
    for f in "$SLURM_LOG_DIR/slurmctld.log" "$SLURM_LOG_DIR/slurmd.log" /var/log/munge/munged.log; do
        [[ -f $f ]] || continue
        echo "----- tail of $f -----" >&2
        tail -n 25 "$f" >&2
    done
}

# Resumes the node if a previous run left it DOWN or DRAINED. Only asks
# again when the state changes, so the wait loop does not spam the log.
LAST_RESUMED_STATE=""
resume_if_down() {
    local state
    state=$(node_state)
    [[ $state != "$LAST_RESUMED_STATE" ]] || return 0
    case "$state" in
        down* | drain* | fail* | inval*)
            log "node is '$state', resuming it"
            LAST_RESUMED_STATE=$state
            scontrol update nodename="$(node_name)" state=resume 2>/dev/null ||
                log "resume refused (see slurmctld.log)"
            ;;
    esac
}

cmd_wait() {
    log "waiting up to ${WAIT_TIMEOUT}s for node $(node_name) to become idle"
    local start=$SECONDS state=""
    while (( SECONDS - start < WAIT_TIMEOUT )); do
        if ctld_responding; then
            state=$(node_state)
            if node_usable; then
                log "node $(node_name) is $state after $(( SECONDS - start ))s"
                return 0
            fi
            resume_if_down
        fi
        sleep 1
    done
    echo "slurm.sh: timed out; node state '${state:-unknown}'" >&2
    sinfo -N -l >&2 || true
    print_log_tails
    exit 1
}

cmd_start() {
    have_slurm || die "slurm is not installed; run: bash $0 install"
    if munge_running && ctld_responding && node_usable; then
        log "cluster already up, node $(node_name) is $(node_state)"
        return 0
    fi
    start_munge
    write_conf
    start_daemons
    cmd_wait
}

cmd_status() {
    if ! ctld_responding; then
        echo "slurm.sh: slurmctld is not responding" >&2
        return 1
    fi
    sinfo
    squeue
    if ! scontrol show slurmd >/dev/null 2>&1; then
        echo "slurm.sh: slurmd on this host is not responding" >&2
        return 1
    fi
    if node_usable; then
        log "node $(node_name) is $(node_state)"
        return 0
    fi
    log "node $(node_name) is not usable: $(node_state)"
    return 1
}

# Stops the process in PIDFILE, or else every live process named exactly NAME.
stop_daemon() {  # stop_daemon NAME PIDFILE
    local name=$1 pidfile=$2 pids=() live=() pid
    if pid_alive "$pidfile" "$name"; then
        pids=("$(cat "$pidfile")")
    else
        mapfile -t pids < <(pgrep -x "$name" || true)
    fi
    for pid in "${pids[@]}"; do
        proc_alive "$pid" "$name" && live+=("$pid")
    done
    if (( ${#live[@]} > 0 )); then
        log "stopping $name (pid ${live[*]})"
        kill "${live[@]}" 2>/dev/null || true
        for _ in $(seq 1 50); do
            alive_any "$name" "${live[@]}" || break
            sleep 0.2
        done
        if alive_any "$name" "${live[@]}"; then
            log "$name did not exit, sending SIGKILL"
            kill -9 "${live[@]}" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile"
}

alive_any() {  # alive_any NAME PID...
    local name=$1 pid
    shift
    for pid in "$@"; do
        proc_alive "$pid" "$name" && return 0
    done
    return 1
}

cmd_stop() {
    if command -v scancel >/dev/null && ctld_responding; then
        local jobs=()
        mapfile -t jobs < <(squeue -h -o '%A' 2>/dev/null || true)
        if (( ${#jobs[@]} > 0 )); then
            log "cancelling jobs: ${jobs[*]}"
            scancel "${jobs[@]}" 2>/dev/null || true
            sleep 2
        fi
    fi
    stop_daemon slurmd "$SLURMD_PID"
    stop_daemon slurmctld "$SLURMCTLD_PID"
    stop_daemon munged "$MUNGE_PID"
    log "stopped"
}

main() {
    local cmd=${1:-up}
    case "$cmd" in
        install) cmd_install ;;
        start) cmd_start ;;
        wait) cmd_wait ;;
        status) cmd_status ;;
        stop) cmd_stop ;;
        up) cmd_install; cmd_start ;;
        -h | --help | help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' ;;
        *) die "unknown command '$cmd' (use install|start|wait|status|stop|up)" ;;
    esac
}

main "$@"
