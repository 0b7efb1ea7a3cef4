#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the fixtures, so libFuzzer starts from valid inputs.
# Run from anywhere; re-running only adds files.
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../fixtures
mkdir -p corpus/catalog_yaml corpus/catalog_openrouter_json corpus/request_route
cp "$fixtures"/*.yaml "$fixtures"/*.json corpus/catalog_yaml/
cp "$fixtures"/openrouter-endpoints.json corpus/catalog_openrouter_json/
# One endpoint object body per seed (the target wraps it in a valid listing).
python3 - "$fixtures/openrouter-endpoints.json" corpus/catalog_openrouter_json <<'PY'
import json, sys
listing = json.load(open(sys.argv[1]))
for i, ep in enumerate(listing["data"]["endpoints"]):
    open(f"{sys.argv[2]}/endpoint-{i}", "w").write(json.dumps(ep)[1:-1])
PY
# request_route: first byte picks a fixture catalog (0..3), the rest is the request.
i=0
for pick in 0 1 2 3; do
  for req in "$fixtures"/requests/*.json; do
    { printf "\\x0$pick"; cat "$req"; } > "corpus/request_route/seed-$pick-$(basename "$req" .json)"
    i=$((i + 1))
  done
done
# 0xff: a fuzzed catalog, NUL, then the request.
{ printf '\xff'; cat "$fixtures/abc.yaml"; printf '\0'; cat "$fixtures/requests/abc.json"; } \
  > corpus/request_route/seed-ff-abc
