#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the SLURM tests and as a worked example.
#
#   sudo bash scripts/slurm_local.sh start    # install (Debian/Ubuntu, apt) if missing, configure, start
#   bash scripts/slurm_local.sh status        # sinfo + squeue
#   sudo bash scripts/slurm_local.sh stop     # stop slurmctld, slurmd and munged
#
# What it sets up (Debian's slurmctld, slurmd, slurm-client and munge packages):
# - munge, the authentication every SLURM message carries: a key in /etc/munge/munge.key,
#   munged running as the `munge` user;
# - /etc/slurm/slurm.conf (the default path, so sbatch/srun/sinfo/submitit find it without
#   SLURM_CONF): one node (this host, its CPUs and memory as `slurmd -C` reports them), one
#   partition `debug`; both daemons run as root. Containers and CI machines have no systemd and
#   no cgroup v2 delegation, so processes are tracked by /proc (proctrack/linuxproc), tasks are
#   not bound (task/none) and there is no cgroup.conf. There is no accounting database either
#   (accounting_storage/none): `sacct` has nothing to say, `squeue`/`scontrol` do.
# - logs in /var/log/slurm/, state in /var/spool/slurm*.
#
# A real cluster differs in its slurm.conf (many nodes, cgroups, accounting), not in how bakeoff
# submits to it: `python train.py -m hydra/launcher=slurm ...` (conf/hydra/launcher/slurm.yaml).
# Needs root (daemons, /etc). Exits non-zero when the cluster could not start.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
LOG_DIR=/var/log/slurm
PARTITION=${SLURM_LOCAL_PARTITION:-debug}
MARK="# Written by scripts/slurm_local.sh"

die() { echo "slurm_local: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" -eq 0 ] || die "needs root (daemons and /etc/slurm): run it with sudo"; }

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null \
    && command -v sbatch >/dev/null && command -v munged >/dev/null; then
    return
  fi
  command -v apt-get >/dev/null || die "slurm is not installed and there is no apt-get"
  echo "slurm_local: installing slurmctld slurmd slurm-client munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq slurmctld slurmd slurm-client munge; } \
    >/tmp/slurm_local_apt.log 2>&1 || die "apt-get install failed (see /tmp/slurm_local_apt.log)"
}

start_munge() {
  mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
  if [ ! -s /etc/munge/munge.key ]; then  # a random key: one node needs no shared secret
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
  chmod 0700 /etc/munge /var/lib/munge /var/log/munge
  chmod 0400 /etc/munge/munge.key
  chmod 0755 /run/munge
  if ! munge -n >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged --force
  fi
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && return; sleep 0.1; done
  die "munged did not start"
}

not_ours() {
  # Never touch a machine whose slurm.conf this script did not write (part of a real cluster).
  if [ -f "$CONF" ] && ! head -n 1 "$CONF" | grep -q "^$MARK"; then
    die "$CONF exists and was not written by this script: not touching it"
  fi
}

write_conf() {
  local host node
  host=$(hostname -s)
  # "NodeName=<host> CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=..."
  node=$(slurmd -C | head -n 1)
  [ -n "$node" ] || die "slurmd -C printed no node line"
  mkdir -p "$CONF_DIR" "$LOG_DIR" /var/spool/slurmctld /var/spool/slurmd
  cat >"$CONF" <<EOF
$MARK: a one-node cluster (this host), daemons as root.
ClusterName=bakeoff
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
# Jobs get SIGTERM, then SIGKILL after this many seconds (scancel, time limit, pre-emption).
KillWait=30
# A requeued job waits cred_expire seconds before it starts again (default 120).
AuthInfo=cred_expire=15
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start() {
  need_root
  not_ours
  install_packages
  start_munge
  write_conf
  running /run/slurmctld.pid || slurmctld
  running /run/slurmd.pid || slurmd
  # The node registers within seconds; an earlier "down" state is cleared on registration
  # (ReturnToService=2), and resumed explicitly in case it stayed drained.
  local i=0 deadline=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$deadline" ]; do
    i=$((i + 1))
    state=$(timeout 5 sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
    case "$state" in
      idle | mix | alloc) echo "slurm_local: up, node $(hostname -s) $state, partition $PARTITION"; return ;;
      down* | drain* | drng*) [ $((i % 5)) -eq 0 ] && scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true ;;
    esac
    sleep 0.5
  done
  tail -n 20 "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log" >&2 || true
  die "the node did not become idle within 30 s (logs above)"
}

stop() {
  need_root
  not_ours
  scontrol shutdown >/dev/null 2>&1 || true  # stops slurmctld and slurmd
  for pid in /run/slurmd.pid /run/slurmctld.pid; do
    running "$pid" && kill "$(cat "$pid")" 2>/dev/null || true
  done
  # slurmctld saves its state before it exits: wait, so that a `start` right after finds it gone
  for _ in $(seq 100); do
    running /run/slurmctld.pid || running /run/slurmd.pid || break
    sleep 0.1
  done
  if [ -f /run/munge/munged.pid ]; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
  echo "slurm_local: stopped"
}

status() {
  command -v sinfo >/dev/null || die "slurm is not installed"
  sinfo && squeue
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
