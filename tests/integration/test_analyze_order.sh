#!/bin/bash
# test_analyze_order.sh — lazaretctl analyze ranks its flagged subjects as it always has
# (issue 14 item 9): the quadratic insertion sort became a qsort and --json streams one
# subject at a time; neither may change what is printed or in what order. No daemon,
# no Postfix. No timing here: bench/analyze_scale.sh measures the speed.
#
#   1. 1 000 of 3 000 generated clients flagged (bench/flagged_gen.awk), all in the same
#      microsecond, so bots with as many recipients and refusals have exactly the same
#      score: highest peak first, then highest score; equal ones (up to 19 at once) by
#      their names' bytes, the same in every run although the subject table's hash is
#      keyed anew in each process (the walk order the insertion sort left them in was
#      the unkeyed hash's): pinned by a digest, and two runs must agree
#   2. --json: valid, the same subjects in the same order with the same peak and
#      score, each laid out at the depth json_dumpf gives a whole tree
set -u
. "$(dirname "$0")/lib.sh"
t_init
t_require_cmd sqlite3

# the digest of the 1 000 subjects' order: rank, then the names' bytes among equals
PINNED_ORDER=756afee6b21dddda5b2cf15b8c4386c3
LOG=$T/mail.log
awk -v clients=3000 -v every=3 -v step=0 -f "$REPO_ROOT/bench/flagged_gen.awk" >"$LOG" || fail "bench/flagged_gen.awk failed"

case_begin "1. the text table: peak, then score, then the names' bytes"
"$LAZARETCTL" analyze --maillog "$LOG" >"$T/out.txt" 2>"$T/err" || fail "analyze: status $? $(cat "$T/err")"
awk '/^10\./ { print $1, $2, $4 }' "$T/out.txt" >"$T/rows"
assert_eq "subjects flagged" 1000 "$(wc -l <"$T/rows")"
bad=$(awk 'BEGIN { r["watch"] = 1; r["throttle"] = 2; r["quarantine"] = 3; r["suspend"] = 4 }
	NR > 1 && (r[$2] > pr || (r[$2] == pr && $3 + 0 > ps + 0)) { print NR ": " $0 " after " prev }
	{ pr = r[$2]; ps = $3; prev = $0 }' "$T/rows")
assert_eq "no row outranks the one above it" "" "$bad"
ties=$(awk '{ print $2, $3 }' "$T/rows" | uniq -c | sort -rn | awk 'NR == 1 { print $1 }')
assert_ge "the input has ties to order" 10 "$ties"
assert_eq "the pinned order" "$PINNED_ORDER" "$(awk '{ print $1 }' "$T/rows" | md5sum | cut -d' ' -f1)"
"$LAZARETCTL" analyze --maillog "$LOG" >"$T/out2.txt" 2>"$T/err" || fail "analyze (again): status $? $(cat "$T/err")"
assert_eq "a second run (another hash key) prints the same table" "" "$(diff <(tail -n +2 "$T/out.txt") <(tail -n +2 "$T/out2.txt") | head -3)"
case_pass

case_begin "2. --json: the same subjects, order, peaks and scores"
"$LAZARETCTL" analyze --json --maillog "$LOG" >"$T/out.json" 2>"$T/err" || fail "analyze --json: status $? $(cat "$T/err")"
sqlite3 -batch :memory: "select json_extract(value, '\$.subject') || ' ' || json_extract(value, '\$.peak_level')
	|| ' ' || printf('%.2f', json_extract(value, '\$.score'))
	from json_each(readfile('$T/out.json'), '\$.flagged') order by key" >"$T/jrows" 2>"$T/err" ||
	fail "--json is not JSON: $(cat "$T/err")"
assert_eq "same rows as the text table" "" "$(diff "$T/rows" "$T/jrows" | head -5)"
assert_eq "every subject's first member at depth 3 (6 blanks)" 1000 "$(grep -c '^      "subject": "10\.' "$T/out.json")"
assert_eq "every subject opens at depth 2 (4 blanks)" 1000 "$(grep -c '^    {$' "$T/out.json")"
assert_eq "the array closes at depth 1, then the root" "  ]|}" "$(tail -n 2 "$T/out.json" | paste -sd'|')"
case_pass
