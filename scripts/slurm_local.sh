#!/usr/bin/env bash
# A one-node Slurm on this machine, for the ladder's Slurm tests (tests/ladder/test_slurm*.py):
#
#   bash scripts/slurm_local.sh install   Debian's munge + slurm-wlm (as root, apt-get)
#   bash scripts/slurm_local.sh start     munged, slurmctld and slurmd in the background
#   bash scripts/slurm_local.sh stop      stop them (by the pids recorded at start)
#
# Everything lives under one directory, $TRICKS_MM_SLURM_DIR (default $TMPDIR/tricks_mm_slurm,
# $TMPDIR defaulting to /tmp);
# `start` prints the line to run (export SLURM_CONF=...), and the tests find the cluster through
# SLURM_CONF or, unset, that default directory. No systemd: the daemons run in the foreground
# (-F / -D) in the background of this script, their pids in $DIR/pids. Facts this relies on:
# munged refuses a socket whose directories lack execute permission for all (key in a 0700
# directory, socket in a 0755 one); the node's CPU/memory line comes from `slurmd -C` (else
# slurmd reconfigures the node); there is no accounting daemon, so finished jobs stay visible
# for an hour (MinJobAge) and completions are written by jobcomp/filetxt; batch_sched_delay=0
# starts a dependent job about a second after its parent.
set -euo pipefail

DIR=${TRICKS_MM_SLURM_DIR:-${TMPDIR:-/tmp}/tricks_mm_slurm}
PARTITION=${TRICKS_MM_SLURM_PARTITION:-debug}

install() {
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    munge slurmctld slurmd slurm-client
}

wait_for() {  # wait_for SECONDS COMMAND...: retry COMMAND until it succeeds
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS > deadline)); then
      echo "slurm_local: timed out waiting for: $*" >&2
      return 1
    fi
    sleep 0.2
  done
}

start() {
  for tool in munged slurmctld slurmd sinfo; do
    command -v "$tool" >/dev/null || {
      echo "slurm_local: $tool not found; run: bash $0 install (as root)" >&2
      exit 1
    }
  done
  if [[ -f $DIR/pids ]]; then
    if running; then
      echo "slurm_local: already started ($DIR/pids); run: bash $0 stop" >&2
      exit 1
    fi
    # a start whose daemons died with their session (e.g. a machine handed on): start afresh
    echo "slurm_local: $DIR/pids is stale (none of its daemons runs): starting afresh"
    rm -f "$DIR/pids"
  fi
  rm -rf "$DIR"  # a fresh cluster: no jobs or state of an earlier start
  mkdir -p "$DIR"
  chmod 0755 "$DIR"
  # every directory above the munge socket must be searchable by all
  local up=$DIR
  while [[ $up != / ]]; do up=$(dirname "$up"); chmod o+x "$up" 2>/dev/null || true; done
  mkdir -p "$DIR/munge-key" "$DIR/munge-run" "$DIR/ctld" "$DIR/spool"
  chmod 0700 "$DIR/munge-key"
  chmod 0755 "$DIR/munge-run"
  dd if=/dev/urandom of="$DIR/munge-key/munge.key" bs=1024 count=1 status=none
  chmod 0400 "$DIR/munge-key/munge.key"
  local socket=$DIR/munge-run/munge.socket
  local node
  node=$(slurmd -C | head -1 | sed 's/^NodeName=[^ ]*/NodeName=localhost/')
  cat >"$DIR/slurm.conf" <<EOF
ClusterName=tricksmm
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${TRICKS_MM_SLURMCTLD_PORT:-16817}
SlurmdPort=${TRICKS_MM_SLURMD_PORT:-16818}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$DIR/ctld
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerParameters=batch_sched_delay=0
MpiDefault=none
ReturnToService=2
MinJobAge=3600
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/jobcomp.txt
$node
PartitionName=$PARTITION Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
  export SLURM_CONF=$DIR/slurm.conf
  munged -F --key-file="$DIR/munge-key/munge.key" --socket="$socket" \
    --pid-file="$DIR/munge-run/munged.pid" --log-file="$DIR/munged.log" \
    --seed-file="$DIR/munge-key/munged.seed" >>"$DIR/munged.out" 2>&1 &
  echo "munged $!" >"$DIR/pids"
  wait_for 20 test -S "$socket"
  slurmctld -D -f "$SLURM_CONF" >>"$DIR/slurmctld.out" 2>&1 &
  echo "slurmctld $!" >>"$DIR/pids"
  slurmd -D -N localhost -f "$SLURM_CONF" >>"$DIR/slurmd.out" 2>&1 &
  echo "slurmd $!" >>"$DIR/pids"
  if ! wait_for 60 bash -c "sinfo -h -N -o %T | grep -qx idle"; then
    tail -5 "$DIR"/*.log >&2 || true
    stop
    exit 1
  fi
  echo "slurm_local: one-node Slurm up under $DIR; use it with: export SLURM_CONF=$SLURM_CONF"
}

is_daemon() {  # is_daemon NAME PID: PID runs NAME (a recorded pid may since be another process's)
  [[ -r /proc/$2/comm && $(cat "/proc/$2/comm") == "$1" ]]
}

running() {  # does any daemon recorded in $DIR/pids still run?
  local name pid
  while read -r name pid; do
    is_daemon "$name" "$pid" && return 0
  done <"$DIR/pids"
  return 1
}

stop() {
  [[ -f $DIR/pids ]] || { echo "slurm_local: not started ($DIR/pids absent)"; return 0; }
  # the daemons in reverse order of start, each by the pid recorded for it
  tac "$DIR/pids" | while read -r name pid; do
    is_daemon "$name" "$pid" || { echo "slurm_local: $name ($pid) was not running"; continue; }
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "slurm_local: stopped $name ($pid)"
  done
  rm -f "$DIR/pids"
}

case ${1:-} in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
