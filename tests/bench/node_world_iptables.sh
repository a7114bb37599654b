# Sourced by node_world.sh: a kube-proxy (iptables mode) ruleset the size of a busy node, in
# iptables-restore format, shaped like tests/samples/iptables/kube-proxy/*. NODE_SERVICES
# services (500) with 3 endpoints each: per service one KUBE-SERVICES jump, a KUBE-SVC chain
# (mark for masquerade + 3 statistic jumps) and 3 KUBE-SEP chains (mark + DNAT) — 11 nat rules a
# service, ≈5,500 in all; every 10th service a NodePort; 20 services without endpoints rejected
# in the filter table. Endpoints are pod addresses of this world (10.244.0-3.x).

nw_iptables() {
    awk -v n="${NODE_SERVICES:-500}" '
    function svc(i) { return sprintf("KUBE-SVC-%016X", i * 2654435761 % 4294967296 * 7919 + i) }
    function sep(i, e) { return sprintf("KUBE-SEP-%016X", (i * 3 + e) * 2246822519 % 4294967296 * 104729 + i) }
    function cip(i) { return sprintf("10.96.%d.%d", int(i / 200), 10 + i % 200) }
    function ep(i, e) { k = (i * 3 + e) % 1000; return sprintf("10.244.%d.%d", int(k / 250), 2 + k % 250) }
    BEGIN {
        print "*filter"
        print ":INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]"
        print ":KUBE-FIREWALL - [0:0]\n:KUBE-FORWARD - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-SERVICES - [0:0]"
        print "-A INPUT -m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS"
        print "-A INPUT -j KUBE-FIREWALL"
        print "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"
        print "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        print "-A FORWARD -s 10.244.0.0/16 -j ACCEPT\n-A FORWARD -d 10.244.0.0/16 -j ACCEPT"
        print "-A OUTPUT -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        print "-A OUTPUT -j KUBE-FIREWALL"
        print "-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment \"block incoming localnet connections\" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
        print "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"
        print "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT"
        print "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
        for (i = n; i < n + 20; i++)
            printf "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"ns%d/svc%d:http has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable\n", cip(i), i, i
        print "COMMIT"
        print "*nat"
        print ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]"
        print ":KUBE-MARK-MASQ - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-SERVICES - [0:0]"
        for (i = 0; i < n; i++) {
            print ":" svc(i) " - [0:0]"
            for (e = 0; e < 3; e++) print ":" sep(i, e) " - [0:0]"
        }
        print "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        print "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
        print "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
        print "-A POSTROUTING -s 10.244.0.0/16 ! -o cni0 -j MASQUERADE"
        print "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
        print "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
        print "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0"
        print "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"
        for (i = 0; i < n; i++) {
            c = sprintf("ns%d/svc%d:http", i % 37, i)
            printf "-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment \"%s cluster IP\" -m tcp --dport 80 -j %s\n", cip(i), c, svc(i)
            if (i % 10 == 0)
                printf "-A KUBE-NODEPORTS -p tcp -m comment --comment \"%s\" -m tcp --dport %d -j %s\n", c, 30000 + i, svc(i)
            printf "-A %s ! -s 10.244.0.0/16 -d %s/32 -p tcp -m comment --comment \"%s cluster IP\" -m tcp --dport 80 -j KUBE-MARK-MASQ\n", svc(i), cip(i), c
            printf "-A %s -m comment --comment \"%s -> %s:8080\" -m statistic --mode random --probability 0.33333333349 -j %s\n", svc(i), c, ep(i, 0), sep(i, 0)
            printf "-A %s -m comment --comment \"%s -> %s:8080\" -m statistic --mode random --probability 0.50000000000 -j %s\n", svc(i), c, ep(i, 1), sep(i, 1)
            printf "-A %s -m comment --comment \"%s -> %s:8080\" -j %s\n", svc(i), c, ep(i, 2), sep(i, 2)
            for (e = 0; e < 3; e++) {
                printf "-A %s -s %s/32 -m comment --comment \"%s\" -j KUBE-MARK-MASQ\n", sep(i, e), ep(i, e), c
                printf "-A %s -p tcp -m comment --comment \"%s\" -m tcp -j DNAT --to-destination %s:8080\n", sep(i, e), c, ep(i, e)
            }
        }
        print "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"
        print "COMMIT"
    }'
}
