#!/bin/sh
# quarantine.sh BUILD_DIR — how long the nftables backend takes to put quarantines into the
# kernel: one batch of 10 000 and of 100 000, new and refreshed, a reconcile of 100 000, one
# quarantine beside 100 000, beside a plain `nft -f` of the same 100 000 elements. Then the
# daemon's whole path (BUILD_DIR/bench/quarantine_pipeline): 10 000 and 100 000 verdicts made
# by the judge, committed to a store (subject + history, synchronous=FULL) and applied to the
# kernel by the garden's batches, timed from the first verdict to the last batch applied;
# each case twice: libnftables in the process (as before privilege separation) and through
# the privileged helper (quarantine_pipeline -p: each batch over the socketpair as binary
# elements, checked by the helper, which runs libnftables), as lazaretd does now. Last, the
# hop alone (BUILD_DIR/bench/priv_hop): batches of 1 to 100 000 through the helper's code
# with the log-only backend, beside the same backend in process.
#
# Runs in a scratch network namespace of its own (root needed), with the table enforce_tool
# setup creates there; the host's ruleset is never touched. Each figure is the time of the
# backend call alone (enforce_tool -m: building the script, libnftables parsing it, the
# netlink transaction committed), the median of RUNS runs; after each run the number of
# elements in the kernel is checked with `nft list set`.
#
# Environment: RUNS [3], KEEP=1 keeps the temp dir, PIPELINE_MODES ["in-process helper"]. Target (DESIGN.md): 100 000 quarantines
# enforced in under 1 s. Exit status: 1 when a measurement failed or a count was wrong; a
# missed target is reported, not failed.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR" >&2
	exit 2
}
[ $# -eq 1 ] || usage
build=$(cd "$1" && pwd) || usage
tool=$build/tests/enforce_tool
pipeline=$build/bench/quarantine_pipeline
priv_hop=$build/bench/priv_hop
RUNS=${RUNS:-3}
PIPELINE_MODES=${PIPELINE_MODES:-in-process helper}
PATH=$PATH:/usr/sbin:/sbin

if [ ! -x "$tool" ]; then
	echo "quarantine.sh: $tool missing: build it first (ninja -C $build; it is built with the tests)" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "quarantine.sh: needs root (a network namespace and nftables in it)" >&2
	exit 1
fi
command -v nft >/dev/null 2>&1 || { echo "quarantine.sh: needs nft" >&2; exit 1; }

ns=lz-bench-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-qbench.XXXXXX")
cleanup() {
	ip netns del "$ns" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ip netns add "$ns"

run() { ip netns exec "$ns" "$@"; }
now_ns() { date +%s%N; }

printf 'table lazaret\ntimeout 1h\n' >"$tmp/enforce.conf"
tool() { run "$tool" -c "$tmp/enforce.conf" "$@"; }

# 100 000 distinct subscriber addresses, a 10 000 subset, 100 000 IPv6 /64s
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "100.%d.%d.%d\n", 64 + int(i / 65536), int(i / 256) % 256, i % 256 }' >"$tmp/v4_100k"
head -n 10000 "$tmp/v4_100k" >"$tmp/v4_10k"
awk 'BEGIN { for (i = 0; i < 100000; i++) printf "2001:db8:%x:%x::/64\n", int(i / 65536), i % 65536 }' >"$tmp/v6_100k"
# the plain nft script: one command, every element with its timeout
awk 'BEGIN { printf "add element inet lazaret quarantine_v4 { " }
	{ printf "%s%s timeout 3600s", (NR > 1 ? ", " : ""), $0 }
	END { print " }" }' "$tmp/v4_100k" >"$tmp/plain.nft"

tool setup >/dev/null

# in_kernel — elements in both quarantine sets, counted in `nft list set` output
in_kernel() {
	{
		run nft list set inet lazaret quarantine_v4
		run nft list set inet lazaret quarantine_v6
	} | grep -o ' expires ' | wc -l | tr -d ' '
}

empty() { tool reconcile </dev/null >/dev/null; }

failed=0
: >"$tmp/results"

# measure LABEL ELEMENTS EXPECTED_IN_KERNEL PREPARE INPUT COMMAND... — RUNS times: PREPARE (a
# shell function), then COMMAND reading INPUT, whose output holds "seconds=S".
measure() {
	label=$1 elements=$2 expect=$3 prepare=$4 input=$5
	shift 5
	: >"$tmp/times"
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		$prepare
		if ! out=$("$@" <"$input" 2>&1); then
			echo "quarantine.sh: $label: $out" >&2
			failed=1
			return 0
		fi
		s=$(printf '%s\n' "$out" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
		[ -n "$s" ] || { echo "quarantine.sh: $label: no time in '$out'" >&2; failed=1; return 0; }
		echo "$s" >>"$tmp/times"
		got=$(in_kernel)
		if [ "$got" != "$expect" ]; then
			echo "quarantine.sh: $label: $got elements in the kernel, expected $expect" >&2
			failed=1
		fi
		i=$((i + 1))
	done
	sort -n "$tmp/times" | awk -v label="$label" -v n="$elements" -v k="$got" '
		{ v[NR] = $1 } END {
			med = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "%-44s %8s %9.3f %9.3f %9.3f %10s\n", label, n, med, v[1], v[NR], k
		}' >>"$tmp/results"
}

# nft_plain — `nft -f` of the plain script, timed around the process
nft_plain() {
	t0=$(now_ns)
	run nft -f "$tmp/plain.nft" || return 1
	t1=$(now_ns)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "seconds=%.6f\n", (b - a) / 1e9 }'
}
# nft_script FILE — `nft -f` of what enforce_tool would send, timed around the process
nft_script() {
	t0=$(now_ns)
	run nft -f "$1" || return 1
	t1=$(now_ns)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "seconds=%.6f\n", (b - a) / 1e9 }'
}
tool script <"$tmp/v4_100k" >"$tmp/apply_100k.nft"

fill_10k() { empty; tool apply <"$tmp/v4_10k" >/dev/null; }
fill_100k() { empty; tool apply <"$tmp/v4_100k" >/dev/null; }

echo "quarantine.sh: $RUNS runs each, namespace $ns, kernel $(uname -r), $(nft --version)"
measure "apply 10k new (add, delete, add+timeout)" 10000 10000 empty "$tmp/v4_10k" tool -m apply
measure "apply 10k refresh (all present)" 10000 10000 fill_10k "$tmp/v4_10k" tool -m apply
measure "apply 100k new" 100000 100000 empty "$tmp/v4_100k" tool -m apply
measure "apply 100k refresh (all present)" 100000 100000 fill_100k "$tmp/v4_100k" tool -m apply
measure "reconcile 100k (flush, add), set empty" 100000 100000 empty "$tmp/v4_100k" tool -m reconcile
measure "reconcile 100k (flush, add), set full" 100000 100000 fill_100k "$tmp/v4_100k" tool -m reconcile
measure "apply 1 new beside 100k" 1 100001 fill_100k /dev/null tool -m apply 100.99.0.1
measure "apply 100k IPv6 /64 new" 100000 100000 empty "$tmp/v6_100k" tool -m apply
measure "nft -f: the apply script, 100k new" 100000 100000 empty /dev/null nft_script "$tmp/apply_100k.nft"
measure "nft -f: plain add+timeout, 100k new" 100000 100000 empty /dev/null nft_plain
empty

# pipeline LABEL N FLAGS... — the daemon's path, RUNS times, a fresh store each time, in
# each of PIPELINE_MODES. The row is the run with the median enforced time; its batches
# (change batches) and the time the garden's worker spent in the backend's calls, per
# batch and per element: what the helper's hop adds shows there.
pipeline() {
	for mode in $PIPELINE_MODES; do
		case $mode in
		in-process) pipeline_mode "$1, in process" "$@" ;;
		helper) pipeline_mode "$1, helper" "$@" -p ;;
		*) echo "quarantine.sh: unknown PIPELINE_MODES entry $mode" >&2; failed=1 ;;
		esac
	done
}
pipeline_mode() {
	label=$1 n=$3
	shift 3
	: >"$tmp/ptimes"
	i=0
	while [ "$i" -lt "$RUNS" ]; do
		rm -rf "$tmp/store" && mkdir "$tmp/store"
		if ! out=$(run "$pipeline" "$@" -n "$n" -d "$tmp/store" 2>&1); then
			echo "quarantine.sh: $label: $out" >&2
			failed=1
			return 0
		fi
		echo "$out" | sed -n 's/.*committed_s=\([0-9.]*\) enforced_s=\([0-9.]*\).* applies=\([0-9]*\) backend_s=\([0-9.]*\).*/\1 \2 \3 \4/p' >>"$tmp/ptimes"
		got=$(in_kernel)
		if [ "$got" != "$n" ]; then
			echo "quarantine.sh: $label: $got elements in the kernel, expected $n" >&2
			failed=1
		fi
		i=$((i + 1))
	done
	sort -n -k2 "$tmp/ptimes" | awk -v label="$label" -v n="$n" -v k="$got" '
		{ c[NR] = $1; e[NR] = $2; a[NR] = $3; s[NR] = $4 } END {
			m = int((NR + 1) / 2)
			printf "%-56s %8s %9.3f %9.3f %9.3f %10s %7d %9.2f %7.2f\n", label, n, c[m], e[m], e[NR], k,
				a[m], a[m] ? s[m] / a[m] * 1e3 : 0, s[m] / n * 1e6
		}' >>"$tmp/presults"
}
: >"$tmp/presults"
if [ -x "$pipeline" ]; then
	pipeline "manual (operator) verdicts" 10000
	pipeline "manual (operator) verdicts" 100000
	pipeline "automatic verdicts, hosts new to the judge" 100000 -a
	pipeline "automatic verdicts, hosts already tracked" 100000 -a -w
	run nft flush set inet lazaret quarantine_v4
else
	echo "quarantine.sh: $pipeline missing: the daemon's path is not measured" >&2
	failed=1
fi

echo
printf '%-44s %8s %9s %9s %9s %10s\n' "operation (one batch each)" elements "median s" "min s" "max s" "in kernel"
cat "$tmp/results"
echo
echo "The daemon's path: judge -> store (subject + history committed) -> garden batches -> kernel"
printf '%-56s %8s %9s %9s %9s %10s %7s %9s %7s\n' "verdicts (1000 per loop turn)" elements "commit s" "enforce s" \
	"max s" "in kernel" batches "ms/batch" "us/elem"
cat "$tmp/presults"
echo "(ms/batch, us/elem: time in the backend's calls on the garden's worker, the median run's)"
awk '$0 ~ / 100000 / { if ($(NF - 5) > worst) worst = $(NF - 5) }
	END { printf "target: 100 000 quarantines committed and enforced in < 1 s: slowest median %.3f s (%s)\n",
		worst, worst < 1 ? "met" : "MISSED" }' "$tmp/presults"
echo
awk '/^apply 100k new / { a = $(NF - 3) } /^nft -f: plain/ { p = $(NF - 3) }
	/^reconcile 100k \(flush, add\), set empty/ { r = $(NF - 3) }
	END {
		printf "backend alone, 100 000 in one batch: apply with timeout refresh %.3f s (%s 1 s), reconcile %.3f s (%s 1 s)\n",
			a, a < 1 ? "under" : "over", r, r < 1 ? "under" : "over"
		if (p > 0) printf "apply of 100k new = %.1f x a plain nft -f of the same elements (%.3f s)\n", a / p, p
	}' "$tmp/results"
echo
if [ -x "$priv_hop" ]; then
	echo "The hop to the privileged helper alone (priv_hop: the log-only backend, median of 31 calls):"
	"$priv_hop" || { echo "quarantine.sh: priv_hop failed" >&2; failed=1; }
else
	echo "quarantine.sh: $priv_hop missing: the hop alone is not measured" >&2
	failed=1
fi
exit $failed
