#!/bin/sh
# check.sh LAZARETD SOURCE_ROOT [--update] — lazaretd -n on the shipped configuration and on
# tests/golden/full.conf (every key set to something else than its default) prints exactly
# tests/golden/NAME.n (OpenBSD-style: a change to how any key is read or printed shows here,
# and a refactoring of the configuration must leave it byte for byte), and each output read
# back prints the same again (the round trip). The machine's own descriptor limit, on the
# last line, is left out. --update rewrites the golden files.
set -eu
lazaretd=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")    # meson passes it relative to the build
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$root"
for conf in etc/lazaret.conf tests/golden/full.conf; do
	golden=tests/golden/$(basename "$conf").n
	"$lazaretd" -n -c "$conf" | grep -v '^# descriptors:' >"$tmp/out"
	if [ "${3:-}" = --update ]; then
		cp "$tmp/out" "$golden"
		echo "check.sh: $golden rewritten"
		continue
	fi
	if ! diff -u "$golden" "$tmp/out"; then
		echo "check.sh: lazaretd -n on $conf differs from $golden (--update rewrites it)" >&2
		exit 1
	fi
	# the round trip: what -n prints, read back, prints the same (but for the file's name)
	cp "$tmp/out" "$tmp/again.conf"
	"$lazaretd" -n -c "$tmp/again.conf" | grep -v '^# descriptors:' | sed 1d >"$tmp/again"
	sed 1d "$tmp/out" >"$tmp/first"
	if ! diff -u "$tmp/first" "$tmp/again"; then
		echo "check.sh: lazaretd -n's output on $conf, read back, prints something else" >&2
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
done
echo "check.sh: lazaretd -n as pinned on etc/lazaret.conf and tests/golden/full.conf, each output reads back the same, every key in etc/lazaret.conf"
