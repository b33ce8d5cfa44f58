#!/bin/sh
# A podman pod with hako as the runtime: a busybox container serving HTTP on 127.0.0.1:8080
# and a WebAssembly container, sharing the pod's network namespace. See README.md here.
#
# Runs as root. podman's storage, state, events and configuration live in a temporary
# directory (removed at the end, like everything the script creates), so the machine's own
# podman images and containers are untouched.
set -eu

repo=$(cd "$(dirname "$0")/../.." && pwd)
hako=$repo/bin/hako
image=localhost/hako-mixed-pod:example
pod=hako-mixed-pod
# The pod's cgroup (cgroupfs manager) and its containers' go below this parent.
cgroup_parent=/hako-mixed-pod
# Short: podman refuses a runroot path longer than 50 characters.
work=$(mktemp -d "${TMPDIR:-/tmp}/hako-pod.XXXXXX")

say() { printf '\n== %s\n' "$*"; }

# podman with hako as its runtime. CONTAINERS_CONF gives every container, the pod's infra
# container too, the settings below; --root and --runroot keep images and containers in $work.
pm() {
	CONTAINERS_CONF=$work/containers.conf podman --runtime "$hako" \
		--root "$work/storage" --runroot "$work/run" "$@"
}

cleanup() {
	status=$?
	set +e
	pm pod rm --force --time 0 "$pod" >/dev/null 2>&1
	pm rm --all --force --time 0 >/dev/null 2>&1
	pm rmi --all --force >/dev/null 2>&1
	# Overlay mounts of the storage can outlive podman's rm by a moment; unmount what is left.
	grep -o " $work[^ ]*" /proc/self/mountinfo | sort -r | while read -r point; do
		umount -l "$point"
	done
	rm -rf "$work"
	for dir in /sys/fs/cgroup/*"$cgroup_parent" /sys/fs/cgroup/*/"${cgroup_parent#/}"; do
		[ -d "$dir" ] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: podman with hako needs root here" >&2
	exit 1
fi
for tool in podman conmon node tar; do
	command -v "$tool" >/dev/null || { echo "run.sh: $tool is not installed" >&2; exit 1; }
done

# No systemd or container network on a bare machine: cgroupfs, events to a file, no network
# beyond the pod's loopback, and rlimits within the host's hard limits (podman's default of
# 1048576 open files is above them, and root cannot raise a hard limit here).
cat >"$work/containers.conf" <<EOF
[containers]
netns = "none"
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$work/events.log"
tmp_dir = "$work/libpod-tmp"
runtime_supports_json = ["crun", "runc", "kata", "runsc", "youki", "krun", "hako"]

[network]
network_config_dir = "$work/networks"
EOF

say "an image: a busybox rootfs with hello.wasm built from examples/wasm-hello/hello.wat"
node "$repo/scripts/make-rootfs.mjs" "$work/rootfs"
node "$repo/scripts/wasm-hello.mjs" "$work/rootfs"
tar --numeric-owner -C "$work/rootfs" -cf "$work/image.tar" .
echo "\$ podman import image.tar $image"
pm import --quiet "$work/image.tar" "$image" >/dev/null

say "a pod: its infra container holds the network namespace its containers share"
echo "\$ podman pod create --name $pod --network none"
pm pod create --name "$pod" --network none --cgroup-parent "$cgroup_parent" >/dev/null

say "a busybox container in the pod listens on 127.0.0.1:8080 (busybox httpd)"
echo "\$ podman run -d --pod $pod --name web $image httpd -f -p 127.0.0.1:8080 -h /tmp"
pm run -d --pod "$pod" --name web "$image" httpd -f -p 127.0.0.1:8080 -h /tmp >/dev/null

# The wasm container prints its greeting and its network namespace's TCP sockets
# (/proc/net/tcp, read through WASI), then waits on stdin (-i), so it is still running when
# its namespaces are compared below.
say "a wasm container in the pod (run.oci.handler=wasm) lists the TCP sockets it sees"
echo "\$ podman run -d -i --pod $pod --name wasm --annotation run.oci.handler=wasm \\"
echo "    --env HELLO=pod $image /hello.wasm cat=/proc/net/tcp cat=-"
pm run -d -i --pod "$pod" --name wasm --annotation run.oci.handler=wasm --env HELLO=pod \
	"$image" /hello.wasm cat=/proc/net/tcp cat=- >/dev/null

tries=0
until pm logs wasm 2>/dev/null | grep -q 'local_address'; do
	tries=$((tries + 1))
	if [ "$tries" -gt 100 ]; then
		echo "run.sh: the wasm container printed no socket table:" >&2
		pm logs wasm >&2
		exit 1
	fi
	sleep 0.1
done
echo "\$ podman logs wasm"
pm logs wasm
# 0100007F:1F90 is 127.0.0.1:8080, state 0A is LISTEN.
if pm logs wasm | grep -q ' 0100007F:1F90 00000000:0000 0A '; then
	echo "-> the wasm container sees the busybox server listening on 127.0.0.1:8080"
else
	echo "run.sh: the wasm container does not see the server on 127.0.0.1:8080" >&2
	exit 1
fi

say "the same network namespace, seen from the host"
infra=$(pm pod inspect --format '{{.InfraContainerID}}' "$pod")
for name in infra web wasm; do
	container=$name
	[ "$name" = infra ] && container=$infra
	pid=$(pm inspect --format '{{.State.Pid}}' "$container")
	netns=$(readlink "/proc/$pid/ns/net")
	echo "$name: pid $pid, /proc/$pid/ns/net -> $netns"
	eval "netns_$name=\$netns"
done
if [ "$netns_web" = "$netns_wasm" ] && [ "$netns_infra" = "$netns_wasm" ]; then
	echo "same network namespace: $netns_web"
else
	echo "run.sh: different network namespaces: $netns_infra, $netns_web, $netns_wasm" >&2
	exit 1
fi

# SIGTERM ends the guest, waiting on stdin or not, as it ends a process: status 143 (128 +
# SIGTERM), well before podman's 10 s would run out and SIGKILL it (status 137).
say "podman stop: SIGTERM ends the wasm container's wait on stdin"
echo "\$ podman stop wasm && podman wait wasm"
pm stop wasm >/dev/null
pm wait wasm
