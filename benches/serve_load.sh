#!/usr/bin/env bash
# Throughput and latency of `routesim serve` under load, beside aimock measured in the same run
# on the same machine as the baseline (issue #13, README "Use it as a local OpenRouter").
#
#   benches/serve_load.sh [SECONDS] [CONNECTIONS]      (defaults: 10 s, 32 connections)
#
# Needs wrk (Debian: apt-get install wrk), Node.js and npm. Installs aimock at the pinned version
# under target/bench/aimock. One non-streamed chat completion, the same body for both servers, on
# the 16-endpoint listing fixtures/load/moonshotai__kimi-k2.7-code.json, from a release build.
# Prints one line per server and the ratios; nothing here is a test. ROUTESIM_BIN=PATH measures
# that binary instead of building target/release/routesim (to compare two builds in one sitting).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-10}
connections=${2:-32}
aimock_version=1.43.0
work=$root/target/bench/serve-load
mkdir -p "$work"

command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }
[ -n "${ROUTESIM_BIN:-}" ] || cargo build --quiet --release --bin routesim
if [ ! -x "$root/target/bench/aimock/node_modules/.bin/llmock" ] ||
   ! grep -q "\"version\": \"$aimock_version\"" "$root/target/bench/aimock/node_modules/@copilotkit/aimock/package.json"; then
  mkdir -p "$root/target/bench/aimock"
  (cd "$root/target/bench/aimock" && npm init -y >/dev/null &&
   npm install --no-audit --no-fund --loglevel=error "@copilotkit/aimock@$aimock_version")
fi

model=moonshotai/kimi-k2.7-code
body="{\"model\":\"$model\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}"
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '$body'
LUA
cat >"$work/aimock.json" <<JSON
{"fixtures": [{"match": {"userMessage": "hello"},
               "response": {"content": "routesim: served by coreweave/int4 ($model)"}}]}
JSON

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

wait_for() { # PORT
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -X POST "http://127.0.0.1:$1/api/v1/chat/completions" \
      -H 'content-type: application/json' -d "$body" && return 0
    sleep 0.1
  done
  echo "nothing answers on port $1" >&2; exit 1
}

measure() { # NAME PORT -> "NAME requests_per_s p99_ms"
  local out rps p99
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" \
        "http://127.0.0.1:$2/api/v1/chat/completions")
  echo "$out" >"$work/$1.wrk.txt"
  if grep -q 'Non-2xx' <<<"$out"; then echo "$1 answered non-2xx statuses:" >&2; echo "$out" >&2; exit 1; fi
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$1 $rps $p99"
}

"$root/target/bench/aimock/node_modules/.bin/llmock" -p 18431 -f "$work/aimock.json" >"$work/aimock.log" 2>&1 &
pids+=($!)
"${ROUTESIM_BIN:-$root/target/release/routesim}" serve --catalog fixtures/load/moonshotai__kimi-k2.7-code.json \
  --listen 127.0.0.1:18432 >"$work/routesim.log" 2>&1 &
pids+=($!)
wait_for 18431
wait_for 18432

echo "wrk, $connections connections, $seconds s each, one non-streamed completion on $model"
read -r _ a_rps a_p99 < <(measure aimock 18431)
read -r _ r_rps r_p99 < <(measure routesim 18432)
printf '%-9s %12s req/s   p99 %8s ms\n' aimock "$a_rps" "$a_p99" routesim "$r_rps" "$r_p99"
awk -v a="$a_rps" -v r="$r_rps" -v ap="$a_p99" -v rp="$r_p99" \
  'BEGIN { printf "routesim/aimock: throughput x%.2f, p99 x%.2f\n", r / a, rp / ap }'
