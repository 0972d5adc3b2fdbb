#!/bin/sh
# manlint.sh: mandoc -Tlint on every man page, as TAP.
n=0
for m in man/*.[0-9]; do
	n=$((n + 1))
	if r=$(mandoc -Tlint -Wwarning "$m" 2>&1) && [ -z "$r" ]; then
		echo "ok $n - $m"
	else
		echo "not ok $n - $m"
		echo "$r"
	fi
done
