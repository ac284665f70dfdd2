#!/usr/bin/env bash
# Starts and stops a private sshd on 127.0.0.1 so tests can drive "remote"
# agents over ssh without touching the system sshd or ~/.ssh.
#
#   tests/engines/sshd.sh start DIR [PORT]
#   tests/engines/sshd.sh stop DIR
#
# After start, reach the server with: ssh -F DIR/ssh_config ccl-test-host CMD
set -euo pipefail

SSHD=/usr/sbin/sshd  # sshd re-execs itself, so it must be an absolute path
HOST=ccl-test-host

die() {
	echo "sshd.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: $0 start DIR [PORT] | stop DIR" >&2
	exit 2
}

# True if PID is a live process (not a zombie: pid 1 here may not reap
# orphans, and kill -0 succeeds on a zombie).
alive() {
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ]
}

port_in_use() {
	ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

# Pid of the sshd listening for DIR, or nothing. Checks the command line so a
# stale pid file never makes us kill an unrelated process that reused the pid.
sshd_pid() {
	local dir=$1 pid
	[ -s "$dir/sshd.pid" ] || return 0
	pid=$(head -n1 "$dir/sshd.pid")
	[[ $pid =~ ^[0-9]+$ ]] || return 0
	alive "$pid" || return 0
	tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/sshd_config" || return 0
	echo "$pid"
}

do_stop() {
	local dir=$1 pid kids _
	# Closing the master first ends its session, so the per-connection sshd exits too.
	if [ -f "$dir/ssh_config" ]; then
		ssh -F "$dir/ssh_config" -O exit "$HOST" > /dev/null 2>&1 || true
	fi
	pid=$(sshd_pid "$dir")
	[ -n "$pid" ] || { rm -f "$dir/sshd.pid"; return 0; }
	# Session monitors are children of the listener and outlive it if left alone.
	mapfile -t kids < <(pgrep -P "$pid" || true)
	kill -TERM "$pid" "${kids[@]}" 2> /dev/null || true
	for _ in $(seq 50); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		kill -KILL "$pid" "${kids[@]}" 2> /dev/null || true
		sleep 0.1
	fi
	rm -f "$dir/sshd.pid"
	! alive "$pid" || die "sshd (pid $pid) did not exit"
}

write_configs() {
	local dir=$1 port=$2
	# StrictModes no: DIR usually sits under /tmp (mode 1777), which StrictModes
	# rejects as a parent of authorized_keys. UsePAM no keeps the test server from
	# depending on the system PAM stack; root's shadow entry must then not be
	# "!"-locked (Debian's "*" is fine for key logins).
	cat > "$dir/sshd_config" <<-EOF
		ListenAddress 127.0.0.1
		Port $port
		HostKey $dir/ssh_host_ed25519_key
		AuthorizedKeysFile $dir/authorized_keys
		PidFile $dir/sshd.pid
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		PubkeyAuthentication yes
		PermitRootLogin prohibit-password
		StrictModes no
		UsePAM no
		UseDNS no
		PrintMotd no
		PrintLastLog no
		X11Forwarding no
		MaxSessions 64
		MaxStartups 64:30:128
		LogLevel INFO
	EOF
	# MaxSessions: every job run through a ControlMaster is one session on
	# a single connection, and the default of 10 caps parallel jobs per host.
	# No AcceptEnv/SendEnv on purpose: like a stock remote host, variables such
	# as OPENBLAS_NUM_THREADS must be passed explicitly (parallel --env).
	cat > "$dir/ssh_config" <<-EOF
		Host $HOST
			HostName 127.0.0.1
			Port $port
			User $(id -un)
			IdentityFile $dir/id_ed25519
			IdentitiesOnly yes
			StrictHostKeyChecking no
			UserKnownHostsFile /dev/null
			GlobalKnownHostsFile /dev/null
			LogLevel ERROR
			BatchMode yes
			ConnectTimeout 5
			ControlMaster auto
			ControlPath $dir/cm-%C
			ControlPersist 60
	EOF
}

do_start() {
	local dir=$1 port=${2:-} fixed_port=1 pid='' deadline _
	[ -d "$dir" ] || die "no such directory: $dir"
	dir=$(cd "$dir" && pwd -P)  # sshd insists on absolute paths
	[ -x "$SSHD" ] || die "$SSHD not found (apt-get install openssh-server)"
	# A unix socket path is limited to 108 bytes; %C expands to 40 hex chars.
	[ $((${#dir} + 44)) -lt 104 ] || die "DIR path too long for the ControlPath socket: $dir"
	[ -z "$(sshd_pid "$dir")" ] || die "an sshd is already running for $dir"
	if [ -z "$port" ]; then
		fixed_port=0
	elif ! [[ $port =~ ^[0-9]+$ ]] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
		die "bad port: $port"
	elif port_in_use "$port"; then
		die "port $port is already in use"
	fi

	# Privilege separation chroots into /run/sshd; it is normally created by
	# the init script, which never runs here without systemd.
	# (As another user sshd runs without privilege separation, logging in
	# only that user.)
	if [ "$(id -u)" -eq 0 ]; then
		mkdir -p /run/sshd
		chmod 0755 /run/sshd
	fi

	rm -f "$dir/ssh_host_ed25519_key" "$dir/ssh_host_ed25519_key.pub" \
		"$dir/id_ed25519" "$dir/id_ed25519.pub" "$dir/sshd.pid"
	ssh-keygen -q -t ed25519 -N '' -C ccl-test-host -f "$dir/ssh_host_ed25519_key" > /dev/null \
		|| die "ssh-keygen failed for the host key"
	ssh-keygen -q -t ed25519 -N '' -C ccl-test-client -f "$dir/id_ed25519" > /dev/null \
		|| die "ssh-keygen failed for the client key"
	cp "$dir/id_ed25519.pub" "$dir/authorized_keys"
	chmod 600 "$dir/authorized_keys"

	# Without a fixed port, pick a random high one; retry if sshd loses a bind
	# race to another process between our check and its listen().
	for _ in 1 2 3 4 5; do
		if [ "$fixed_port" = 0 ]; then
			port=$((22000 + RANDOM % 10000))
			if port_in_use "$port"; then continue; fi
		fi
		write_configs "$dir" "$port"
		"$SSHD" -t -f "$dir/sshd_config" 2> "$dir/sshd.log" \
			|| die "invalid sshd config: $(tail -n1 "$dir/sshd.log")"
		# Close stdio so callers like bats or $(...) do not wait on sshd's fds.
		"$SSHD" -D -f "$dir/sshd_config" -E "$dir/sshd.log" < /dev/null > /dev/null 2>&1 &
		pid=$!
		sleep 0.2
		if alive "$pid"; then break; fi
		wait "$pid" 2> /dev/null || true
		pid=''
		if [ "$fixed_port" = 1 ]; then break; fi
	done
	[ -n "$pid" ] || die "sshd failed to start: $(tail -n1 "$dir/sshd.log" 2>/dev/null)"

	# The first successful login also leaves the ControlMaster running.
	deadline=$((SECONDS + 15))
	until ssh -F "$dir/ssh_config" "$HOST" true < /dev/null > /dev/null 2>&1; do
		if ! alive "$pid"; then
			do_stop "$dir"
			die "sshd exited: $(tail -n1 "$dir/sshd.log" 2>/dev/null)"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			do_stop "$dir"
			kill -TERM "$pid" 2> /dev/null || true  # in case the pid file never appeared
			die "ssh to 127.0.0.1:$port still failing after 15 s (see $dir/sshd.log)"
		fi
		sleep 0.2
	done
}

[ $# -ge 2 ] || usage
case $1 in
start)
	[ $# -le 3 ] || usage
	do_start "$2" "${3:-}"
	;;
stop)
	[ $# -eq 2 ] || usage
	[ -d "$2" ] || exit 0  # nothing left to stop
	do_stop "$(cd "$2" && pwd -P)"
	;;
*) usage ;;
esac
