#!/usr/bin/env bash
# Starts the example mesh: inventory, orders and shipping, each its own
# process, on their built-in configuration. Ctrl-C stops them all.
#
#   INVENTORY_ADDR=host:port  where inventory listens for HTTP (default 127.0.0.1:8081)
#   ORDERS_ADDR=host:port     where orders listens for HTTP (default 127.0.0.1:8080)
#   SHIPPING_ADDR=host:port   where shipping listens for HTTP (default 127.0.0.1:8083;
#                             8082 is for a second inventory replica)
#   NATS_URL=nats://h:4222,…  an external NATS server or cluster for all
#                             services; by default inventory embeds one on
#                             127.0.0.1:4222 and the others connect to it
#   WEGO_ENV=single           start only orders, with inventory and shipping in
#                             the same process (INVENTORY_ADDR, SHIPPING_ADDR
#                             and NATS are then not used)
#
# By default everything listens on the loopback interface only: nothing
# outside this machine reaches it. To expose orders to other machines,
# give it every interface: ORDERS_ADDR=:8080 (or a host's address).
#
# Orders calls inventory over NATS: its configuration names no address of
# inventory, only NATS's (routes.inventory.* is nats://inventory). Orders
# publishes orders.OrderPlaced on NATS, and shipping receives it. Each
# service prints the curl lines of what it serves, at the address it
# actually listens on.
set -euo pipefail
cd "$(dirname "$0")/../.."

die() {
	echo "run.sh: $*" >&2
	exit 2
}

if [ -n "${WEGO_HTTP_ADDR:-}" ]; then
	die "run.sh gives each service its own WEGO_HTTP_ADDR; set ORDERS_ADDR, INVENTORY_ADDR and SHIPPING_ADDR instead"
fi
orders_addr=${ORDERS_ADDR:-127.0.0.1:8080}
inventory_addr=${INVENTORY_ADDR:-127.0.0.1:8081}
shipping_addr=${SHIPPING_ADDR:-127.0.0.1:8083}
single=false
if [ "${WEGO_ENV:-dev}" = "single" ]; then
	single=true
fi
if ! $single; then
	[ "$orders_addr" != "$inventory_addr" ] ||
		die "ORDERS_ADDR and INVENTORY_ADDR are both $orders_addr; give each service its own"
	[ "$shipping_addr" != "$orders_addr" ] && [ "$shipping_addr" != "$inventory_addr" ] ||
		die "SHIPPING_ADDR is $shipping_addr, as another service's; give each service its own"
fi
nats_env=()
if [ -n "${NATS_URL:-}" ]; then
	nats_env=("WEGO_NATS_URLS=$NATS_URL")
fi

mkdir -p bin
go build -o bin/ ./examples/mesh/inventory/cmd/inventory ./examples/mesh/orders/cmd/orders ./examples/mesh/shipping/cmd/shipping

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if $single; then
	echo "Starting orders on $orders_addr, with inventory and shipping in the same process."
	WEGO_HTTP_ADDR=$orders_addr ./bin/orders &
	pids+=($!)
else
	echo "Starting inventory on $inventory_addr, orders on $orders_addr and shipping on $shipping_addr; orders calls inventory and publishes its events over NATS (${NATS_URL:-embedded in inventory at nats://127.0.0.1:4222})."
	env WEGO_HTTP_ADDR="$inventory_addr" "${nats_env[@]}" ./bin/inventory &
	pids+=($!)
	env WEGO_HTTP_ADDR="$orders_addr" "${nats_env[@]}" ./bin/orders &
	pids+=($!)
	env WEGO_HTTP_ADDR="$shipping_addr" "${nats_env[@]}" ./bin/shipping &
	pids+=($!)
fi
echo "Each service prints where to point curl once it listens. Ctrl-C stops the mesh."
echo "A second inventory replica (start both with WEGO_STORE_KIND=nats, to share the stock): WEGO_STORE_KIND=nats WEGO_NATS_URLS=${NATS_URL:-nats://127.0.0.1:4222} WEGO_HTTP_ADDR=127.0.0.1:8082 ./bin/inventory"
echo
wait -n "${pids[@]}"
