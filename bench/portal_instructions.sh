#!/bin/bash
# portal_instructions.sh BUILD_DIR TEMPLATES N — instructions (callgrind) the portal harness spends on N
# notice pages for a quarantined visitor; run it for two N and take the difference per request.
B=$1 TPL=$2 N=$3
d=$(mktemp -d); port=$((30000 + RANDOM % 2000))
mkfifo $d/in
valgrind --tool=callgrind --callgrind-out-file=$d/cg.out $B/tests/portal_harness -d $d -l 127.0.0.1:$port -T $TPL -q 127.0.0.1 < $d/in > $d/out 2>$d/err &
vp=$!
exec 3>$d/in
for i in $(seq 1 200); do grep -q ready $d/out 2>/dev/null && break; sleep 0.1; done
for i in $(seq 1 $N); do curl -s -o /dev/null http://127.0.0.1:$port/; done
echo quit >&3; exec 3>&-
wait $vp
grep -o "Collected : [0-9]*" $d/err | head -1
rm -rf $d
