#!/usr/bin/env bash
# Starts the example mesh: inventory and orders, each its own process, on
# their built-in configuration. Ctrl-C stops both.
#
#   INVENTORY_ADDR=host:port  where inventory listens (default 127.0.0.1:8081)
#   ORDERS_ADDR=host:port     where orders listens (default 127.0.0.1:8080)
#   WEGO_ENV=single           start only orders, with inventory in the same
#                             process (INVENTORY_ADDR is then not used)
#
# By default both listen on the loopback interface only: nothing outside
# this machine reaches them. To expose orders to other machines, give it
# every interface: ORDERS_ADDR=:8080 (or a host's address); inventory can
# stay on loopback, since orders calls it from the same machine.
#
# Each process gets its own address as WEGO_HTTP_ADDR, and orders gets the
# route to inventory's address as WEGO_ROUTES_INVENTORY_* (the variable of
# the configuration key routes.inventory.*). Each service prints the curl
# lines of what it serves, at the address it actually listens on.
set -euo pipefail
cd "$(dirname "$0")/../.."

die() {
	echo "run.sh: $*" >&2
	exit 2
}

if [ -n "${WEGO_HTTP_ADDR:-}" ]; then
	die "run.sh gives each service its own WEGO_HTTP_ADDR; set ORDERS_ADDR and INVENTORY_ADDR instead"
fi
orders_addr=${ORDERS_ADDR:-127.0.0.1:8080}
inventory_addr=${INVENTORY_ADDR:-127.0.0.1:8081}
single=false
if [ "${WEGO_ENV:-dev}" = "single" ]; then
	single=true
fi

# local_url ADDR prints the URL at which this machine reaches a server
# listening on ADDR: an empty or unspecified host becomes 127.0.0.1.
local_url() {
	local host=${1%:*} port=${1##*:}
	case $host in
	"" | 0.0.0.0 | "[::]") host=127.0.0.1 ;;
	esac
	echo "http://$host:$port"
}

if ! $single; then
	[[ $inventory_addr =~ ^(.*):([0-9]+)$ ]] && [ "${BASH_REMATCH[2]}" != 0 ] ||
		die "INVENTORY_ADDR=$inventory_addr: want host:port with a fixed port (127.0.0.1:9081), since orders must know where to call inventory"
	[ "$orders_addr" != "$inventory_addr" ] ||
		die "ORDERS_ADDR and INVENTORY_ADDR are both $orders_addr; give each service its own"
fi

mkdir -p bin
go build -o bin/ ./examples/mesh/inventory/cmd/inventory ./examples/mesh/orders/cmd/orders

pids=()
cleanup() {
	for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

if $single; then
	echo "Starting orders on $orders_addr, with inventory in the same process."
	WEGO_HTTP_ADDR=$orders_addr ./bin/orders &
	pids+=($!)
else
	inventory_url=$(local_url "$inventory_addr")
	echo "Starting inventory on $inventory_addr and orders on $orders_addr, calling inventory at $inventory_url."
	WEGO_HTTP_ADDR=$inventory_addr ./bin/inventory &
	pids+=($!)
	env WEGO_HTTP_ADDR="$orders_addr" "WEGO_ROUTES_INVENTORY_*=$inventory_url" ./bin/orders &
	pids+=($!)
fi
echo "Each service prints where to point curl once it listens. Ctrl-C stops the mesh."
echo
wait -n "${pids[@]}"
