#!/usr/bin/env bash
# Build the image and run it as an operator would, against the sandbox in a second container:
# the daemon on a moved port (9090) must turn healthy through its HEALTHCHECK, `acsync setup`
# and `acsync demo` must work inside it. Needs a running Docker engine.
#
#   docker/smoke.sh                                  # base image python:3.12-slim
#   PYTHON_IMAGE=my-debian-python docker/smoke.sh    # any Debian-based image with python3-venv
set -euo pipefail
cd "$(dirname "$0")/.."
base="${PYTHON_IMAGE:-python:3.12-slim}"
tag="acsync:smoke"
run="acsync-smoke-$$"
docker build --network host --build-arg "PYTHON_IMAGE=$base" -t "$tag" .
cleanup() { docker rm -f "$run-acsync" "$run-sandbox" >/dev/null 2>&1 || true; docker network rm "$run" >/dev/null 2>&1 || true; }
trap cleanup EXIT
docker network create "$run" >/dev/null
docker run -d --name "$run-sandbox" --network "$run" --no-healthcheck "$tag" \
    acsync sandbox --host 0.0.0.0 --port 8025 --contacts 300 >/dev/null
sleep 3
docker run -d --name "$run-acsync" --network "$run" \
    -e "ACSYNC_ACTIVECAMPAIGN__URL=http://$run-sandbox:8025" -e ACSYNC_ACTIVECAMPAIGN__API_TOKEN=sandbox \
    -e ACSYNC_WEBHOOK__TOKEN=smoke-test-token-0123456789 -e ACSYNC_WEBHOOK__PORT=9090 "$tag" >/dev/null
docker exec "$run-acsync" acsync setup
for _ in $(seq 1 30); do  # the first probe runs 30 s after start (--interval)
    status="$(docker inspect --format '{{.State.Health.Status}}' "$run-acsync")"
    [ "$status" = healthy ] && break
    sleep 3
done
echo "health on port 9090: $status"
[ "$status" = healthy ]
docker exec "$run-acsync" acsync demo --contacts 50 --quiet | tail -2
echo "smoke test passed: $tag"
