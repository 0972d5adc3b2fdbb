#!/bin/sh
# run.sh builddir: configuration regress tests, in TAP, for the pdsd at
# builddir/pdsd/pdsd (builddir relative to the top of the tree, or
# absolute).
#
#	NN-name.conf + NN-name.ok	good: stdout of "pdsd -nv -f" (plus
#					the words in NN-name.args, if any);
#					the printed form must parse and print
#					the same again
#	NN-name.conf + NN-name.err	bad: exit 1, and stderr starts with
#					these lines, file names without their
#					directory
#	*.inc				only ever included

top=$(cd "$(dirname "$0")/../.." && pwd)
case ${1:-.} in
/*)	bin=$1/pdsd/pdsd ;;
*)	bin=$top/${1:-.}/pdsd/pdsd ;;
esac
dir=$top/tests/config
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

pass() {
	n=$((n + 1))
	echo "ok $n - $1"
}

# fail name file...: say why, with the files (diffs, output) commented.
fail() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	shift
	for f in "$@"; do
		sed 's/^/# /' "$f"
	done
}

# File names lose their directory: the tests run from anywhere.
nodir() {
	sed 's|^[^:]*/||; s|include file [^:]*/|include file |' "$1"
}

good() {
	name=$1
	args=$(cat "$dir/$name.args" 2>/dev/null)
	# shellcheck disable=SC2086
	"$bin" -nv $args -f "$dir/$name.conf" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		echo "exit $rc" >"$tmp/why"
		fail "$name" "$tmp/why" "$tmp/err"
		return
	fi
	if diff -u "$dir/$name.ok" "$tmp/out" >"$tmp/diff"; then
		pass "$name"
	else
		fail "$name" "$tmp/diff" "$tmp/err"
	fi
	# The canonical form is a fixed point.
	"$bin" -nv -f "$tmp/out" >"$tmp/out2" 2>"$tmp/err"
	if diff -u "$tmp/out" "$tmp/out2" >"$tmp/diff"; then
		pass "$name: printed form prints the same"
	else
		fail "$name: printed form prints the same" "$tmp/diff" \
		    "$tmp/err"
	fi
}

bad() {
	name=$1
	"$bin" -n -f "$dir/$name.conf" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	lines=$(wc -l <"$dir/$name.err")
	nodir "$tmp/err" | head -n "$lines" >"$tmp/got"
	if [ $rc -ne 1 ]; then
		echo "exit $rc, expected 1" >"$tmp/why"
		fail "$name" "$tmp/why" "$tmp/err"
	elif [ -s "$tmp/out" ]; then
		echo "unexpected output on stdout" >"$tmp/why"
		fail "$name" "$tmp/why" "$tmp/out"
	elif diff -u "$dir/$name.err" "$tmp/got" >"$tmp/diff"; then
		pass "$name"
	else
		fail "$name" "$tmp/diff" "$tmp/err"
	fi
}

if [ ! -x "$bin" ]; then
	echo "not ok 1 - no pdsd binary at $bin"
	exit 1
fi

for conf in "$dir"/*.conf; do
	name=$(basename "$conf" .conf)
	if [ -f "$dir/$name.ok" ]; then
		good "$name"
	elif [ -f "$dir/$name.err" ]; then
		bad "$name"
	else
		echo "neither $name.ok nor $name.err" >"$tmp/why"
		fail "$name" "$tmp/why"
	fi
done

# -n alone: a word on stderr, nothing on stdout, exit 0.
"$bin" -n -f "$dir/02-full.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "configuration OK" >"$tmp/want"
if [ $rc -eq 0 ] && [ ! -s "$tmp/out" ] && cmp -s "$tmp/want" "$tmp/err"; then
	pass "-n on a good file: configuration OK, exit 0"
else
	echo "exit $rc" >"$tmp/why"
	fail "-n on a good file: configuration OK, exit 0" "$tmp/why" \
	    "$tmp/out" "$tmp/err"
fi

"$bin" -n -f "$dir/51-syntax-error.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -eq 1 ] && ! grep -q "configuration OK" "$tmp/err"; then
	pass "-n on a bad file: exit 1"
else
	echo "exit $rc" >"$tmp/why"
	fail "-n on a bad file: exit 1" "$tmp/why" "$tmp/err"
fi

# A missing file is one error naming it.
"$bin" -n -f "$tmp/no-such-file.conf" >"$tmp/out" 2>"$tmp/err"
rc=$?
echo "no-such-file.conf: No such file or directory" >"$tmp/want"
nodir "$tmp/err" >"$tmp/got"
if [ $rc -eq 1 ] && diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
	pass "missing file"
else
	echo "exit $rc" >"$tmp/why"
	fail "missing file" "$tmp/why" "$tmp/diff"
fi

# An unreadable file (root reads everything: then there is nothing to test).
cp "$dir/02-full.conf" "$tmp/unreadable.conf"
chmod 000 "$tmp/unreadable.conf"
if [ "$(id -u)" -eq 0 ]; then
	pass "unreadable file # SKIP running as root"
else
	"$bin" -n -f "$tmp/unreadable.conf" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	echo "unreadable.conf: Permission denied" >"$tmp/want"
	nodir "$tmp/err" >"$tmp/got"
	if [ $rc -eq 1 ] && diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
		pass "unreadable file"
	else
		echo "exit $rc" >"$tmp/why"
		fail "unreadable file" "$tmp/why" "$tmp/diff"
	fi
fi

# An unreadable include is an error at the include line.
printf 'hostname "a.example"\ninclude "unreadable.conf"\n' \
    >"$tmp/incl.conf"
if [ "$(id -u)" -ne 0 ]; then
	"$bin" -n -f "$tmp/incl.conf" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	printf '%s %s\n' "incl.conf:2: cannot read include file" \
	    "unreadable.conf: Permission denied" >"$tmp/want"
	nodir "$tmp/err" >"$tmp/got"
	if [ $rc -eq 1 ] && diff -u "$tmp/want" "$tmp/got" >"$tmp/diff"; then
		pass "unreadable include"
	else
		echo "exit $rc" >"$tmp/why"
		fail "unreadable include" "$tmp/why" "$tmp/diff"
	fi
else
	pass "unreadable include # SKIP running as root"
fi

# A -D definition needs a '='.
if "$bin" -n -D novalue -f "$dir/01-empty.conf" >/dev/null 2>&1; then
	echo "exit 0" >"$tmp/why"
	fail "-D without '=' is refused" "$tmp/why"
else
	pass "-D without '=' is refused"
fi

echo "1..$n"
[ $failed -eq 0 ]
