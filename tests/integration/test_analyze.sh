#!/bin/bash
# test_analyze.sh — lazaretctl analyze tells the truth in its exit status and messages
# (issue 14 item 8): a log it cannot read gives an error naming the file, status 1 and no
# verdict at all (no "Nobody would be flagged", no JSON), whatever else it was given; a
# readable log gives its verdict and status 0. No daemon, no Postfix.
#
#   1. a missing file, a directory, a file its user may not read (as nobody, via setpriv)
#   2. one good file among unreadable ones: still no verdict
#   3. a good file: the counts, the verdict line, status 0 (text and JSON)
#   4. --help documents every exit status
#   5. --flows: flows as nfdump prints them through the flow detectors; a direct-to-MX bot
#      flagged with its summary, its neighbour not; no [network] subscribers: status 2
set -u
. "$(dirname "$0")/lib.sh"
t_init

GOOD=$T/mail.log
cat >"$GOOD" <<'LOG'
Dec  4 10:00:00 relay postfix/smtpd[123]: 3F2A1B2C3D: client=pc.example[192.0.2.7]
Dec  4 10:00:01 relay postfix/smtp[124]: 3F2A1B2C3D: to=<a@example.org>, relay=mx.example.org[198.51.100.1]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok)
LOG
chmod 644 "$GOOD"
SECRET=$T/secret.log
cp "$GOOD" "$SECRET"
chmod 600 "$SECRET"       # root's; nobody may not read it
mkdir -p "$T/adir"

# analyze CMD... — runs CMD, leaves its stdout in $out, stderr in $err, status in $rc
analyze() {
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

no_verdict() {       # WHAT FILE-NAMED-IN-ERROR REASON
	assert_eq "$1: exit status" 1 "$rc"
	assert_eq "$1: nothing on stdout" "" "$out"
	assert_match "$1: the file and why on stderr" "cannot (open|read|reading).*$2.*$3|$2.*$3" "$err"
	assert_match "$1: says there is no verdict" "no verdict" "$err"
}

case_begin "1. unreadable input: an error, status 1, no verdict"
analyze "$LAZARETCTL" analyze --maillog "$T/missing.log"
no_verdict "missing file" "$T/missing.log" "No such file"
analyze "$LAZARETCTL" analyze --maillog "$T/missing.log" --json
no_verdict "missing file, --json" "$T/missing.log" "No such file"
analyze "$LAZARETCTL" analyze --maillog "$T/adir"
no_verdict "a directory" "$T/adir" "Is a directory"
t_require_cmd setpriv
analyze nobody "$LAZARETCTL" analyze --maillog "$SECRET"
no_verdict "a file nobody may not read (as nobody)" "$SECRET" "Permission denied"
case_pass

case_begin "2. one good file among unreadable ones: still no verdict"
analyze nobody "$LAZARETCTL" analyze --maillog "$GOOD" "$SECRET"
no_verdict "good then unreadable" "$SECRET" "Permission denied"
assert_match "counts the files" "1 of 2 files" "$err"
analyze "$LAZARETCTL" analyze --maillog "$T/missing.log" "$GOOD" --json
no_verdict "missing then good, --json" "$T/missing.log" "No such file"
case_pass

case_begin "3. a good file: its verdict, status 0"
analyze nobody "$LAZARETCTL" analyze --maillog "$GOOD"
assert_eq "good file: exit status" 0 "$rc"
assert_eq "good file: nothing on stderr" "" "$err"
assert_match "good file: lines counted" "^2 lines in" "$out"
assert_match "good file: outcome counted" "outcomes: delivered 1" "$out"
assert_match "good file: the verdict line" "^Nobody would be flagged" "$out"
analyze "$LAZARETCTL" analyze --maillog "$GOOD" "$GOOD" --json
assert_eq "two good files, --json: exit status" 0 "$rc"
assert_eq "two good files, --json: lines" 4 "$(json_get "$out" '$.lines')"
assert_eq "two good files, --json: nobody flagged" 0 "$(json_count "$out" '$.flagged')"
case_pass

case_begin "4. --help documents every exit status"
help=$("$LAZARETCTL" --help)
for s in 0 1 2 3; do
	assert_match "--help: status $s" "^  $s  " "$help"
done
assert_match "--help: status 1 covers analyze's unreadable input" "analyze: a file could not be opened" "$help"
help=$("$LAZARETCTL" analyze --help)
assert_match "analyze --help: status 1" "Exit status 1 when a file cannot be opened or read" "$help"
case_pass

case_begin "5. --flows: nfdump's CSV through the flow detectors"
FLOWS=$T/flows.csv
{
	echo "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das,smk,dmk,dtos,dir,nh,nhb,svln,dvln,ismc,odmc,idmc,osmc,mpls1,mpls2,mpls3,mpls4,mpls5,mpls6,mpls7,mpls8,mpls9,mpls10,cl,sl,al,ra,eng,exid,tr"
	tail="0,0,0,0,0,0,0,0,0,0,0.0.0.0,0.0.0.0,0,0,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,00:00:00:00:00:00,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0-0-0,0.000,0.000,0.000,192.0.2.1,0/0,1,2026-12-04 10:10:00.000"
	# 100.64.0.10: TCP/25 SYNs to 25 mail servers in two minutes, none of them the relay
	for i in $(seq 1 25); do
		printf '2026-12-04 10:0%d:%02d,2026-12-04 10:0%d:%02d,0.000,100.64.0.10,203.0.113.%d,4%04d,25,TCP,......S.,0,0,1,60,%s\n' \
			$((i / 13)) $((i * 4 % 60)) $((i / 13)) $((i * 4 % 60)) "$i" "$i" "$tail"
	done
	# 100.64.0.11: mail through the relay, and the web
	printf '2026-12-04 10:01:00,2026-12-04 10:01:05,5.000,100.64.0.11,198.51.100.25,40000,587,TCP,...AP.SF,0,0,12,9000,%s\n' "$tail"
	printf '2026-12-04 10:01:00,2026-12-04 10:01:09,9.000,100.64.0.11,198.51.100.80,40001,443,TCP,...AP.SF,0,0,40,52000,%s\n' "$tail"
	echo "Summary"
	echo "flows,bytes,packets,avg_bps,avg_pps,avg_bpp"
	echo "27,62500,77,0,0,811"
} >"$FLOWS"
analyze "$LAZARETCTL" analyze --flows "$FLOWS"
assert_eq "--flows without [network] subscribers: exit status" 2 "$rc"
assert_match "--flows without [network] subscribers: says what is missing" "needs \\[network\\] subscribers" "$err"
printf '[network]\nsubscribers = 100.64.0.0/10\nrelay = 198.51.100.25\n' >"$T/net.conf"
analyze "$LAZARETCTL" analyze --flows "$FLOWS" --config "$T/net.conf"
assert_eq "--flows: exit status" 0 "$rc"
assert_match "--flows: records counted" "^31 lines, 27 flow records in" "$out"
assert_match "--flows: the bot flagged with its summary" \
	"^100\\.64\\.0\\.10 .*direct_mx: tried to reach 25 mail servers directly in 10 minutes; the relay is 198\\.51\\.100\\.25" "$out"
assert_no_match "--flows: its neighbour not" "100\\.64\\.0\\.11" "$out"
analyze "$LAZARETCTL" analyze --flows "$FLOWS" --config "$T/net.conf" --json
assert_eq "--flows --json: exit status" 0 "$rc"
assert_eq "--flows --json: records" 27 "$(json_get "$out" '$.records')"
assert_eq "--flows --json: one flagged" 1 "$(json_count "$out" '$.flagged')"
analyze "$LAZARETCTL" analyze --flows "$FLOWS" --maillog "$GOOD"
assert_eq "--flows with --maillog: a usage error" 2 "$rc"
case_pass
