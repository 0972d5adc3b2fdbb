#!/bin/sh
# suite.sh N: run the suite queued by tests/run.sh as $R/N.cmd (line 1
# the build, line 2 its label, then the command and its arguments, one
# per line), tally its TAP into $R/N.res ("passed failed seconds") and
# print its line.
i=$1
b=$(sed -n 1p "$R/$i.cmd")
label=$(sed -n 2p "$R/$i.cmd")
PDSD_SIGNERD=$PWD/$b/signerd/signerd
PDSD_BUILD=$([ "$b" = . ] && echo plain || echo "$b")
export PDSD_SIGNERD PDSD_BUILD
out=$R/$i.out
t0=$(date +%s)
# The command's words, as arguments (none of them has a newline).
set --
while IFS= read -r w; do
	set -- "$@" "$w"
done <<EOT
$(sed -n '3,$p' "$R/$i.cmd")
EOT
"$@" >"$out" 2>&1 </dev/null
rc=$?
s=$(($(date +%s) - t0))
p=$(grep -c '^ok ' "$out")
f=$(grep -c '^not ok ' "$out")
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
	echo "not ok - $label exited $rc" >>"$out"
	f=1
fi
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
	echo "not ok - $label ran no tests" >>"$out"
	f=1
fi
echo "$p $f $s" >"$R/$i.res"
if [ "$f" -ne 0 ]; then
	printf '%-40s %3d passed, %d FAILED (%d s)\n' "$label" "$p" "$f" "$s"
else
	printf '%-40s %3d passed (%d s)\n' "$label" "$p" "$s"
fi
