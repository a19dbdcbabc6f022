#!/usr/bin/env bash
# gpuscale load against wrk on the same small server, in one run, plus the streaming-concurrency
# and send-lag figures of DESIGN.md §7; the send lag twice, at normal priority and with
# --realtime-sends (which needs root or CAP_SYS_NICE and otherwise falls back).
# Usage (after building gpuscale and load_bench_server):
#   bench/load_vs_wrk.sh [BUILD_DIR=build/release] [SECONDS=10] [CONNECTIONS=64] [STREAMS=10000]
set -euo pipefail
build=${1:-build/release}
secs=${2:-10}
conns=${3:-64}
streams=${4:-10000}
gpuscale="$build/apps/gpuscale/gpuscale"
server_bin="$build/bench/load_bench_server"
for b in "$gpuscale" "$server_bin"; do [ -x "$b" ] || { echo "missing $b (build it first)" >&2; exit 2; }; done
command -v wrk >/dev/null || { echo "wrk not installed (Debian package wrk)" >&2; exit 2; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

start_server() {  # args for load_bench_server; sets $port
  "$server_bin" "$@" >"$work/server.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    port=$(sed -n 's/^port //p' "$work/server.out")
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "server did not start" >&2; exit 1
}
field() {  # field NAME FILE: a top-level summary number from a gpuscale JSON report
  python3 -c "import json,sys; s=json.load(open(sys.argv[2]))['summary']; k=sys.argv[1].split('.'); v=s
for x in k: v=v[x]
print(v)" "$1" "$2"
}

echo "== request rate, $conns connections, ${secs}s each, 1 server thread, 1 client thread"
start_server --threads 1
url="http://127.0.0.1:$port/v1/completions"
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"m","prompt":"the and for you are was but not","max_tokens":1}'
wrk.headers["Content-Type"] = "application/json"
LUA
wrk_out=$(wrk -t1 -c"$conns" -d"${secs}s" -s "$work/post.lua" "$url")
wrk_rps=$(echo "$wrk_out" | sed -n 's/^Requests\/sec: *//p')
"$gpuscale" load run --url "$url" --api completions --no-stream --prompt-tokens 8 --max-tokens 1 \
  --concurrency "$conns" --duration "${secs}s" --progress off --json "$work/rate.json" >/dev/null
gs_rps=$(field request_rate "$work/rate.json")
gs_failed=$(field failed "$work/rate.json")
echo "wrk:           $wrk_rps req/s"
echo "gpuscale load: $gs_rps req/s ($gs_failed failed)"
python3 -c "print('ratio gpuscale/wrk: %.2f' % ($gs_rps / $wrk_rps))"

for mode in normal realtime; do
  extra=()
  [ "$mode" = realtime ] && extra=(--realtime-sends)
  echo "== send lag at 1000 req/s (open loop, constant), ${secs}s, send thread: $mode"
  "$gpuscale" load run --url "$url" --api completions --no-stream --prompt-tokens 8 --max-tokens 1 \
    --rate 1000 --duration "${secs}s" --progress off "${extra[@]}" --json "$work/lag.json" >/dev/null
  python3 -c "import json; r=json.load(open('$work/lag.json')); s=r['summary']; l=s['send_lag_s']
rt=r.get('settings', {}).get('send thread', 'normal priority')
print('sent %d, succeeded %d; send lag p50 %.3f ms, p99 %.3f ms, max %.3f ms (%s)' % (s['requests'], s['succeeded'], l['p50']*1e3, l['p99']*1e3, l['max']*1e3, rt))"
done

echo "== streaming concurrency: $streams streams of 20 tokens 100 ms apart, 2 server threads"
kill "${pids[0]}"; pids=()
start_server --threads 2 --tokens 20 --interval-ms 100
url="http://127.0.0.1:$port/v1/chat/completions"
"$gpuscale" load run --url "$url" --stream --prompt-tokens 8 --max-tokens 20 \
  --concurrency "$streams" --duration "${secs}s" --timeout 30s --progress off \
  --json "$work/stream.json" >/dev/null
python3 -c "import json; r=json.load(open('$work/stream.json')); s=r['summary']
peak=max(i['in_flight'] for i in r['series'])
print('streams in flight (peak per-second sample): %d; %d ok, %d failed; %.0f tokens/s; ITL p50 %.1f ms p99 %.1f ms' % (peak, s['succeeded'], s['failed'], s['output_token_rate'], s['itl_s']['p50']*1e3, s['itl_s']['p99']*1e3))"
