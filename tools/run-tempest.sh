#!/bin/bash
# Upstream Tempest's compute API tests against a mini-Nova all-in-one behind a
# real Keystone (fake driver). See docs/tempest.md.
#
#   tools/run-tempest.sh [REGEX]        # default '^tempest.api.compute'
#
# MINOVA_TEMPEST_VENV   Tempest's virtualenv (default /tmp/minova-tempest-venv,
#                       made on first use with `pip install tempest`)
# MINOVA_TEMPEST_DIR    the workspace: tempest.conf, logs, results
#                       (default /tmp/minova-tempest)
# MINOVA_TEMPEST_TIMEOUT  seconds the run may take (default 3600)
# MINOVA_TEMPEST_CONCURRENCY  parallel workers (default 2)
# MINOVA_TEMPEST_COMPUTES  compute hosts of the all-in-one (default 2, which runs the
#                       move tests; 1 skips them)
# MINOVA_TEMPEST_CINDER  1: a real Cinder on Ceph behind the same Keystone, and
#                       [service_available] cinder = True (default 0; see docs/tempest.md)
# MINOVA_TEMPEST_NEUTRON  1: a real Neutron (ML2/OVN) behind the same Keystone, mini-Nova's
#                       [neutron], and [service_available] neutron = True (default 0)
set -euo pipefail

REGEX=${1:-'^tempest.api.compute'}
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${MINOVA_TEMPEST_VENV:-/tmp/minova-tempest-venv}
WORK=${MINOVA_TEMPEST_DIR:-/tmp/minova-tempest}
TIMEOUT=${MINOVA_TEMPEST_TIMEOUT:-3600}
CONCURRENCY=${MINOVA_TEMPEST_CONCURRENCY:-2}

if [ ! -x "$VENV/bin/tempest" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q tempest
fi

rm -rf "$WORK"
mkdir -p "$WORK"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
python3 "$REPO/tools/tempest_cloud.py" "$WORK" > "$WORK/cloud.out" 2>&1 &
CLOUD=$!
trap 'kill -TERM $CLOUD 2>/dev/null; wait $CLOUD 2>/dev/null || true' EXIT
# With Cinder or Neutron the cloud may first wait for those tiers' locks.
WAIT=600
[ "${MINOVA_TEMPEST_CINDER:-0}" = 1 ] && WAIT=4200
[ "${MINOVA_TEMPEST_NEUTRON:-0}" = 1 ] && WAIT=4200
for _ in $(seq $WAIT); do
    grep -q 'tempest cloud ready' "$WORK/cloud.out" 2>/dev/null && break
    if ! kill -0 $CLOUD 2>/dev/null; then cat "$WORK/cloud.out"; exit 1; fi
    sleep 1
done
grep -q 'tempest cloud ready' "$WORK/cloud.out" || { cat "$WORK/cloud.out"; exit 1; }

cd "$WORK"
# Tempest's own environment must not see mini-Nova's.
env -u PYTHONPATH "$VENV/bin/tempest" init --workspace-path "$WORK/workspaces.yaml" \
    --name minova "$WORK/ws"
cp "$WORK/etc/tempest.conf" "$WORK/ws/etc/tempest.conf"
cd "$WORK/ws"
set +e
env -u PYTHONPATH timeout "$TIMEOUT" "$VENV/bin/tempest" run --regex "$REGEX" \
    --concurrency "$CONCURRENCY" > "$WORK/tempest-run.txt" 2>&1
RC=$?
set -e
env -u PYTHONPATH "$VENV/bin/stestr" last --subunit > "$WORK/results.subunit" 2>/dev/null || true
env -u PYTHONPATH "$VENV/bin/subunit2csv" < "$WORK/results.subunit" > "$WORK/results.csv" \
    2>/dev/null || true
tail -n 15 "$WORK/tempest-run.txt"
echo "results: $WORK/results.csv, log: $WORK/tempest.log, mini-Nova: $WORK/cloud/minova.log"
exit $RC
