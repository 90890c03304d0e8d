#!/bin/sh
# analyze_scale.sh BUILD_DIR [CLIENTS [EVERY]] — the scale of `lazaretctl analyze`'s
# output: a log of CLIENTS (2 000 000) distinct clients, every EVERY-th (20) of them a
# bot the default rules flag (100 000 flagged; bench/flagged_gen.awk, 9 M lines,
# 1.9 GB), generated once into SCALE_DIR and kept while its stamp matches. Then, text
# and --json, each timed with /usr/bin/time, best of RUNS:
#   analysis   the "seconds" analyze reports for reading the log
#   output     wall time minus analysis: ranking, printing, freeing (to /dev/null)
#   rss        peak resident memory
# With BASE=/path/to/an/older/lazaretctl, the same for it, and whether both printed the
# same bytes (but the measured seconds).
#
# Environment (defaults in brackets): RUNS [1]  SCALE_DIR [${TMPDIR:-/tmp}/lazaret-scale-bench]
#   BASE [none]
# Exit status: 1 when a tool failed or BASE printed something else.
set -eu

case $# in 1 | 2 | 3) ;; *) echo "usage: $0 BUILD_DIR [CLIENTS [EVERY]]" >&2; exit 2 ;; esac
BUILD=$1
CLIENTS=${2:-2000000}
EVERY=${3:-20}
RUNS=${RUNS:-1}
DIR=${SCALE_DIR:-${TMPDIR:-/tmp}/lazaret-scale-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
CTL=$BUILD/lazaretctl
[ -x "$CTL" ] || { echo "analyze_scale: $CTL not built" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "analyze_scale: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }
mkdir -p "$DIR"
LOG=$DIR/scale.log
stamp="$CLIENTS $EVERY $(md5sum <"$HERE/flagged_gen.awk" | cut -d' ' -f1)"
if [ ! -s "$LOG" ] || [ "$(cat "$DIR/stamp" 2>/dev/null)" != "$stamp" ]; then
	echo "generating $CLIENTS clients, every $EVERY flagged, into $LOG"
	awk -v clients="$CLIENTS" -v every="$EVERY" -f "$HERE/flagged_gen.awk" >"$LOG"
	echo "$stamp" >"$DIR/stamp"
fi
echo "log: $(wc -l <"$LOG") lines, $(du -h "$LOG" | cut -f1), $CLIENTS distinct clients"

# run LABEL CTL MODE — best of RUNS; prints one line, leaves the output in $DIR/LABEL.MODE
run() {
	best=""
	i=0
	while [ $i -lt "$RUNS" ]; do
		i=$((i + 1))
		if [ "$3" = json ]; then
			/usr/bin/time -f "%e %M" -o "$DIR/time" "$2" analyze --json --maillog "$LOG" >"$DIR/$1.$3"
			an=$(sed -n 's/^  "seconds": \([0-9.]*\).*/\1/p' "$DIR/$1.$3" | awk '{ printf "%.2f", $1 }')
			flagged=$(grep -c '^      "subject": ' "$DIR/$1.$3" || true)
		else
			/usr/bin/time -f "%e %M" -o "$DIR/time" "$2" analyze --maillog "$LOG" >"$DIR/$1.$3"
			an=$(sed -n '1s/^[0-9]* lines in \([0-9.]*\) s.*/\1/p' "$DIR/$1.$3")
			flagged=$(grep -c '^10\.' "$DIR/$1.$3" || true)
		fi
		set -- "$1" "$2" "$3" $(cat "$DIR/time")
		out=$(echo "$4 $an" | awk '{ printf "%.2f", $1 - $2 }')
		if [ -z "$best" ] || [ "$(echo "$out $best" | awk '{ print ($1 < $2) }')" = 1 ]; then
			best=$out
			line=$(printf '%-6s %-5s flagged=%s analysis=%ss output=%ss wall=%ss rss=%sMB' "$1" "$3" "$flagged" "$an" "$out" "$4" "$(($5 / 1024))")
		fi
		set -- "$1" "$2" "$3"
	done
	echo "$line"
}

rc=0
for mode in text json; do
	run lazaret "$CTL" $mode
	if [ -n "${BASE:-}" ]; then
		run base "$BASE" $mode
		if [ $mode = json ]; then
			grep -v '"seconds"' "$DIR/lazaret.json" >"$DIR/a" && grep -v '"seconds"' "$DIR/base.json" >"$DIR/b"
		else
			tail -n +2 "$DIR/lazaret.text" >"$DIR/a" && tail -n +2 "$DIR/base.text" >"$DIR/b"
		fi
		if cmp -s "$DIR/a" "$DIR/b"; then echo "$mode: same bytes as BASE"; else echo "$mode: DIFFERS from BASE" >&2; rc=1; fi
	fi
done
rm -f "$DIR/a" "$DIR/b" "$DIR/time" "$DIR"/*.text "$DIR"/*.json
exit $rc
