#!/usr/bin/env bash
# TUI start-to-first-frame and idle CPU on a 200-namespace world (root). Run from the repo:
#   cargo build --release && unshare --net --mount --pid --fork --mount-proc --propagation private bash tests/bench/tui_idle.sh
# Everything it creates lives in that throwaway world.
set -eu
mount -t tmpfs tmpfs /run; ip link set lo up
ip link add cni0 type bridge; ip link set cni0 up
for i in $(seq 0 199); do ip netns add pod$i; echo "link add veth$i type veth peer name eth0 netns pod$i"; echo "link set veth$i master cni0 up"; done > /tmp/b.txt
ip -force -batch /tmp/b.txt
for i in $(seq 0 199); do ip -n pod$i link set eth0 up; done
sleep 2
start=$(date +%s%N)
tmux -L idle new-session -d -x 160 -y 50 "./target/release/netlens"
while ! tmux -L idle capture-pane -p | grep -q "pod1 ("; do sleep 0.01; done
end=$(date +%s%N)
echo "first frame with namespaces: $(( (end-start)/1000000 )) ms"
sleep 5
pid=$(pgrep -f "target/release/netlens" | head -1)
a=$(awk '{print $14+$15}' /proc/$pid/stat); sleep 10; b=$(awk '{print $14+$15}' /proc/$pid/stat)
echo "idle CPU over 10 s: $((b-a)) ticks (of $((10*$(getconf CLK_TCK)))) "
tmux -L idle kill-server
