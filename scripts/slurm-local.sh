#!/usr/bin/env bash
# A real single-node Slurm cluster on this machine, for the cluster tests (scripts/test-slurm.sh).
#
#   scripts/slurm-local.sh start DIR   # DIR: absent or empty; everything the cluster has lives in it
#   scripts/slurm-local.sh stop DIR    # stops the daemons that `start DIR` started, by their PIDs
#
# `start` runs Debian's munged, slurmctld and slurmd (packages munge and slurm-wlm) as the calling
# user, in the foreground of background processes whose PIDs it records in DIR/run/*.pid:
# - a munge key of its own (DIR/munge/munge.key) and munged on its own socket (DIR/munge/munge.socket);
#   the machine's /etc/munge and /run/munge are never used;
# - DIR/slurm.conf: cluster "qvsim", controller on 127.0.0.1, one node "qvsim1" with this
#   machine's CPUs in one partition "qvsim" (the default), slurmctld and slurmd on two free
#   non-default TCP ports picked at random, no accounting, no cgroups (proctrack/linuxproc),
#   state, spool, PID and log files under DIR;
# - DIR/env: `export SLURM_CONF=DIR/slurm.conf` (and QVSIM_SLURM_DIR=DIR) for the clients
#   (sbatch, squeue, scontrol, sinfo, scancel) to source.
# It returns once the node is idle and takes jobs. If a daemon cannot start, it stops those it
# started, prints that daemon's log and exits 1; it never skips.
#
# `stop` sends SIGTERM to each recorded daemon (slurmd, slurmctld, munged) still running under
# that PID and name, waits up to 10 s, then SIGKILL. It leaves DIR (and its logs) in place.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin" # the daemons (slurmctld, slurmd, munged) are in /usr/sbin

NODE=qvsim1
PARTITION=qvsim
DAEMONS_STOP_ORDER=(slurmd slurmctld munged)

die() { echo "slurm-local: $*" >&2; exit 1; }

# A TCP port in 20000-39999 nothing listens on (checked by connecting to it).
free_port() {
  local port tries=0
  while [ $tries -lt 200 ]; do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
    tries=$((tries + 1))
  done
  die "no free TCP port found in 20000-39999"
}

# Is PID running the program NAME? (Guards against a recycled PID; an exited, unreaped one is not running.)
running() {
  local pid=$1 name=$2 stat
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$name" ] || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat:0:1}" != Z ]
}

stop_daemon() {
  local dir=$1 name=$2 pidfile="$1/run/$2.pid" pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if running "$pid" "$name"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do running "$pid" "$name" || break; sleep 0.1; done
    if running "$pid" "$name"; then
      echo "slurm-local: $name (pid $pid) still running after 10 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

stop_all() {
  local dir=$1 name
  for name in "${DAEMONS_STOP_ORDER[@]}"; do stop_daemon "$dir" "$name"; done
}

# The daemon failed to come up: stop what was started, show its log, fail.
fail_start() {
  local dir=$1 name=$2 log=$3 why=$4
  echo "slurm-local: $name did not start ($why). Its log, $log:" >&2
  { cat "$log" "$dir/log/$name.stdout" 2>/dev/null || true; } | tail -n 60 >&2
  stop_all "$dir"
  exit 1
}

# Runs a daemon in the background (in its foreground mode), recording its PID.
spawn() {
  local dir=$1 name=$2; shift 2
  "$@" </dev/null >"$dir/log/$name.stdout" 2>&1 &
  echo $! >"$dir/run/$name.pid"
}

# Has our just-spawned child PID exited? Not `running`: until the forked shell has exec'd the
# daemon, its comm is still this script's, so a name check right after `spawn` can read a live,
# starting daemon as gone (seen 1 in 200 spawns on an idle machine; a CI run under load failed so,
# with no daemon log). Gone from /proc or a zombie reads as exited: bash reaps its finished
# background children by itself (SIGCHLD), so an exited daemon's PID is mostly gone, not a zombie,
# and could in principle be reused; another process under that PID during the wait would read as
# alive, and the wait then fails with "not ready" instead of "it exited" (still a failure).
exited() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }
  [ "${stat:0:1}" = Z ]
}

# Waits up to SECONDS for CHECK (a command) to succeed while daemon NAME stays alive.
await() {
  local dir=$1 name=$2 log=$3 seconds=$4; shift 4
  local pid i
  pid=$(cat "$dir/run/$name.pid")
  for i in $(seq 1 $((seconds * 10))); do
    exited "$pid" && fail_start "$dir" "$name" "$log" "it exited"
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  fail_start "$dir" "$name" "$log" "not ready after ${seconds} s"
}

start() {
  local dir=$1
  for prog in munged munge slurmctld slurmd scontrol sinfo; do
    command -v "$prog" >/dev/null || die "$prog not found: install Debian's munge and slurm-wlm (apt-get install -y slurm-wlm munge)"
  done
  if [ -e "$dir" ] && [ -n "$(ls -A "$dir")" ]; then die "$dir is not empty"; fi
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd -P)
  chmod 700 "$dir"
  mkdir -p "$dir/munge" "$dir/run" "$dir/log" "$dir/state" "$dir/spool"
  chmod 700 "$dir/munge"
  local user socket conf ctl_port node_port cpus
  user=$(id -un)
  socket="$dir/munge/munge.socket"
  conf="$dir/slurm.conf"

  # munge: a key of our own, our own socket.
  head -c 1024 /dev/urandom >"$dir/munge/munge.key"
  chmod 400 "$dir/munge/munge.key"
  spawn "$dir" munged munged --foreground --force --socket="$socket" --key-file="$dir/munge/munge.key" \
    --pid-file="$dir/munge/munged.pid" --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
  await "$dir" munged "$dir/log/munged.log" 15 bash -c "munge --socket='$socket' -n | unmunge --socket='$socket'"

  ctl_port=$(free_port)
  node_port=$(free_port)
  while [ "$node_port" = "$ctl_port" ]; do node_port=$(free_port); done
  cpus=$(nproc)
  : >"$dir/plugstack.conf"
  cat >"$conf" <<EOF
# A single-node test cluster made by scripts/slurm-local.sh; everything lives in $dir.
ClusterName=qvsim
SlurmctldHost=$(hostname -s)(127.0.0.1)
SlurmctldPort=$ctl_port
SlurmdPort=$node_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.daemon.pid
SlurmdPidFile=$dir/run/slurmd.daemon.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
NodeName=$NODE NodeAddr=127.0.0.1 NodeHostname=$(hostname -s) CPUs=$cpus State=UNKNOWN
PartitionName=$PARTITION Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

  export SLURM_CONF="$conf"
  spawn "$dir" slurmctld slurmctld -D -i -f "$conf"
  await "$dir" slurmctld "$dir/log/slurmctld.log" 30 bash -c "scontrol ping | grep -q UP"
  spawn "$dir" slurmd slurmd -D -N "$NODE" -f "$conf"
  await "$dir" slurmd "$dir/log/slurmd.log" 30 bash -c "sinfo -h -n $NODE -o %t | grep -qx idle"

  printf 'export SLURM_CONF=%q\nexport QVSIM_SLURM_DIR=%q\n' "$conf" "$dir" >"$dir/env"
  echo "slurm-local: cluster up in $dir (node $NODE, $cpus CPUs, slurmctld :$ctl_port, slurmd :$node_port); clients: source $dir/env"
}

case "${1:-}" in
  start) [ $# -eq 2 ] || die "usage: $0 start DIR"; start "$2" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; [ -d "$2" ] || die "$2: no such directory"; stop_all "$2" ;;
  *) die "usage: $0 start|stop DIR" ;;
esac
