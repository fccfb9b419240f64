#!/usr/bin/env bash
# Serve API and UI on the local network for a workshop, and print the join URL participants
# open on their phones. `make run` stays on loopback; this is the one documented way off it.
#
#   KVA_HOST      address to listen on (default 0.0.0.0: every interface of this machine)
#   KVA_LAN_IP    the address phones reach this machine at (default: the first IPv4 address
#                 `hostname -I` lists; nothing is sent anywhere to find it)
#   KVA_API_KEY   set it: on the LAN, uploading and deleting documents and starting a
#                 workshop then need the key (the trainer types it on the trainer page)
#
# `scripts/workshop.sh --print` only prints the addresses and exits.
set -euo pipefail
cd "$(dirname "$0")/.."

HOST=${KVA_HOST:-0.0.0.0}
API_PORT=${API_PORT:-8000}
UI_PORT=${UI_PORT:-8501}
LAN_IP=${KVA_LAN_IP:-$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' \
  | grep -v '^127\.' | head -n 1 || true)}
if [ -z "$LAN_IP" ]; then
  echo "could not tell this machine's LAN address; set KVA_LAN_IP=a.b.c.d" >&2
  exit 2
fi

export KVA_WORKSHOP_JOIN_URL="http://$LAN_IP:$UI_PORT/workshop"
echo "== workshop mode: API and UI listen on $HOST (ports $API_PORT and $UI_PORT)"
if [ -z "${KVA_API_KEY:-}" ]; then
  echo "   WARNING: KVA_API_KEY is not set: anyone on this network can upload or delete" >&2
  echo "   documents and start workshops. Set KVA_API_KEY=... and start again." >&2
fi
echo "   Participants join at:  $KVA_WORKSHOP_JOIN_URL?code=<the code>"
echo "   Trainer page:          http://$LAN_IP:$UI_PORT/trainer"
echo
if [ "${1:-}" = "--print" ]; then exit 0; fi
# The UI reaches the API over loopback; phones only ever talk to the UI.
API_HOST=$HOST API_PORT=$API_PORT UI_PORT=$UI_PORT API_URL=http://127.0.0.1:$API_PORT \
  exec scripts/start.sh
