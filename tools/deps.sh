#!/bin/sh
# deps.sh check|install: the Debian 12 packages pdsd needs to build and test.
# "check" installs what is missing (saying so); "install" always runs apt-get.

PKGS="build-essential pkg-config byacc clang mandoc sqlite3 \
libevent-dev libsqlite3-dev libcbor-dev libsodium-dev libsecp256k1-dev \
libjson-c-dev libbsd-dev libseccomp-dev libssl-dev libcurl4-openssl-dev \
libwslay-dev libcmocka-dev zlib1g-dev libisal-dev nodejs npm"

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q 'install ok installed' || echo "$p"
	done
}

install() {
	if [ "$(id -u)" -eq 0 ]; then
		SUDO=
	elif command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: need root or sudo to install: $*" >&2
		exit 1
	fi
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" \
	    >/dev/null || { echo "deps: apt-get install failed" >&2; exit 1; }
}

# Node and npm may come from elsewhere than Debian; accept any on PATH.
filter_node() {
	for p; do
		case $p in
		nodejs) command -v node >/dev/null 2>&1 || echo "$p" ;;
		npm) command -v npm >/dev/null 2>&1 || echo "$p" ;;
		*) echo "$p" ;;
		esac
	done
}

# The npm clients the regress tests use, pinned by tests/node's lock.
npm_clients() {
	dir=$(dirname "$0")/../tests/node
	if [ "$1" = check ] && [ -f "$dir/node_modules/.package-lock.json" ] &&
	    [ ! "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
		return 0
	fi
	echo "deps: installing the test clients (npm ci in tests/node)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
	    { echo "deps: npm ci failed" >&2; exit 1; }
}

case ${1:-check} in
check)
	m=$(filter_node $(missing))
	if [ -n "$m" ]; then
		echo "deps: installing missing packages:" $m
		install $m
	fi
	npm_clients check
	;;
install)
	install $(filter_node $PKGS)
	npm_clients install
	;;
*)
	echo "usage: deps.sh check|install" >&2
	exit 1
	;;
esac
