#!/bin/sh
# memory.sh BUILD_DIR [HOSTS [ACCOUNTS]] — track HOSTS distinct hosts and ACCOUNTS
# distinct SASL accounts (1 M each by default) as the policy service does and print
# the peak RSS and the bytes per tracked subject. The budget: 512 MiB in all.
set -eu
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR [HOSTS [ACCOUNTS]]" >&2; exit 2; }
build=$1
hosts=${2:-1000000}
accounts=${3:-$hosts}
exec "$build/bench/memory" "$hosts" "$accounts"
