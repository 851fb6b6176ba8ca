# Throwaway S3 and Azure Blob Storage servers for the uploads store's tests (issue 14 §4): moto in server mode and
# Azurite's blob service, on loopback ports of their own, keeping everything in memory. Source this file, call
# `objectstores_start` (after `postgres_start`, whose clean-up it keeps), and they are stopped when the calling
# script exits. Exports TEST_S3_ENDPOINT and TEST_AZURITE_ENDPOINT, which server/tests/integration/object_stores.rs
# reads. Ports: TEST_S3_PORT and TEST_AZURITE_PORT, or free ones. scripts/install-tools --test installs both.
objectstores_dir=""
objectstores_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Where scripts/install-tools --test puts moto.
objectstores_moto_python="$HOME/.cache/teacher-id/moto/bin/python"
objectstores_pids=()

# A port nothing listens on now (the kernel's choice; a race with another program is possible but unlikely).
objectstores_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to 60 s for something to accept connections on the port; fails early if the process `pid` has died.
objectstores_wait() {
  local name="$1" port="$2" pid="$3" log="$4"
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "$name did not start on port $port; its log:" >&2
  cat "$log" >&2
  return 1
}

objectstores_start() {
  objectstores_dir=$(mktemp -d /tmp/teacher-id-objectstores.XXXXXX)
  local s3_port="${TEST_S3_PORT:-$(objectstores_free_port)}"
  local azurite_port="${TEST_AZURITE_PORT:-$(objectstores_free_port)}"
  # Keep whatever clean-up the script already has (PostgreSQL's), and stop ours first.
  local previous=""
  if [ -n "$(trap -p EXIT)" ]; then
    eval "set -- $(trap -p EXIT)"   # trap -- 'COMMAND' EXIT
    previous="$3"
  fi
  trap "objectstores_stop; $previous" EXIT

  "$objectstores_moto_python" -m moto.server -H 127.0.0.1 -p "$s3_port" >"$objectstores_dir/moto.log" 2>&1 &
  objectstores_pids+=($!)
  # Telemetry off: Azurite otherwise reports to Microsoft, and tests reach nothing beyond this machine.
  (cd "$objectstores_dir" && exec "$objectstores_repo/node_modules/.bin/azurite-blob" \
    --blobHost 127.0.0.1 --blobPort "$azurite_port" --inMemoryPersistence --extentMemoryLimit 256 \
    --disableTelemetry --skipApiVersionCheck --loose --silent) >"$objectstores_dir/azurite.log" 2>&1 &
  objectstores_pids+=($!)

  objectstores_wait "moto (S3)" "$s3_port" "${objectstores_pids[0]}" "$objectstores_dir/moto.log" &&
    objectstores_wait "Azurite (Azure Blob)" "$azurite_port" "${objectstores_pids[1]}" "$objectstores_dir/azurite.log" &&
    export TEST_S3_ENDPOINT="http://127.0.0.1:$s3_port" TEST_AZURITE_ENDPOINT="http://127.0.0.1:$azurite_port" &&
    echo "S3 (moto) at $TEST_S3_ENDPOINT, Azure Blob (Azurite) at $TEST_AZURITE_ENDPOINT"
}

objectstores_stop() {
  local pid
  for pid in "${objectstores_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${objectstores_pids[@]}"; do wait "$pid" 2>/dev/null; done
  objectstores_pids=()
  [ -n "$objectstores_dir" ] && rm -rf "$objectstores_dir"
}
