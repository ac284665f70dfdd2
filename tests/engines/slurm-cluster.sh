#!/usr/bin/env bash
# Starts and stops a private single-node Slurm cluster on localhost for tests.
#
#   slurm-cluster.sh start DIR   write DIR/slurm.conf, start munged, slurmctld
#                                and slurmd, wait until the node is idle and
#                                the scheduler has run
#   slurm-cluster.sh stop DIR    cancel jobs, stop the daemons started by start
#
# Afterwards use the cluster with SLURM_CONF=DIR/slurm.conf sbatch ...
# Needs root (slurmd runs jobs as their owner) and the slurm-wlm and munge
# packages. The cluster has its own munged, key and socket under DIR/munge,
# so a system munged, slurmctld or slurmd may run alongside; only the ports
# must be free. Override them with SLURM_CLUSTER_PORT (slurmctld; slurmd
# uses +1).
set -euo pipefail

CTLD_PORT=${SLURM_CLUSTER_PORT:-16817}
SLURMD_PORT=$((CTLD_PORT + 1))
READY_TIMEOUT=30 # seconds to wait for the node and scheduler to be ready
STOP_TIMEOUT=10 # seconds to wait for a daemon to exit before SIGKILL

die() {
	echo "slurm-cluster: $*" >&2
	exit 1
}

usage() {
	die "usage: $0 start|stop DIR"
}

# True while PID runs (and, if given, runs the program COMM). The daemons
# are reparented to PID 1, which reaps them only some time after they exit,
# so a zombie counts as gone. Checking the name keeps a recycled pid from
# being taken for a daemon; it is left out for own children, which keep
# their pid until reaped but may not have called exec yet.
alive() {
	local pid=$1 comm=${2:-} stat
	stat=$(cat "/proc/$pid/stat" 2> /dev/null) || return 1
	[ -z "$comm" ] || [ "$(cat "/proc/$pid/comm" 2> /dev/null)" = "$comm" ] || return 1
	stat=${stat##*) }
	[ "${stat%% *}" != Z ]
}

# True if something listens on TCP port PORT (any address, IPv4 or IPv6).
listening() {
	local hex
	hex=$(printf '%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2> /dev/null |
		awk -v port="$hex" '$4 == "0A" && $2 ~ (":" port "$") { found = 1 } END { exit !found }'
}

# Waits up to 5 s for exited processes to be reaped, so that they no longer
# show up in pgrep or ps once stop returns; own children are reaped here.
wait_reaped() {
	local pid i
	for pid in "$@"; do
		wait "$pid" 2> /dev/null || true
		for ((i = 0; i < 50; i++)); do
			[ -e "/proc/$pid" ] || break
			sleep 0.1
		done
	done
}

# Sends SIGTERM, waits, then SIGKILL; silent if the process is already gone.
stop_pid() {
	local pid=$1 comm=$2 i
	alive "$pid" "$comm" || return 0
	kill -TERM "$pid" 2> /dev/null || true
	for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
		alive "$pid" "$comm" || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2> /dev/null || true
	for ((i = 0; i < 50; i++)); do
		alive "$pid" "$comm" || return 0
		sleep 0.1
	done
	echo "slurm-cluster: $comm (pid $pid) did not exit" >&2
	return 1
}

# Prints PID and all its descendants.
tree() {
	local child
	echo "$1"
	for child in $(pgrep -P "$1" || true); do
		tree "$child"
	done
}

# SIGKILLs PID and its descendants, all listed first so none is missed
# after its parent dies and it is reparented.
kill_tree() {
	local pids
	read -ra pids <<< "$(tree "$1" | tr '\n' ' ')"
	kill -KILL "${pids[@]}" 2> /dev/null || true
	stopped+=("${pids[@]}")
}

stop_daemon() {
	local dir=$1 name=$2 pid
	[ -f "$dir/$name.pid" ] || return 0
	pid=$(cat "$dir/$name.pid")
	stop_pid "$pid" "$name" || return 1
	rm -f "$dir/$name.pid"
	stopped+=("$pid")
}

stop_cluster() {
	local dir=$1 pid user i status=0
	local stopped=() # pids to wait for, filled by stop_daemon and below
	export SLURM_CONF=$dir/slurm.conf
	# Cancel jobs first so slurmd's step daemons end the job processes;
	# slurmstepd is detached from slurmd and would outlive it otherwise.
	if [ -f "$dir/slurmctld.pid" ] && alive "$(cat "$dir/slurmctld.pid")" slurmctld; then
		for user in $(timeout 5 squeue -h -o %u 2> /dev/null | sort -u); do
			timeout 5 scancel --user="$user" > /dev/null 2>&1 || true
		done
		for ((i = 0; i < 50; i++)); do
			[ -z "$(timeout 5 squeue -h -o %i 2> /dev/null)" ] && break
			sleep 0.1
		done
	fi
	stop_daemon "$dir" slurmd || status=1
	stop_daemon "$dir" slurmctld || status=1
	stop_daemon "$dir" munged || status=1
	# Step daemons still left (slurmctld was dead, so no scancel) inherited
	# this cluster's SLURM_CONF from slurmd, which identifies them. Without
	# slurmd they cannot end their job, so kill the job processes and them.
	for pid in $(pgrep -x slurmstepd || true); do
		alive "$pid" slurmstepd || continue
		if tr '\0' '\n' 2> /dev/null < "/proc/$pid/environ" | grep -qxF "SLURM_CONF=$SLURM_CONF"; then
			kill_tree "$pid"
		fi
	done
	wait_reaped "${stopped[@]}"
	return $status
}

write_conf() {
	local dir=$1
	cat > "$dir/slurm.conf" << EOF
ClusterName=test
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Our own munged; both auth/munge and cred/munge read this.
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# No cgroups on the test machines.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
# No slurmdbd; job state is read with scontrol and squeue.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
# Bring the node back up by itself after a restart.
ReturnToService=2
# Schedule a job as soon as it is submitted.
SchedulerParameters=batch_sched_delay=0
# Cancel jobs whose dependency can never be met (e.g. afterok on a failed
# job) instead of leaving them pending forever. Slurm 22.05 ignores this
# option under SchedulerParameters.
DependencyParameters=kill_invalid_depend
# Allocate single CPUs so 1-CPU tasks and steps run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
EOF
}

# Fails the start: stop whatever already runs, report in one line.
start_failed() {
	local dir=$1 msg=$2
	stop_cluster "$dir" > /dev/null 2>&1 || true
	die "$msg"
}

start_cluster() {
	local dir=$1 i d prog state cycles port
	[ "$(id -u)" -eq 0 ] || die "must run as root"
	for prog in munged slurmctld slurmd sinfo sdiag; do
		command -v "$prog" > /dev/null || die "$prog not found (install munge and slurm-wlm)"
	done
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd) # slurm.conf needs absolute paths
	for d in munged slurmctld slurmd; do
		if [ -f "$dir/$d.pid" ] && alive "$(cat "$dir/$d.pid")" "$d"; then
			die "a cluster from $dir is already running; stop it first"
		fi
	done
	for port in "$CTLD_PORT" "$SLURMD_PORT"; do
		listening "$port" && die "port $port already in use; set SLURM_CLUSTER_PORT"
	done
	mkdir -p "$dir/state" "$dir/spool" "$dir/run"
	write_conf "$dir"
	export SLURM_CONF=$dir/slurm.conf

	# munged refuses to run as root, and checks that its key, socket, log
	# and seed directory belongs to the munge user and can be searched by
	# all (clients connect to the socket); so must DIR. A fresh key keeps
	# the cluster independent of /etc/munge.
	chmod go+x "$dir"
	rm -rf "$dir/munge"
	install -d -o munge -g munge -m 0711 "$dir/munge"
	(umask 077 && dd if=/dev/urandom of="$dir/munge/munge.key" bs=128 count=1 status=none)
	chown munge:munge "$dir/munge/munge.key"
	chmod 0400 "$dir/munge/munge.key"
	setpriv --reuid=munge --regid=munge --init-groups munged -F \
		--socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
		--log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" \
		--key-file="$dir/munge/munge.key" \
		> "$dir/munged.out" 2>&1 < /dev/null &
	echo $! > "$dir/munged.pid"
	for ((i = 0; i < 50; i++)); do
		[ -S "$dir/munge/munge.socket" ] && break
		alive "$(cat "$dir/munged.pid")" ||
			start_failed "$dir" "munged exited: $(tail -n 1 "$dir/munged.out")"
		sleep 0.1
	done
	[ -S "$dir/munge/munge.socket" ] || start_failed "$dir" "munged did not create its socket"

	# -D keeps the daemons in the foreground so $! is the daemon's own pid.
	slurmctld -D -f "$SLURM_CONF" > "$dir/slurmctld.out" 2>&1 < /dev/null &
	echo $! > "$dir/slurmctld.pid"
	slurmd -D -N localhost -f "$SLURM_CONF" > "$dir/slurmd.out" 2>&1 < /dev/null &
	echo $! > "$dir/slurmd.pid"

	# slurmctld runs its first scheduling cycle about 3 s after it starts,
	# whenever the node registers; jobs submitted before then wait for it.
	# Waiting here keeps sbatch-to-start near 1 s for every job.
	state='' cycles=0
	for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
		for d in slurmctld slurmd; do
			alive "$(cat "$dir/$d.pid")" ||
				start_failed "$dir" "$d exited: $(tail -n 1 "$dir/$d.log" 2> /dev/null || tail -n 1 "$dir/$d.out")"
		done
		[ "$state" = idle ] || state=$(sinfo -h -n localhost -o %T 2> /dev/null || true)
		if [ "$state" = idle ]; then
			cycles=$(sdiag 2> /dev/null | awk '/Total cycles:/ { print $3; exit }' || true)
			[ "${cycles:-0}" -gt 0 ] && break
		fi
		sleep 0.1
	done
	[ "$state" = idle ] ||
		start_failed "$dir" "node not idle after ${READY_TIMEOUT}s (state '${state:-none}'), see $dir/*.log"
	[ "${cycles:-0}" -gt 0 ] ||
		start_failed "$dir" "slurmctld did not schedule within ${READY_TIMEOUT}s, see $dir/slurmctld.log"
	echo "export SLURM_CONF=$SLURM_CONF"
}

[ $# -eq 2 ] || usage
case $1 in
start) start_cluster "$2" ;;
stop)
	[ -d "$2" ] || exit 0
	stop_cluster "$(cd "$2" && pwd)"
	;;
*) usage ;;
esac
