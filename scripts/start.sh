#!/usr/bin/env bash
# Start the product on the embedded defaults: set up, bring the store in step with corpus/,
# then run the API and the UI together until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

API_HOST=${API_HOST:-127.0.0.1}
API_PORT=${API_PORT:-8000}
UI_PORT=${UI_PORT:-8501}
export API_URL=${API_URL:-http://$API_HOST:$API_PORT}

echo "== ingesting corpus/ (incremental: unchanged files are skipped)"
status=0
.venv/bin/python -m ingest || status=$?
if [ "$status" -ge 2 ]; then
  exit "$status"
fi
.venv/bin/python -m ingest stats

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# The API's JSON log lines (one per request) go to a file under the data dir; the terminal
# keeps the addresses below and anything above "info" (warnings, errors, tracebacks).
LOG_DIR="$(.venv/bin/python -c "from ingest.settings import get_settings; print(get_settings().data_dir)")/logs"
mkdir -p "$LOG_DIR"
API_LOG="$LOG_DIR/api.log"
.venv/bin/python -m assistant serve --host "$API_HOST" --port "$API_PORT" \
  2> >(tee -a "$API_LOG" | grep --line-buffered -v '^{"ts": "[^"]*", "level": "info"' >&2) &
pids+=($!)
for _ in $(seq 1 180); do
  if .venv/bin/python -c "import httpx, sys; sys.exit(httpx.get('$API_URL/readyz').status_code != 200)" \
    >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then echo "the API failed to start" >&2; exit 1; fi
  sleep 1
done
.venv/bin/streamlit run ui/app.py --server.headless true --server.port "$UI_PORT" \
  --server.address "$API_HOST" --browser.gatherUsageStats false --client.toolbarMode minimal \
  --server.maxUploadSize "$(printf "%.0f" "${KVA_MAX_UPLOAD_MB:-50}")" &
pids+=($!)
sleep 2
echo
echo "  API: $API_URL   (OpenAPI docs: $API_URL/docs)"
echo "  UI:  http://$API_HOST:$UI_PORT"
echo "  API log: $API_LOG"
echo "  Ctrl-C stops both."
wait -n "${pids[@]}"
