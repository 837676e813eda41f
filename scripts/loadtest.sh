#!/usr/bin/env bash
# Drives kefu (safe mode) with the load generator, then the floor handler in
# the same run, and prints both lines and the ratio.
#   scripts/loadtest.sh            embedded store
#   STORE=redis scripts/loadtest.sh   Redis at 127.0.0.1:6379 (db 15, flushed first)
#   TMPROOT=/dev/shm scripts/loadtest.sh   the embedded store on tmpfs
#   USERS=24 DURATION=10s          concurrent users, length of each run
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10s}
USERS=${USERS:-24}
TOKEN=loadtoken
AES=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG
APPID=wx0123456789abcdef
ADDR=127.0.0.1:${PORT:-18080}
[ -x bin/kefu ] || go build -o bin/kefu ./cmd/kefu
[ -x bin/kefu-loadtest ] || go build -o bin/kefu-loadtest ./cmd/kefu-loadtest
data=$(mktemp -d ${TMPROOT:+-p $TMPROOT})
env_store=()
if [ "${STORE:-embedded}" = redis ]; then
  redis-cli -n 15 flushdb >/dev/null
  env_store=(KEFU_REDIS_URL=redis://127.0.0.1:6379/15)
fi
env KEFU_HTTP_ADDR=$ADDR KEFU_DATA_DIR="$data" KEFU_WECHAT_TOKEN=$TOKEN KEFU_WECHAT_AES_KEY=$AES \
  KEFU_WECHAT_APP_ID=$APPID KEFU_LOG_LEVEL=warn "${env_store[@]}" bin/kefu serve &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 100); do curl -fs "http://$ADDR/healthz" >/dev/null && break; sleep 0.1; done
kefu=$(bin/kefu-loadtest -url "http://$ADDR/wechat" -token $TOKEN -aes-key $AES -appid $APPID \
  -users "$USERS" -duration "$DURATION" -mode aes | tail -1)
kill $pid; wait $pid 2>/dev/null || true
floor=$(bin/kefu-loadtest -floor -token $TOKEN -aes-key $AES -appid $APPID \
  -users "$USERS" -duration "$DURATION" -mode aes | tail -1)
echo "kefu  (${STORE:-embedded}, aes): $kefu"
echo "floor (aes):            $floor"
k=$(sed -E 's/throughput=([0-9.]+).*/\1/' <<<"$kefu"); f=$(sed -E 's/throughput=([0-9.]+).*/\1/' <<<"$floor")
awk -v k="$k" -v f="$f" 'BEGIN { printf "ratio kefu/floor = %.2f\n", k / f }'
