#!/bin/bash
# test_analyze_gz.sh — lazaretctl analyze reads logrotate's compressed rotations (mail.log.2.gz)
# as it reads plain logs; a damaged or cut one is an error with exit status 1. Before, a .gz
# was parsed as junk lines (skipped as timestamp errors) with exit status 0.
#   1. a realistic log (bench/maillog_gen, with bots and hijacked accounts) compressed by gzip:
#      the same JSON (lines, kinds, skips, outcomes, flagged subjects) as the plain file, also
#      from stdin and in gzip -c a >> b members, and mixed with plain files in one run
#   2. a cut .gz and one with a damaged byte: an error naming the file, exit status 1
# Usage: BUILD_DIR=build tests/integration/test_analyze_gz.sh   (IT_KEEP=1 keeps $T)

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC2119
. "$(dirname "$0")/lib.sh"

t_init
t_require_cmd gzip jq cmp
GEN=$BUILD_DIR/bench/maillog_gen
[ -x "$GEN" ] || fail "$GEN not built (ninja -C $BUILD_DIR)"

# The JSON without its run time.
analyze_json() { "$LAZARETCTL" analyze --json --maillog "$@" | jq -S 'del(.seconds)'; }

case_begin "1. a gzip rotation reads like the plain log"
"$GEN" -n 200000 -s 7 -b 20 -a 5 -o "$T/mail.log" 2>"$T/gen.err" || fail "maillog_gen: $(cat "$T/gen.err")"
head -n 100000 "$T/mail.log" >"$T/a"
tail -n +100001 "$T/mail.log" >"$T/b"
gzip -c "$T/mail.log" >"$T/mail.log.2.gz"
{ gzip -c "$T/a"; gzip -c "$T/b"; } >"$T/members.gz"
gzip -c "$T/b" >"$T/b.gz"
analyze_json "$T/mail.log" >"$T/plain.json" || fail "analyze of the plain log failed"
[ "$(jq '.flagged | length' "$T/plain.json")" -gt 0 ] || fail "the generated log flags nobody: a weak comparison"
log "plain: $(jq -c '{lines, skipped, flagged: (.flagged | length)}' "$T/plain.json")"
analyze_json "$T/mail.log.2.gz" >"$T/gz.json" || fail "analyze of mail.log.2.gz exited $?"
cmp -s "$T/plain.json" "$T/gz.json" || fail "mail.log.2.gz differs from mail.log: $(diff "$T/plain.json" "$T/gz.json" | head -20)"
analyze_json - <"$T/mail.log.2.gz" >"$T/stdin.json" || fail "analyze of a .gz on stdin exited $?"
cmp -s "$T/plain.json" "$T/stdin.json" || fail "a .gz on stdin differs: $(diff "$T/plain.json" "$T/stdin.json" | head -20)"
analyze_json "$T/members.gz" >"$T/members.json" || fail "analyze of a two-member .gz exited $?"
cmp -s "$T/plain.json" "$T/members.json" || fail "two gzip members differ: $(diff "$T/plain.json" "$T/members.json" | head -20)"
analyze_json "$T/a" "$T/b.gz" >"$T/mixed.json" || fail "analyze of a plain and a .gz file exited $?"
cmp -s "$T/plain.json" "$T/mixed.json" || fail "plain + .gz differs: $(diff "$T/plain.json" "$T/mixed.json" | head -20)"
case_pass "$(jq .lines "$T/gz.json") lines, $(jq '.flagged | length' "$T/gz.json") flagged, identical"

case_begin "2. a cut or damaged .gz is an error, status 1"
size=$(stat -c %s "$T/mail.log.2.gz")
head -c $((size / 2)) "$T/mail.log.2.gz" >"$T/cut.gz"
cp "$T/mail.log.2.gz" "$T/damaged.gz"
printf '\377\377\377\377\377\377\377\377' | dd of="$T/damaged.gz" bs=1 seek=$((size / 3)) conv=notrunc status=none
for f in cut.gz damaged.gz; do
	rc=0
	"$LAZARETCTL" analyze --maillog "$T/$f" >"$T/$f.out" 2>"$T/$f.err" || rc=$?
	assert_eq "exit status of analyze over $f" 1 "$rc"
	assert_file_match "the error names $f" "lazaretctl: analyze: .*$f: damaged gzip file" "$T/$f.err"
	log "$f: $(cat "$T/$f.err")"
done
case_pass
