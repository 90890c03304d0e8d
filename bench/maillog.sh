#!/bin/sh
# maillog.sh BUILD_DIR [LINES] — offline analysis of a large Postfix log:
# `lazaretctl analyze --maillog` beside pflogsumm, on the same file.
#
# The log: BUILD_DIR/bench/maillog_gen, LINES lines (5 000 000), RFC 3339 time
# stamps as Debian 12's rsyslog writes them, a seed (1), planted bots, hijacked
# SASL accounts and spam-refused hosts (bench/README.md). It is generated once
# into MAILLOG_DIR and reused while its stamp (generator version, checksum of
# maillog_gen.c, options, size) matches. Then, each timed with /usr/bin/time -v, best of RUNS:
#   lazaretctl analyze --maillog FILE --json
#   pflogsumm --problems-first FILE
# and lazaret once more on a file twice as long (2 x LINES) to compare peak
# RSS: it should follow the open queue IDs and the subjects, not the file.
# Then both tools on a log of SCALE_CLIENTS distinct clients (bench/flagged_gen.awk,
# every 20th a bot: 9 M lines, 1.9 GB for 2 M), whose peak RSS is what they hold
# per client; the same file as bench/analyze_scale.sh's when SCALE_DIR is the same.
# Last, what lazaret flagged against what was planted.
#
# Environment (defaults in brackets):
#   RUNS [3]  SEED [1]  FORMAT [3339] (3164: traditional time stamps)
#   MAILLOG_DIR [${TMPDIR:-/tmp}/lazaret-maillog-bench]  (about 1 GB per 5 M lines,
#   3 GB with the double file; kept for the next run)
#   PEERS ["pflogsumm"] (empty: lazaret only)  DOUBLE [1] (0: skip the 2x file)
#   MAILLOG_LINES [5000000]: LINES when not given (bench/run.sh gives none)
#   SCALE_CLIENTS [2000000] (0: skip the distinct-clients case)  SCALE_RUNS [1]
#   SCALE_DIR [${TMPDIR:-/tmp}/lazaret-scale-bench]
# Exit status: 1 when a tool failed, or lazaret skipped lines other than the
# deliberate non-Postfix ones; missed targets are reported, not failed.
set -eu

usage() {
	echo "usage: $0 BUILD_DIR [LINES]" >&2
	exit 2
}
case $# in 1 | 2) ;; *) usage ;; esac
build=$(cd "$1" && pwd) || usage
here=$(cd "$(dirname "$0")" && pwd)
LINES=${2:-${MAILLOG_LINES:-5000000}}
case $LINES in ''|*[!0-9]*) usage ;; esac
RUNS=${RUNS:-3}
SEED=${SEED:-1}
FORMAT=${FORMAT:-3339}
PEERS=${PEERS-pflogsumm}
DOUBLE=${DOUBLE:-1}
MAILLOG_DIR=${MAILLOG_DIR:-${TMPDIR:-/tmp}/lazaret-maillog-bench}
SCALE_CLIENTS=${SCALE_CLIENTS:-2000000}
SCALE_RUNS=${SCALE_RUNS:-1}
SCALE_DIR=${SCALE_DIR:-${TMPDIR:-/tmp}/lazaret-scale-bench}
case $SCALE_CLIENTS in ''|*[!0-9]*) usage ;; esac

gen=$build/bench/maillog_gen
ctl=$build/lazaretctl
for f in "$gen" "$ctl"; do
	if [ ! -x "$f" ]; then
		echo "maillog.sh: $f missing: build it first (ninja -C $build)" >&2
		exit 1
	fi
done
[ -x /usr/bin/time ] || { echo "maillog.sh: needs /usr/bin/time (Debian package time)" >&2; exit 1; }
for p in $PEERS; do
	command -v "$p" >/dev/null 2>&1 || { echo "maillog.sh: needs $p (Debian package $p)" >&2; exit 1; }
done

mkdir -p "$MAILLOG_DIR"
work=$(mktemp -d "${TMPDIR:-/tmp}/lazaret-maillog.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
failed=0

ncpu=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" -v n="$ncpu" 'BEGIN { exit !(l > n / 2) }'; then
	echo "maillog.sh: warning: load average $load on $ncpu CPUs: the figures will say as much about the neighbours"
fi

# make_log N: sets $log and $truth to a log of N lines, generating it unless a
# matching one is there.
make_log() {
	base=$MAILLOG_DIR/mail-$1-s$SEED-$FORMAT
	log=$base.log
	truth=$base.truth
	# the generator's version and source: a changed generator makes a new log
	stamp="$("$gen" -V) $(cksum < "$here/maillog_gen.c" | cut -d' ' -f1) -n $1 -s $SEED -f $FORMAT"
	if [ -f "$log" ] && [ -f "$truth" ] && [ -f "$base.stamp" ] &&
	    [ "$(sed -n 1p "$base.stamp")" = "$stamp" ] &&
	    [ "$(sed -n 2p "$base.stamp")" = "$(wc -c < "$log" | tr -d ' ')" ]; then
		echo "reusing $log ($(($(wc -c < "$log") / 1048576)) MiB)"
		cat "$log" > /dev/null		# into the page cache, as a fresh one would be
		return
	fi
	echo "generating $log ..."
	rm -f "$base.stamp"
	"$gen" -n "$1" -s "$SEED" -f "$FORMAT" -o "$log.tmp" -t "$truth"
	mv "$log.tmp" "$log"
	printf '%s\n%s\n' "$stamp" "$(wc -c < "$log" | tr -d ' ')" > "$base.stamp"
}

# timed NAME OUT CMD...: runs CMD RUNS times under /usr/bin/time -v, stdout to
# OUT; sets $best_s (the shortest wall time), $best_cpu (that run's user + system
# CPU seconds) and $best_kb (its peak RSS).
timed() {
	name=$1 out=$2
	shift 2
	best_s="" best_kb="" best_cpu=""
	i=0
	while [ $i -lt "$RUNS" ]; do
		i=$((i + 1))
		if ! /usr/bin/time -v -o "$work/time" "$@" > "$out" 2> "$work/stderr"; then
			echo "maillog.sh: $name failed:" >&2
			tail -5 "$work/stderr" >&2
			tail -3 "$work/time" >&2
			return 1
		fi
		s=$(awk -F': ' '/Elapsed \(wall clock\)/ {
			n = split($2, p, ":"); t = 0
			for (k = 1; k <= n; k++) t = t * 60 + p[k]
			printf "%.2f", t }' "$work/time")
		kb=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$work/time")
		cpu=$(awk -F': ' '/User time|System time/ { t += $2 } END { printf "%.2f", t }' "$work/time")
		echo "  $name run $i: ${s} s (CPU ${cpu} s), peak RSS $((kb / 1024)) MiB"
		if [ -z "$best_s" ] || awk -v a="$s" -v b="$best_s" 'BEGIN { exit !(a < b) }'; then
			best_s=$s best_kb=$kb best_cpu=$cpu
		fi
	done
}

rows=$work/rows			# tool lines seconds rss_kb cpu_seconds
: > "$rows"

make_log "$LINES"
log1=$log truth1=$truth
echo "lazaret: $ctl analyze --maillog $log1 --json"
if timed lazaret "$work/lazaret.json" "$ctl" analyze --maillog "$log1" --json; then
	echo "lazaret $LINES $best_s $best_kb $best_cpu" >> "$rows"
else
	failed=1
fi
for p in $PEERS; do
	case $p in
	pflogsumm) set -- pflogsumm --problems-first "$log1" ;;
	*) set -- "$p" "$log1" ;;
	esac
	echo "$p: $*"
	if timed "$p" "$work/$p.out" "$@"; then
		echo "$p $LINES $best_s $best_kb $best_cpu" >> "$rows"
	else
		failed=1
	fi
done
if [ "$DOUBLE" = 1 ]; then
	make_log $((LINES * 2))
	echo "lazaret on the double file: $ctl analyze --maillog $log --json"
	if timed "lazaret 2x" "$work/lazaret2.json" "$ctl" analyze --maillog "$log" --json; then
		echo "lazaret-2x $((LINES * 2)) $best_s $best_kb $best_cpu" >> "$rows"
	else
		failed=1
	fi
fi

# ---- many distinct clients --------------------------------------------------------------
# The log of bench/analyze_scale.sh (its stamp, so that both scripts reuse one file): what
# grows here is what each tool keeps per client, not per line.
if [ "$SCALE_CLIENTS" -gt 0 ]; then
	mkdir -p "$SCALE_DIR"
	slog=$SCALE_DIR/scale.log
	sstamp="$SCALE_CLIENTS 20 $(md5sum < "$here/flagged_gen.awk" | cut -d' ' -f1)"
	if [ -s "$slog" ] && [ "$(cat "$SCALE_DIR/stamp" 2>/dev/null)" = "$sstamp" ]; then
		echo "reusing $slog ($(($(wc -c < "$slog") / 1048576)) MiB)"
		cat "$slog" > /dev/null
	else
		echo "generating $slog: $SCALE_CLIENTS distinct clients, every 20th a bot ..."
		rm -f "$SCALE_DIR/stamp"
		awk -v clients="$SCALE_CLIENTS" -v every=20 -f "$here/flagged_gen.awk" > "$slog"
		echo "$sstamp" > "$SCALE_DIR/stamp"
	fi
	slines=$(wc -l < "$slog" | tr -d ' ')
	keep_runs=$RUNS
	RUNS=$SCALE_RUNS
	echo "lazaret, $SCALE_CLIENTS clients: $ctl analyze --maillog $slog --json"
	if timed "lazaret ${SCALE_CLIENTS}c" "$work/scale.json" "$ctl" analyze --maillog "$slog" --json; then
		echo "lazaret-${SCALE_CLIENTS}c $slines $best_s $best_kb $best_cpu" >> "$rows"
	else
		failed=1
	fi
	rm -f "$work/scale.json"
	for p in $PEERS; do
		case $p in
		pflogsumm) set -- pflogsumm --problems-first "$slog" ;;
		*) set -- "$p" "$slog" ;;
		esac
		echo "$p, $SCALE_CLIENTS clients: $*"
		if timed "$p ${SCALE_CLIENTS}c" "$work/scale.out" "$@"; then
			echo "$p-${SCALE_CLIENTS}c $slines $best_s $best_kb $best_cpu" >> "$rows"
		else
			failed=1
		fi
		rm -f "$work/scale.out"
	done
	RUNS=$keep_runs
fi

# ---- the table -------------------------------------------------------------------------
echo
echo "Postfix log analysis, $(date -u +%Y-%m-%d), $(uname -n), $ncpu CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load $(cut -d' ' -f1-3 /proc/loadavg), best of $RUNS"
awk '
	{ tool[NR] = $1; lines[NR] = $2; secs[NR] = $3; kb[NR] = $4; cpu[NR] = $5
	  rate[NR] = $3 > 0 ? $2 / $3 : 0; crate[NR] = $5 > 0 ? $2 / $5 : 0
	  if ($1 == "lazaret") { laz = rate[NR]; claz = crate[NR] }
	  if ($1 == "pflogsumm") { pfl = rate[NR]; cpfl = crate[NR] } }
	END {
		printf "%-18s %10s %9s %12s %10s %8s %14s\n", "tool", "lines", "seconds", "lines/s", "peak RSS", "CPU s",
		    "lines/CPU-s"
		for (i = 1; i <= NR; i++)
			printf "%-18s %10d %9.2f %12.0f %6.1f MiB %8.2f %14.0f\n", tool[i], lines[i], secs[i], rate[i],
			    kb[i] / 1024, cpu[i], crate[i]
		if (laz > 0 && pfl > 0)
			printf "lazaret / pflogsumm: %.1fx (target >= 10x, aim 20x: %s)\n", laz / pfl,
			    (laz / pfl >= 20 ? "aim met" : (laz / pfl >= 10 ? "target met" : "MISSED"))
		if (claz > 0 && cpfl > 0)
			printf "per CPU second: %.1fx\n", claz / cpfl
		if (laz > 0)
			printf "lazaret: %.2f M lines/s on one core (issue target >= 2.3 M lines/s: %s)\n", laz / 1e6,
			    (laz >= 2.3e6 ? "met" : "MISSED")
		for (i = 1; i <= NR; i++) if (tool[i] == "lazaret") { k1 = kb[i]; l1 = lines[i] } else if (tool[i] == "lazaret-2x") k2 = kb[i]
		if (k1 > 0 && k2 > 0)
			printf "lazaret peak RSS: %.1f MiB on %d lines, %.1f MiB on twice as many (%+.0f%%)\n",
			    k1 / 1024, l1, k2 / 1024, (k2 - k1) * 100 / k1
		for (i = 1; i <= NR; i++) {
			if (tool[i] ~ /^lazaret-[0-9]+c$/) { sl = i; sc = substr(tool[i], 9, length(tool[i]) - 9) }
			else if (tool[i] ~ /^pflogsumm-[0-9]+c$/) sp = i
		}
		if (sl && sp)
			printf "%s distinct clients: lazaret %.2f s, peak RSS %.0f MiB; pflogsumm %.2f s, peak RSS %.0f MiB: %.1fx by wall time, %.1fx less memory\n",
			    sc, secs[sl], kb[sl] / 1024, secs[sp], kb[sp] / 1024, (secs[sl] > 0 ? secs[sp] / secs[sl] : 0),
			    (kb[sl] > 0 ? kb[sp] / kb[sl] : 0)
		else if (sl)
			printf "%s distinct clients: lazaret %.2f s, peak RSS %.0f MiB\n", sc, secs[sl], kb[sl] / 1024
	}' "$rows"

# ---- what lazaret read and flagged ----------------------------------------------------------
json=$work/lazaret.json
if [ -s "$json" ]; then
	echo
	# "skipped": { "not_postfix": N, ... } — only the deliberate non-Postfix lines may be there
	awk '/^  "lines": / { gsub(/[^0-9]/, ""); print "lines read: " $0 }
	     /^  "skipped": \{/ { s = 1; next } s && /^  \}/ { s = 0 }
	     s { gsub(/[ ",]/, ""); printf "skipped: %s\n", $0 }
	     /^  "unattributed": / { gsub(/[^0-9]/, ""); print "outcomes not attributable (bounce notices, from=<>): " $0 }
	     /^  "queue_ids_open": / { gsub(/[^0-9]/, ""); print "queue IDs open at the end: " $0 }' "$json"
	bad=$(awk '/^  "skipped": \{/ { s = 1; next } s && /^  \}/ { s = 0 }
	     s && !/"not_postfix"/ { print }' "$json")
	if [ -n "$bad" ]; then
		echo "maillog.sh: lazaret skipped Postfix lines of the generated log: $bad" >&2
		failed=1
	fi
	# flagged subjects: "subject PEAK evidence,kinds"
	awk '
		function flush() { if (s != "") print s, p, (ev == "" ? "-" : ev); s = ""; ev = "" }
		/^      "subject": / { flush(); s = $0; sub(/^ *"subject": "/, "", s); sub(/",?$/, "", s) }
		/^      "peak_level": / { p = $0; sub(/^ *"peak_level": "/, "", p); sub(/",?$/, "", p) }
		/^          "kind": / { k = $0; sub(/^ *"kind": "/, "", k); sub(/",?$/, "", k); ev = ev (ev == "" ? "" : ",") k }
		END { flush() }' "$json" > "$work/flagged"
	awk -v truth="$truth1" '
		BEGIN {
			while ((getline l < truth) > 0) {
				split(l, f, " ")
				if (f[1] == "bot") { bot[f[2]] = 1; nbot++ }
				else if (f[1] == "spam") { spam[f[2]] = 1; nspam++ }
				else if (f[1] == "hijacked") { hij["account:" f[2]] = 1; nhij++ }
				else if (f[1] == "hijack_net") net[f[2]] = 1
			}
		}
		{
			s = $1; lvl = $2; c = ""
			if (s in bot) c = "bot"
			else if (s in spam) c = "spam"
			else if (s in hij) c = "hijacked"
			else { n = split(s, o, "."); if (n == 4 && (o[1] "." o[2] "." o[3]) in net) c = "hijack_client" }
			if (c == "") c = s ~ /^account:/ ? "other_account" : "other_host"
			found[c]++; at[c, lvl]++
			split($3, e, ","); for (i in e) why[c, e[i]]++
			if (c ~ /^other/ && shown[c]++ < 5) other[c] = other[c] "    " s " (" lvl ": " $3 ")\n"
		}
		function line(c, label, planted,   i, l, r, lv, ek, sep) {
			l = sprintf("%-34s", label); r = found[c] + 0
			if (planted != "") l = l sprintf(" %4d of %4d flagged", r, planted)
			else l = l sprintf(" %4d flagged        ", r)
			sep = " ("
			split("quarantine throttle watch", lv, " ")
			for (i = 1; i <= 3; i++) if (at[c, lv[i]]) { l = l sep at[c, lv[i]] " " lv[i]; sep = ", " }
			if (sep == ", ") l = l ")"
			sep = "; evidence: "
			split("bounce_ratio recipient_domains spam_rejected account_networks", ek, " ")
			for (i = 1; i <= 4; i++) if (why[c, ek[i]]) { l = l sep ek[i] " " why[c, ek[i]]; sep = ", " }
			print l
		}
		END {
			print "flagged by lazaret (peak level), against what maillog_gen planted:"
			line("bot", "bots (bounces, many domains)", nbot + 0)
			line("hijacked", "hijacked SASL accounts", nhij + 0)
			line("spam", "hosts refused as spam", nspam + 0)
			line("hijack_client", "addresses hijackers logged in from")
			line("other_host", "other hosts")
			line("other_account", "other accounts")
			printf "%s%s", other["other_host"], other["other_account"]
		}' "$work/flagged"
fi
exit $failed
