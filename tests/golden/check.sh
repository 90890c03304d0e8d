#!/bin/sh
# check.sh LAZARETD SOURCE_ROOT [--update] — lazaretd -n on the shipped configuration prints
# exactly tests/golden/lazaret.conf.n (OpenBSD-style: a change to how any key is read or
# printed shows here, and a refactoring of the configuration must leave it byte for byte),
# and its output read back prints the same again (the round trip). The machine's own
# descriptor limit, on the last line, is left out. --update rewrites the golden file.
set -eu
lazaretd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")    # meson passes it relative to the build
root=$2
golden=$root/tests/golden/lazaret.conf.n
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
"$lazaretd" -n -c etc/lazaret.conf | grep -v '^# descriptors:' >"$tmp/out"
if [ "${3:-}" = --update ]; then
	cp "$tmp/out" "$golden"
	echo "check.sh: $golden rewritten"
	exit 0
fi
if ! diff -u "$golden" "$tmp/out"; then
	echo "check.sh: lazaretd -n on etc/lazaret.conf differs from $golden (--update rewrites it)" >&2
	exit 1
fi
# the round trip: what -n prints, read back, prints the same (but for the file's name)
cp "$tmp/out" "$tmp/again.conf"
"$lazaretd" -n -c "$tmp/again.conf" | grep -v '^# descriptors:' | sed 1d >"$tmp/again"
sed 1d "$tmp/out" >"$tmp/first"
if ! diff -u "$tmp/first" "$tmp/again"; then
	echo "check.sh: lazaretd -n's output, read back, prints something else" >&2
	exit 1
fi
# every key -n prints is in the shipped file, commented or set
missing=$(sed -n 's/^\([a-z_]*\) = .*/\1/p' "$tmp/out" | sort -u | while read -r k; do
	grep -Eq "^#? ?$k =" etc/lazaret.conf || echo "$k"
done)
if [ -n "$missing" ]; then
	echo "check.sh: keys missing from etc/lazaret.conf: $missing" >&2
	exit 1
fi
echo "check.sh: lazaretd -n as pinned, its output reads back the same, every key in etc/lazaret.conf"
