#!/usr/bin/env bash
# Every benchmark, one summary. Root, from anywhere in the repo:
#   tests/bench/all.sh            # full: ≈ 75 min on the loaded 2-core VM, estimated from its
#                                 # parts (snapshot at 200/1000/3000 ≈ 40 min, live at 1000
#                                 # pods 5 rounds ≈ 25 min, render + capture ≈ 3 min)
#   QUICK=1 tests/bench/all.sh    # snapshot 200/1000, live 200 pods 20 s windows: 11 min 35 s
#                                 # measured on main (4 min of it main's first TUI frame), plus
#                                 # ≈ 4 min since the snapshot bench gained its by-hand whole
# Each bench's whole output goes to target/bench-logs/NAME.log; the summary prints each
# figure as median (min–max) over its runs, and the run's total time. Every world a bench builds
# is a throwaway namespace that dies with it; the end checks the machine shows nothing new.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/../.."
export CARGO_INCREMENTAL=0
logs=target/bench-logs
mkdir -p "$logs"
start=$SECONDS
quick=${QUICK:-}
netns_before=$(ip netns list | sort | md5sum)
links_before=$(ip -o link | wc -l)

cargo build --release --bin netlens 2>&1 | tail -1
has_bench() { grep -A1 '^\[\[bench\]\]' Cargo.toml | grep -q "name = \"$1\""; }
summary=()
note() { summary+=("$@"); }

# bench NAME ENV...: cargo bench --bench NAME with ENV, output logged; echoes the log path.
bench() {
    local name=$1
    shift
    echo "== $name ($(date +%T))" >&2
    env "$@" cargo bench --bench "$name" > "$logs/$name.log" 2>&1 ||
        { echo "$name failed, see $logs/$name.log" >&2; tail -5 "$logs/$name.log" >&2; return 1; }
    echo "$logs/$name.log"
}

# Snapshot: its own ≥5 runs per way and size; it prints RESULT lines.
# collect LOG PREFIX: the RESULT lines (and any extra pattern) of a bench's log into the summary.
collect() { mapfile -t -O "${#summary[@]}" summary < <(grep -E "^RESULT${3:+|$3}" "$1" | sed "s/^/$2/"); }

if [ -n "$quick" ]; then
    sizes=(NETLENS_BENCH_NS=200,1000 NETLENS_BENCH_LOOP_MAX=200)
else
    # The by-hand whole snapshot at 3000 pods would add ≈ 15 min: it stops at 1000.
    sizes=(NETLENS_BENCH_NS=200,1000,3000 NETLENS_BENCH_WHOLE_MAX=1000)
fi
if log=$(bench snapshot "${sizes[@]}" NETLENS_BENCH_RUNS=5); then collect "$log" ""; else note "snapshot FAILED"; fi

# Render: one process draws 200 frames per view; run it 5 times and take each view's median
# of medians (its table rows are "| view | median ms | worst ms |").
runs=5
: > "$logs/render.all"
log=
for _ in $(seq $runs); do
    log=$(bench render) || { note "render FAILED"; break; }
    grep -E '^\| [^-].* ms \|$' "$log" | grep -v '^| view' >> "$logs/render.all" || true
done
while IFS= read -r view; do
    note "RESULT render $view: $(grep -F "| $view |" "$logs/render.all" | awk -F'|' '{ print $3 + 0 }' | sort -g |
        awk '{ v[n++] = $1 } END { printf "%.2f ms (%.2f–%.2f) median frame over %d runs", v[int((n - 1) / 2)], v[0], v[n - 1], n }')"
done < <(awk -F'|' '{ gsub(/^ +| +$/, "", $2); print $2 }' "$logs/render.all" | sort -u)
[ -n "${log:-}" ] && collect "$log" "render, last run: " "ms median of"

# Doctor (its own bench, when the tree has one), capture: they print their own spread.
if has_bench doctor; then
    if log=$(bench doctor); then collect "$log" "doctor: " median; else note "doctor FAILED"; fi
fi
if has_bench capture; then
    rounds=$([ -n "$quick" ] && echo 2 || echo 5)
    if log=$(bench capture NETLENS_BENCH_ROUNDS="$rounds"); then
        collect "$log" "capture: " "netlens / tcpdump"
    else
        note "capture FAILED"
    fi
fi

# Live: the release binary in tmux on a node world.
echo "== live ($(date +%T))" >&2
if [ -n "$quick" ]; then
    PODS=200 SETTLE=10 WINDOW=20 ROUNDS=1 FLAPS=5 tests/bench/live.sh > "$logs/live.log" 2>&1
else
    PODS=1000 SETTLE=20 WINDOW=60 ROUNDS=5 FLAPS=20 tests/bench/live.sh > "$logs/live.log" 2>&1
fi || { note "live FAILED, see $logs/live.log"; tail -5 "$logs/live.log" >&2; }
collect "$logs/live.log" ""

echo
echo "=== summary ($(date -u +%FT%TZ), ${quick:+QUICK, }$(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s; logs in $logs)"
printf '%s\n' "${summary[@]}" | sed 's/^RESULT //'
[ "$(ip netns list | sort | md5sum)" = "$netns_before" ] || echo "WARNING: ip netns list changed"
[ "$(ip -o link | wc -l)" = "$links_before" ] || echo "WARNING: the machine's links changed"
