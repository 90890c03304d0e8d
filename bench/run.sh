#!/bin/sh
# run.sh BUILD_DIR — run every benchmark in bench/ (each bench/*.sh but this
# one) against the binaries in BUILD_DIR, one after the other. `make bench`
# calls it. Exit status: 1 when any benchmark failed, after running them all.
#
# The steps (bench/README.md):
#   policy   policy.sh: requests/s and latency of the policy service (lazaretd,
#            dunno_server, postfwd)
#   maillog  maillog.sh: `lazaretctl analyze` over a generated 5 M-line Postfix
#            log beside pflogsumm, and peak RSS on a log twice as long
#            (MAILLOG_LINES=N for another length; about 3 GB in $TMPDIR)
#   analyze_scale  analyze_scale.sh: `lazaretctl analyze` over 2 M distinct clients,
#            100 000 of them flagged: the time to rank and print them, and RSS
#            (1.9 GB in $TMPDIR, kept for the next run)
#   backlog  backlog.sh: lazaretd catching up on 1.9 GB of mail log, alone and while
#            policy requests arrive (about 2 GB in $TMPDIR, removed afterwards)
#   radius   radius.sh: RADIUS accounting records/s, lazaretd beside FreeRADIUS with its
#            detail file; a reconnect storm with quarantined subscribers; memory and
#            store size for 1 M subscribers (~6 minutes, ~1 GB in $TMPDIR)
#   flows    flows.sh: NetFlow v9 / IPFIX records/s into flowsink, nfcapd, nfacctd
#            and FastNetMon (and lazaretd once it has a collector), ~4 minutes
#   combined combined.sh: one lazaretd under flows, policy requests and a mail log at
#            once (100 000 records/s, 2 000 requests/s, 10 000 lines/s), ~2.5 minutes
#   shared   shared.sh: three nodes on one PostgreSQL: verdict propagation, 100 000
#            quarantines to the gateway, the policy hot path on SQLite and PostgreSQL (~3 min)
# BENCHES="maillog" runs only the named steps.
set -u

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$1
here=$(cd "$(dirname "$0")" && pwd)
status=0

for b in "$here"/*.sh; do
	[ "$(basename "$b")" = run.sh ] && continue
	[ "$(basename "$b")" = lib.sh ] && continue	# the helpers the others source
	if [ -n "${BENCHES:-}" ]; then
		case " $BENCHES " in *" $(basename "$b" .sh) "*) ;; *) continue ;; esac
	fi
	echo "=== $(basename "$b" .sh)"
	if ! sh "$b" "$build"; then
		echo "=== $(basename "$b" .sh): FAILED" >&2
		status=1
	fi
	echo
done
exit $status
