#!/usr/bin/env bash
# Starts the example mesh: inventory on :8081 and orders on :8080, each its
# own process, on their built-in configuration. Ctrl-C stops both.
# WEGO_ENV=single starts only orders, with inventory in the same process.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p bin
go build -o bin/ ./examples/mesh/inventory/cmd/inventory ./examples/mesh/orders/cmd/orders

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if [ "${WEGO_ENV:-dev}" != "single" ]; then
	./bin/inventory &
	pids+=($!)
fi
./bin/orders &
pids+=($!)

cat <<'MSG'

The example mesh is starting. Try:
  curl -X POST http://localhost:8080/orders -H 'Content-Type: application/json' -d '{"sku":"apple","qty":2}'
  curl http://localhost:8081/inventory/stock/apple
  curl -X POST http://localhost:8080/orders -H 'Content-Type: application/json' -H 'Accept-Language: es' -d '{"sku":"pear","qty":50}'
  curl http://localhost:8080/        (the commands it exposes)
  curl http://localhost:8080/openapi.json
Ctrl-C stops the services.

MSG
wait -n "${pids[@]}"
