#!/bin/bash
# test_corpus.sh — real Postfix logs from public repositories (tests/corpus/maillog/, origin and
# licence of each in its README.md) replayed through `lazaretctl analyze --json`, each file's
# result pinned in a golden file beside it (NAME.expected):
#   - lines read, lines understood by kind, lines skipped by reason, outcomes by class, the
#     outcomes nobody could be charged with, queue IDs left open, and every flagged subject
#     with its peak level and kinds of evidence;
#   - pflogsumm's totals on the same file (delivered, deferrals, bounced, rejected) and the three
#     comparisons with lazaret's (compare MEASURE LAZARET PFLOGSUMM, see below).
# Every difference between the two tools must be explained by a row of the table in
# tests/corpus/maillog/README.md ("| FILE | MEASURE | LAZARET | PFLOGSUMM | why |"), and every
# row must still hold: a new, unexplained difference fails, and so does a stale explanation.
#
# The comparisons (lazaret counts outcomes it attributed to a client, by class; pflogsumm counts
# log lines by status):
#   delivered  lazaret's "delivered"                 pflogsumm's "delivered"
#   deferred   lazaret's "temporary" (4xx, deferred) pflogsumm's deferrals (status=deferred lines)
#   refused    lazaret's 5xx classes (unknown_recipient, spam_rejected, policy_rejected,
#              mailbox_full, other_permanent)        pflogsumm's "bounced" + "rejected"
#
# Then lazaretd's follower reads the whole corpus (one log, the files one after the other, appended
# while it runs) and must count what `analyze --config` with the same configuration counts: lines,
# kinds, skips, outcomes, unattributed, open queue IDs.
#
# Usage: BUILD_DIR=build tests/integration/test_corpus.sh [--update]
#   --update rewrites every NAME.expected from today's output (then read `git diff` and check
#   the new numbers are plausible, and explain any new pflogsumm difference in the README).
# On a mismatch every difference is printed (diff -u, expected then seen) and the test fails.
# A .gz file is read by analyze as it is (logrotate's rotations) and by pflogsumm through zcat.

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

UPDATE=0
case ${1:-} in
--update) UPDATE=1 ;;
"") ;;
*) echo "usage: $0 [--update]" >&2; exit 2 ;;
esac

t_init
t_require_cmd jq pflogsumm zcat diff
CORPUS=$REPO_ROOT/tests/corpus/maillog
README=$CORPUS/README.md
[ -f "$README" ] || fail "$README missing"

# summarize FILE — the canonical summary of one file, as NAME.expected holds it.
summarize() {
	local f=$1 json plain
	json=$("$LAZARETCTL" analyze --json --maillog "$f") || fail "analyze --json $f failed"
	jq -r '
		"lines \(.lines)",
		(.kinds | to_entries | sort_by(.key)[] | "kind \(.key) \(.value)"),
		(.skipped | to_entries | sort_by(.key)[] | "skipped \(.key) \(.value)"),
		(.outcomes | to_entries | sort_by(.key)[] | "outcome \(.key) \(.value)"),
		"unattributed \(.unattributed)",
		"queue_ids_open \(.queue_ids_open)",
		"queue_ids_evicted \(.queue_ids_evicted)",
		"flagged \(.flagged | length)",
		(.flagged | sort_by(.subject)[] |
		    "flagged \(.subject) \(.peak_level) \([.evidence[].kind] | unique | join(","))"),
		"lazaret delivered \(.outcomes.delivered // 0)",
		"lazaret deferred \(.outcomes.temporary // 0)",
		"lazaret refused \((.outcomes.unknown_recipient // 0) + (.outcomes.spam_rejected // 0)
		    + (.outcomes.policy_rejected // 0) + (.outcomes.mailbox_full // 0)
		    + (.outcomes.other_permanent // 0))"' <<<"$json" || fail "jq on the JSON of $f"
	plain=$f
	case $f in
	*.gz) plain=$T/$(basename "$f" .gz); zcat "$f" >"$plain" || fail "zcat $f" ;;
	esac
	# pflogsumm's "Grand Totals": "N   delivered", "N   deferred  (M deferrals)", ...
	pflogsumm "$plain" 2>"$T/pflogsumm.err" | awk '
		/^Grand Totals/ { g = 1 } /^Per-/ { g = 0 }
		g && $2 == "delivered" { d = $1 }
		g && $2 == "deferred" { n = 0; if ($3 ~ /^\(/) { n = $3; sub(/^\(/, "", n) } def = n }
		g && $2 == "bounced" { b = $1 }
		g && $2 == "rejected" { r = $1 }
		END {
			if (d == "" || def == "" || b == "" || r == "") exit 1
			printf "pflogsumm delivered %d\npflogsumm deferred %d\npflogsumm bounced %d\npflogsumm rejected %d\n",
			    d, def, b, r
		}' || fail "pflogsumm on $f: no Grand Totals ($(head -3 "$T/pflogsumm.err"))"
}

# compare SUMMARY — "compare MEASURE LAZARET PFLOGSUMM" lines from a summary.
compare() {
	awk '
		$1 == "lazaret" { l[$2] = $3 }
		$1 == "pflogsumm" { p[$2] = $3 }
		END {
			printf "compare delivered %d %d\n", l["delivered"], p["delivered"]
			printf "compare deferred %d %d\n", l["deferred"], p["deferred"]
			printf "compare refused %d %d\n", l["refused"], p["bounced"] + p["rejected"]
		}' <<<"$1"
}

# The README's explanations: "FILE MEASURE LAZARET PFLOGSUMM" of every row of its table of
# differences (rows whose first cell names a corpus file).
explained=$(awk -F'|' '
	NF >= 6 {
		for (i = 2; i <= 5; i++) { c[i] = $i; gsub(/^[ `]+|[ `]+$/, "", c[i]) }
		if (c[2] ~ /\.log(\.gz)?$/ && c[4] ~ /^[0-9]+$/ && c[5] ~ /^[0-9]+$/)
			print c[2], c[3], c[4], c[5]
	}' "$README")

files=()
for f in "$CORPUS"/*.log "$CORPUS"/*.log.gz; do
	[ -e "$f" ] && files+=("$f")
done
[ "${#files[@]}" -ge 8 ] || fail "only ${#files[@]} files in $CORPUS"

case_begin "1. each corpus file: analyze --json and pflogsumm pinned in NAME.expected"
bad=0
seen_diffs=""
for f in "${files[@]}"; do
	name=$(basename "$f")
	exp=$CORPUS/${name%.gz}
	exp=${exp%.log}.expected
	sum=$(summarize "$f")
	sum=$(printf '%s\n%s\n' "$sum" "$(compare "$sum")")
	seen_diffs+=$(awk -v n="$name" '$1 == "compare" && $3 != $4 { print n, $2, $3, $4 }' <<<"$sum")$'\n'
	if [ "$UPDATE" = 1 ]; then
		{
			echo "# $name: lazaretctl analyze --json and pflogsumm, pinned by tests/integration/test_corpus.sh"
			echo "# (regenerate: BUILD_DIR=build tests/integration/test_corpus.sh --update)"
			echo "$sum"
		} >"$exp"
		log "updated $(basename "$exp")"
		continue
	fi
	if [ ! -f "$exp" ]; then
		echo "no $exp: run tests/integration/test_corpus.sh --update and read it"
		bad=1
		continue
	fi
	if ! diff -u --label "$(basename "$exp") (expected)" --label "$name (seen)" \
	    <(grep -v '^#' "$exp") <(echo "$sum"); then
		bad=1
	else
		log "$name: $(sed -n 's/^lines //p' <<<"$sum") lines, as pinned"
	fi
done
[ "$bad" = 0 ] || fail "the corpus results differ from the golden files (above; --update rewrites them)"
case_pass "${#files[@]} files"

case_begin "2. every difference from pflogsumm is explained in the README, every explanation holds"
seen_diffs=$(grep -v '^$' <<<"$seen_diffs" | sort)
explained=$(sort <<<"$explained")
unexplained=$(comm -23 <(echo "$seen_diffs") <(echo "$explained") | grep -v '^$')
stale=$(comm -13 <(echo "$seen_diffs") <(echo "$explained") | grep -v '^$')
[ -z "$unexplained" ] || echo "differences from pflogsumm with no row in $README (FILE MEASURE LAZARET PFLOGSUMM):"$'\n'"$unexplained"
[ -z "$stale" ] || echo "rows of $README that no longer hold (FILE MEASURE LAZARET PFLOGSUMM):"$'\n'"$stale"
if [ "$UPDATE" = 0 ]; then
	[ -z "$unexplained$stale" ] || fail "the table of differences from pflogsumm does not match"
fi
case_pass "$(grep -c . <<<"$seen_diffs") differences, each explained"

case_begin "3. lazaretd's follower reads the corpus as analyze does"
FOLLOWED=$T/mail.log
: >"$FOLLOWED"
lz_config "maillog.file=$FOLLOWED" "maillog.poll_interval=100ms"
lz_start
ALL=$T/corpus.log
for f in "${files[@]}"; do
	case $f in *.gz) zcat "$f" >"$T/one" ;; *) cat "$f" >"$T/one" ;; esac
	cat "$T/one"
	# a file without a last newline (crowdsec-postscreen-logs.log) keeps its line whole
	[ -z "$(tail -c1 "$T/one" | tr -d '\n')" ] || echo
done >"$ALL"
cat "$ALL" >>"$FOLLOWED"
PF_LOG=$FOLLOWED         # lz_maillog_wait compares with this file's lines
lz_maillog_wait 20 || fail "lazaretd read $(lz_maillog_lines) of $(wc -l <"$FOLLOWED") lines in 20 s"
# outcomes of a queue ID 127.0.0.1 opened wait for a content filter's link up to 15 s of
# log time, charged at lazaretd's next second (these lines are years old); analyze at the end
held='.maillog.content_filter | .outcomes_held - .held_then_linked - .held_then_unlinked'
none_held() { [ "$(lz_stats | jq "$held")" = 0 ]; }
wait_for 5 none_held ||
	fail "lazaretd still holds $(lz_stats | jq "$held") outcomes for a content filter's link after 5 s"
counters='{ lines, kinds: (.kinds | with_entries(select(.value != 0))), skipped,
	outcomes: (.outcomes | with_entries(select(.value != 0))), unattributed, queue_ids_open }'
daemon=$(lz_stats | jq -S ".maillog | $counters") || fail "jq on lazaretd's stats"
offline=$("$LAZARETCTL" analyze --json --config "$LZ_CONF" --maillog "$ALL" | jq -S "$counters") ||
	fail "analyze --config $LZ_CONF on the corpus"
if ! diff -u --label "analyze --config (expected)" --label "lazaretd's stats (seen)" \
    <(echo "$offline") <(echo "$daemon"); then
	fail "the follower and analyze count the corpus differently"
fi
case_pass "$(jq .lines <<<"$daemon") lines, the same counts"
