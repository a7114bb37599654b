#!/bin/sh
# The by-hand whole snapshot of one network namespace, for `cargo bench --bench snapshot`:
# what `netlens snapshot --json` reads there, read the cheapest way a careful person would.
# Run inside the namespace (`nsenter --net=/run/netns/NS sh snapshot_whole.sh NS BATCH`, or
# `sh snapshot_whole.sh host BATCH` for the host); BATCH lists link, addr, route table all,
# neigh and rule. dash, as /bin/sh is on Debian: the cheapest shell to start. Read-only.
ns=$1
ip -j -batch "$2"
# Only the tools for the tables that exist, as netlens does: iptables-nft's tables through
# iptables-save (nft shows their rules as opaque xt blobs), every other table through nft.
xt4=
xt6=
tables=$(nft list tables)
while read -r _ fam name; do
    case "$fam $name" in
    "ip filter" | "ip nat" | "ip mangle" | "ip raw" | "ip security") xt4=1 ;;
    "ip6 filter" | "ip6 nat" | "ip6 mangle" | "ip6 raw" | "ip6 security") xt6=1 ;;
    " ") ;;
    *) nft -j list table "$fam" "$name" ;;
    esac
done << END
$tables
END
[ -n "$xt4" ] && iptables-save -c
[ -n "$xt6" ] && ip6tables-save -c
# Legacy tables: listed by name in /proc (its files report size 0: read a line to know).
[ -r /proc/self/net/ip_tables_names ] && read -r _ < /proc/self/net/ip_tables_names &&
    iptables-legacy-save -c
[ -r /proc/self/net/ip6_tables_names ] && read -r _ < /proc/self/net/ip6_tables_names &&
    ip6tables-legacy-save -c
# Listeners and the processes holding them.
ss -Htulnp
# The sysctls netlens reports in every namespace, with the shell's own `read` (no process).
for f in /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv6/conf/all/forwarding \
    /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/netfilter/nf_conntrack_count \
    /proc/sys/net/netfilter/nf_conntrack_max; do
    [ -r "$f" ] && read -r v < "$f" && echo "$f $v"
done
# The DNS files the namespace's processes see (`ip netns exec` would bind-mount the override).
d=/etc
[ -f "/etc/netns/$ns/resolv.conf" ] && d=/etc/netns/$ns
cat "$d/resolv.conf" /etc/hosts /etc/nsswitch.conf 2> /dev/null
exit 0
