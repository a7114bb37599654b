#!/usr/bin/env bash
# Live TUI cost on a node-shaped world (tests/bench/node_world.sh), root, from the repo:
#   cargo build --release && tests/bench/live.sh
#   PODS=1000 SETTLE=20 WINDOW=60 ROUNDS=1 FLAPS=20 BIN=target/release/netlens tests/bench/live.sh
# (FIRST_FRAME_TIMEOUT=300 s; NODE_SERVICES etc. pass through to node_world.sh; PERF_DIR=DIR
# records `perf record -g` of netlens during each window into DIR/NAME.data — perf's own cost
# is not in netlens' ticks, but its sampling slows netlens a little: profile, don't measure)
# The release binary runs in tmux (own -L socket) inside a throwaway world; after SETTLE s, each
# round measures three WINDOW-s windows:
#   idle   nothing but the kernel's own chatter (IPv6 DAD / router solicitations / MLD,
#          neighbour state changes), counted with `ip -o monitor all` in the host and in 10 pods
#          (the pods' count is scaled to all pods, marked ~);
#   churn  10 pod creations + 10 deletions a second (netns + veth on the bridge + address + route
#          by `ip -batch`, deleted 1 s later), the achieved rate printed;
#   flap   pod 0's host-side veth down and up again every 100 ms.
# CPU is utime+stime of netlens from /proc/PID/stat (all its threads) as % of one core, with the
# clock ticks it is made of; a figure under 20 ticks has a tick worth over 5% of it (marked !).
# Then latency, FLAPS times: from just before `ip link set V down` (and up) until the host's
# Links table on the tmux screen shows V's row DOWN (UP), polling `tmux capture-pane` every
# ~10 ms; median and worst. V is pod 0's host veth, created first, so its row is near the top of
# the host's Links table, which the TUI shows on start.
# Lines starting with RESULT are the summary tests/bench/all.sh collects.
set -euo pipefail
here=$(dirname "$(readlink -f "$0")")
if [ "${1:-}" != __inside ]; then
    BIN=$(readlink -f "${BIN:-target/release/netlens}")
    [ -x "$BIN" ] || { echo "live.sh: no $BIN (cargo build --release first)" >&2; exit 2; }
    export BIN
    exec "$here/node_world.sh" run "${PODS:-1000}" bash "$here/live.sh" __inside
fi

# shellcheck source=node_world.sh
source "$here/node_world.sh"
PODS=${PODS:-1000} SETTLE=${SETTLE:-20} WINDOW=${WINDOW:-60} ROUNDS=${ROUNDS:-1} FLAPS=${FLAPS:-20}
HZ=$(getconf CLK_TCK)
# Not by $$ alone: inside the world's pid namespace two benches run at once get the same
# small pid, and one's cleanup killed the other's tmux server (netlens "vanished" mid-run).
SOCK=netlens-live-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
OUT=$NW_DIR/live
mkdir -p "$OUT"
bg=()
cleanup() {
    for p in "${bg[@]}"; do kill "$p" 2> /dev/null || true; done
    tmux -L "$SOCK" kill-server 2> /dev/null || true
    rm -f "/tmp/tmux-$(id -u)/$SOCK"
}
trap cleanup EXIT

ticks() { # utime+stime of a pid, all threads; the fields after the ")" of comm
    local s
    s=$(< "/proc/$1/stat")
    s=${s##*) }
    awk '{ print $12 + $13 }' <<< "$s"
}
events() { cat "$OUT"/mon.* | wc -l; }

# Event counters: the host, and 10 pods spread over the node (not pod 0, whose veth flaps).
ip -o monitor all > "$OUT/mon.host" 2>&1 &
bg+=($!)
for k in $(seq 0 9); do
    ip -n "$(nw_name $(( k * PODS / 10 + 1 )))" -o monitor all > "$OUT/mon.pod$k" 2>&1 &
    bg+=($!)
done
host_events() { wc -l < "$OUT/mon.host"; }
pod_events() { cat "$OUT"/mon.pod* | wc -l; }

tmux -L "$SOCK" new-session -d -x 200 -y 50 "exec $BIN 2> $OUT/netlens.stderr"
PID=$(tmux -L "$SOCK" display -p '#{pane_pid}')
screen() { tmux -L "$SOCK" capture-pane -p; }
VETH=$(nw_veth 0)
t0=$EPOCHREALTIME
until screen | grep -q " $VETH "; do
    kill -0 "$PID" || { echo "netlens exited: $(tail -5 "$OUT/netlens.stderr")" >&2; exit 1; }
    if awk -v a="$t0" -v b="$EPOCHREALTIME" -v m="${FIRST_FRAME_TIMEOUT:-300}" 'BEGIN{exit !(b - a > m)}'; then
        echo "live: $VETH not on screen after ${FIRST_FRAME_TIMEOUT:-300} s; the screen:" >&2
        screen >&2
        exit 1
    fi
    sleep 0.05
done
echo "live: $PODS pods; first frame showing $VETH after $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f", (b-a)*1000}') ms; settling ${SETTLE}s"
sleep "$SETTLE"

# Background load for a window; each loop counts what it did in a file.
# at_tick NEXT: sleeps until NEXT (µs since the epoch), then prints NEXT + 50 ms, so a loop
# keeps its rate whatever its commands cost (bash arithmetic: the loop must stay cheap).
at_tick() {
    local d=$(( $1 - ${EPOCHREALTIME/./} ))
    [ $d -gt 0 ] && sleep "$(printf '%d.%06d' $(( d / 1000000 )) $(( d % 1000000 )))"
    echo $(( $1 + 50000 ))
}
churn() {
    local br j=0 next=${EPOCHREALTIME/./} ns v
    br=$(nw_bridge "$PODS")
    ip link show "$br" > /dev/null 2>&1 || { ip link add "$br" type bridge; ip link set "$br" up; }
    ip addr add 10.244.254.1/24 dev "$br" 2> /dev/null || true
    while :; do
        ns=$(nw_name $(( 1000000 + j ))) v=$(nw_veth $(( 1000000 + j )))
        printf 'netns add %s\nlink add %s type veth peer name eth0 netns %s\nlink set %s master %s up\n' \
            "$ns" "$v" "$ns" "$v" "$br" | ip -batch - > /dev/null || echo x >> "$OUT/churn.fail"
        printf 'link set lo up\nlink set eth0 up\naddr add 10.244.254.%d/24 dev eth0\nroute add default via 10.244.254.1\n' \
            $(( 2 + j % 200 )) | ip -n "$ns" -batch - > /dev/null || echo x >> "$OUT/churn.fail"
        if [ $j -ge 10 ]; then ip netns del "$(nw_name $(( 1000000 + j - 10 )))" || echo x >> "$OUT/churn.fail"; fi
        j=$(( j + 1 ))
        echo "$j" > "$OUT/churn.count"
        next=$(at_tick "$next")
        next=$(at_tick "$next")
    done
}
flap() {
    local j=0 next=${EPOCHREALTIME/./}
    while :; do
        ip link set "$VETH" down || true
        next=$(at_tick "$next")
        ip link set "$VETH" up || true
        next=$(at_tick "$next")
        j=$(( j + 1 ))
        echo "$j" > "$OUT/flap.count"
    done
}

# window NAME [LOAD]: prints one line and appends "NAME pct ticks" to $OUT/results.
window() {
    local name=$1 load=${2:-} lp=
    echo 0 > "$OUT/$name.count"
    rm -f "$OUT/$name.fail"
    if [ -n "$load" ]; then $load & lp=$!; fi
    local h0 p0 a b
    local pp=
    if [ -n "${PERF_DIR:-}" ]; then
        perf record -q -F 499 -g -p "$PID" -o "$PERF_DIR/$name.data" > /dev/null 2>&1 & pp=$!
    fi
    h0=$(host_events) p0=$(pod_events) a=$(ticks "$PID")
    sleep "$WINDOW"
    b=$(ticks "$PID")
    [ -n "$pp" ] && { kill -INT "$pp"; wait "$pp" 2> /dev/null || true; }
    local h=$(( $(host_events) - h0 )) p=$(( $(pod_events) - p0 ))
    [ -n "$lp" ] && { kill "$lp"; wait "$lp" 2> /dev/null || true; }
    local t=$(( b - a ))
    local pct
    pct=$(awk -v t="$t" -v w="$WINDOW" -v hz="$HZ" 'BEGIN{printf "%.2f", 100 * t / (w * hz)}')
    local note=""
    [ "$t" -lt 20 ] && note=" ! under 20 ticks: lengthen WINDOW"
    [ -f "$OUT/$name.fail" ] && note+=" ($(wc -l < "$OUT/$name.fail") commands failed)"
    printf '%-6s %6s%% of a core (%d ticks in %d s)  events: host %d, pods ~%d  done: %s%s\n' \
        "$name" "$pct" "$t" "$WINDOW" "$h" $(( p * PODS / 10 )) "$(cat "$OUT/$name.count")" "$note"
    echo "$name $pct $t" >> "$OUT/results"
    kill -0 "$PID" || { echo "netlens died during $name" >&2; exit 1; }
}

for r in $(seq 1 "$ROUNDS"); do
    echo "round $r:"
    window idle
    window churn churn
    # Remove what churn left (its last 10 pods) and let the node settle again.
    for ns in $(ip netns list | awk '/-5a1e-4b0d-9c3f-0000000f/ {print $1}'); do ip netns del "$ns"; done
    sleep 5
    window flap flap
    ip link set "$VETH" up
    sleep 5
done

# Latency: down and up, FLAPS times each.
row_is() { screen | grep " $VETH " | grep -q " $1 "; }
lat() { # STATE: ms from now until the row shows STATE (10 s at most)
    local s=$EPOCHREALTIME
    ip link set "$VETH" "$(tr '[:upper:]' '[:lower:]' <<< "$1")"
    local end=$(( ${EPOCHREALTIME/./} + 10000000 ))
    until row_is "$1"; do
        [ "${EPOCHREALTIME/./}" -lt "$end" ] || { echo 10000; return; }
        sleep 0.01
    done
    awk -v a="$s" -v b="$EPOCHREALTIME" 'BEGIN{printf "%.0f\n", (b-a)*1000}'
}
# shows STATE: waits (30 s at most) until the row shows STATE, so that a change that was never
# drawn does not make the next one look instant.
shows() {
    local end=$(( ${EPOCHREALTIME/./} + 30000000 ))
    until row_is "$1"; do [ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1; sleep 0.05; done
}
: >> "$OUT/lat"
for _ in $(seq 1 "$FLAPS"); do
    shows UP || break
    echo "down $(lat DOWN)" >> "$OUT/lat"
    shows DOWN || break
    sleep 1
    echo "up $(lat UP)" >> "$OUT/lat"
    sleep 1
done

echo
summary() { # KIND FILE FIELD: median (min–max) of the values of rows starting with KIND
    awk -v k="$1" -v f="$3" '$1 == k { print $f }' "$2" | sort -g |
        awk '{ v[n++] = $1 } END { if (n) printf "%s (%s–%s)", v[int((n - 1) / 2)], v[0], v[n - 1] }'
}
for w in idle churn flap; do
    echo "RESULT live pods=$PODS $w: $(summary "$w" "$OUT/results" 2)% of a core, ticks $(summary "$w" "$OUT/results" 3) per ${WINDOW} s, $ROUNDS round(s)"
done
for s in down up; do
    echo "RESULT live pods=$PODS latency $s: $(summary "$s" "$OUT/lat" 2) ms median (min–max) over $(grep -c "^$s " "$OUT/lat") (10000 = not on screen within 10 s)"
done
