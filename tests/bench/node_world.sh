#!/usr/bin/env bash
# A world shaped like a Kubernetes node, for the benchmarks (snapshot, doctor, live, capture).
# Real kernel objects, not a synthetic snapshot: N pod namespaces named like CNI names them
# (cni-<uuid>) on bridge cni0 (cni1, … past 1000 pods: a bridge takes 1024 ports), each with eth0 (an IPv4 /24 address, the kernel's own IPv6
# link-local — DAD and router solicitations left on, their chatter is part of the point) and a
# default route via the bridge; a node NIC (a veth to namespace "uplink" standing in for the LAN)
# with a default route and routes to other nodes' pod ranges; ip_forward on; kube-proxy-sized
# iptables (≈500 services, ≈5,500 nat rules in KUBE-SERVICES / KUBE-SVC-* / KUBE-SEP-* with DNAT
# and MASQUERADE, loaded by one iptables-restore) and filter rules; /etc/netns/<pod>/resolv.conf
# with the cluster's search domains and ndots:5; listening sockets in every 4th pod and on the
# host (one python3 process holds them all, see node_listeners.py).
#
# Everything lives in a throwaway net+mount+pid namespace and dies with it:
#   tests/bench/node_world.sh run N [CMD ARGS...]  # unshare a world, build N pods, run CMD in it
#                                                  # (default: an interactive bash); exit = gone
# Inside a world that is already unshared (NETLENS_WORLD=1, /run and /etc/netns on tmpfs — `run`
# does that), e.g. from a Rust bench that unshared itself:
#   tests/bench/node_world.sh mounts               # tmpfs on /run and /etc/netns (once)
#   tests/bench/node_world.sh build N              # host side + pods 0..N-1 + listeners
#   tests/bench/node_world.sh pods FROM TO         # add pods FROM..TO-1 (grow a built world)
#   tests/bench/node_world.sh del-pods FROM TO     # remove them
#   tests/bench/node_world.sh name I               # the namespace name of pod I
# Or `source tests/bench/node_world.sh` and call the nw_* functions.
# Environment: NODE_SERVICES (500), NODE_LISTEN_EVERY (4), NODE_JOBS (parallel `ip -n` jobs, 4).
# The machine is never touched: every command that builds refuses to run unless NETLENS_WORLD=1
# and (for the host side) the current network namespace holds nothing but lo.

NW_DIR=${NW_DIR:-/run/node-world}
NW_SELF=$(readlink -f "${BASH_SOURCE[0]}")

nw_die() { echo "node_world: $*" >&2; exit 2; }

nw_guard() {
    [ "${NETLENS_WORLD:-}" = 1 ] || nw_die "refusing to build outside a throwaway world (use: $0 run N)"
}

# Pod I's names: a CNI-style namespace, a CNI-style host veth, its /24 and host number.
nw_name() { printf 'cni-%08x-5a1e-4b0d-9c3f-%012x\n' "$(( $1 * 2654435761 % 4294967296 ))" "$1"; }
nw_veth() { printf 'veth%08x' "$(( $1 * 2246822519 % 4294967296 ))"; }
nw_subnet() { echo $(( $1 / 250 )); }
nw_host() { echo $(( 2 + $1 % 250 )); }
# The kernel caps a bridge at 1024 ports (BR_MAX_PORTS, "Exchange full"): 1000 pods a bridge,
# cni0, cni1, … (a node has one; the 3000-pod world stands for the density, not the wiring).
nw_bridge() { echo "cni$(( $1 / 1000 ))"; }

nw_mounts() {
    nw_guard
    mount --make-rprivate /
    mount -t tmpfs tmpfs /run
    mkdir -p /run/netns "$NW_DIR"
    # The mount point must exist; a fresh machine may have no /etc/netns (iproute2 makes it
    # only when asked). An empty directory, on the machine's own /etc: nothing else is written.
    mkdir -p /etc/netns
    mount -t tmpfs -o mode=0755 tmpfs /etc/netns
}

# The host side: bridge, node NIC and uplink, routes, sysctls, firewall.
nw_base() {
    nw_guard
    [ "$(ip -o link show | wc -l)" = 1 ] || nw_die "this network namespace is not empty"
    mkdir -p "$NW_DIR"
    ip link set lo up
    echo 1 > /proc/sys/net/ipv4/ip_forward
    ip -batch - <<EOF
netns add uplink
link add eth0 type veth peer name eth0 netns uplink
addr add 192.168.50.10/24 dev eth0
link set eth0 up
EOF
    ip -n uplink -batch - <<EOF
link set lo up
addr add 192.168.50.1/24 dev eth0
link set eth0 up
EOF
    ip route add default via 192.168.50.1 dev eth0
    # Other nodes' pod ranges, as a host-gw / flannel-style CNI installs them.
    for k in $(seq 0 49); do
        echo "route add 10.244.$(( 200 + k )).0/24 via 192.168.50.$(( 20 + k )) dev eth0 onlink"
    done | ip -batch -
    nw_iptables | iptables-restore
}

# The bridges pods FROM..TO-1 need, and a gateway address for every /24 they use (one /24 per
# 250 pods, on the bridge of those pods).
nw_gateways() {
    local k br
    for k in $(seq "$(nw_subnet "$1")" "$(nw_subnet $(( $2 - 1 )))"); do
        br=$(nw_bridge $(( k * 250 )))
        ip link show "$br" > /dev/null 2>&1 || { ip link add "$br" type bridge && ip link set "$br" up; }
        # Not `grep -q`: it exits at the first match, `ip` (one write per address) then dies of
        # SIGPIPE, and pipefail calls the address missing ("Address already assigned").
        ip addr show dev "$br" | grep -F "10.244.$k.1/" > /dev/null || ip addr add "10.244.$k.1/24" dev "$br"
    done
}

nw_pod_config() { # pod index -> its `ip -n NS -batch` lines
    echo "link set lo up"
    echo "link set eth0 up"
    echo "addr add 10.244.$(nw_subnet "$1").$(nw_host "$1")/24 dev eth0"
    echo "route add default via 10.244.$(nw_subnet "$1").1 dev eth0"
}

nw_resolv() {
    local d="/etc/netns/$1"
    mkdir -p "$d"
    printf 'search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n' > "$d/resolv.conf"
}

nw_pods() { # FROM TO
    nw_guard
    local from=$1 to=$2 i
    [ "$to" -gt "$from" ] || return 0
    ip link show eth0 > /dev/null 2>&1 || nw_die "no node NIC: build the host side first"
    nw_gateways "$from" "$to"
    for i in $(seq "$from" $(( to - 1 ))); do echo "netns add $(nw_name "$i")"; done | ip -batch -
    for i in $(seq "$from" $(( to - 1 ))); do
        echo "link add $(nw_veth "$i") type veth peer name eth0 netns $(nw_name "$i")"
        echo "link set $(nw_veth "$i") master $(nw_bridge "$i") up"
    done | ip -batch -
    # `ip -batch` lines cannot change namespace: one `ip -n NS -batch` per pod, a few at once.
    for i in $(seq "$from" $(( to - 1 ))); do echo "$i"; done |
        xargs -P "${NODE_JOBS:-4}" -n 50 bash -c 'source "$0"; for i; do nw_pod_config "$i" | ip -n "$(nw_name "$i")" -batch - || exit 1; done' "$NW_SELF"
    for i in $(seq "$from" $(( to - 1 ))); do nw_resolv "$(nw_name "$i")"; done
}

nw_del_pods() { # FROM TO
    nw_guard
    local i
    for i in $(seq "$1" $(( $2 - 1 ))); do echo "netns del $(nw_name "$i")"; done | ip -batch -
    for i in $(seq "$1" $(( $2 - 1 ))); do rm -rf "/etc/netns/$(nw_name "$i")"; done
}

# Listening sockets: one python3 process enters every NODE_LISTEN_EVERY-th pod and listens there.
nw_listeners() { # TO
    nw_guard
    [ -f "$NW_DIR/listeners.pid" ] && kill "$(cat "$NW_DIR/listeners.pid")" 2> /dev/null
    local ready="$NW_DIR/listeners.ready"
    rm -f "$ready"
    python3 "$(dirname "$NW_SELF")/node_listeners.py" "$1" "${NODE_LISTEN_EVERY:-4}" "$ready" "$NW_SELF" &
    echo $! > "$NW_DIR/listeners.pid"
    while [ ! -e "$ready" ]; do
        kill -0 "$(cat "$NW_DIR/listeners.pid")" 2> /dev/null || nw_die "listener helper died"
        sleep 0.05
    done
}

nw_build() { # N
    local t0=$SECONDS
    nw_base
    nw_pods 0 "$1"
    nw_listeners "$1"
    echo "node_world: built $1 pods in $(( SECONDS - t0 )) s" >&2
}

# shellcheck source=node_world_iptables.sh
source "$(dirname "$NW_SELF")/node_world_iptables.sh"

nw_main() {
    case "${1:-}" in
        run)
            local n=${2:?pods}
            shift 2
            exec unshare --net --mount --pid --fork --mount-proc --propagation private -- \
                env NETLENS_WORLD=1 bash "$NW_SELF" __inside "$n" "$@"
            ;;
        __inside)
            local n=$2
            shift 2
            nw_mounts
            nw_build "$n"
            if [ $# -eq 0 ]; then bash -i; else "$@"; fi
            ;;
        mounts) nw_mounts ;;
        build) nw_build "${2:?pods}" ;;
        pods) nw_pods "${2:?from}" "${3:?to}" ;;
        del-pods) nw_del_pods "${2:?from}" "${3:?to}" ;;
        listeners) nw_listeners "${2:?pods}" ;;
        name) nw_name "${2:?index}" ;;
        iptables) nw_iptables ;;
        *) sed -n '2,26p' "$NW_SELF" >&2; exit 2 ;;
    esac
}

# Sourced (`return` works only then): define the functions and stop; run: dispatch.
if ! (return 0 2> /dev/null); then
    set -euo pipefail
    nw_main "$@"
fi
