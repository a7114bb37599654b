#!/usr/bin/env bash
# Installs what netlens and its tests need on a fresh Debian machine (run as root).
# Idempotent and quick when everything is already there.
set -euo pipefail

packages=(
  iproute2              # ip, used by tests to build topologies behind netlens' back
  iptables              # iptables-nft and iptables-legacy (+ -save)
  nftables              # nft -j list ruleset
  containernetworking-plugins  # real CNI bridge + host-local for the CNI test
  dnsmasq-base          # a real DNS server inside a test namespace
  iputils-ping          # ping across lab namespaces
  socat                 # listeners with a known owning process (tests/snapshot/)
  util-linux            # unshare, setpriv, findmnt
  tmux                  # end-to-end TUI tests
  tcpdump               # reads the pcap files netlens capture writes (and the capture benchmark)
  procps
  # tests/cni/runtime_podman.rs: a real podman, offline (netavark and CNI backends), its
  # containers built from busybox-static, probed with curl
  podman netavark aardvark-dns runc busybox-static curl
  docker.io             # the same file's docker test: its own dockerd inside the test world
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  # Packages must not start services on the machine (docker.io would start a dockerd that
  # rewrites the host's iptables): tests start their own daemons inside throwaway worlds.
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard"
    chmod 755 "$guard"
    trap 'rm -f "$guard"' EXIT
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ -z "$guard" ] || { rm -f "$guard"; trap - EXIT; }
fi

command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (rustup) first" >&2; exit 1; }
