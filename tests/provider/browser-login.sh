#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Play the user's browser for an authorization URL of the test provider:
# follow the redirects through the provider's (automatically answered)
# interaction pages with a cookie jar, until the provider redirects away from
# itself, to the client's loopback redirect_uri.  Then request that URL (the
# mailoauth listener) and exit 0 if it answered 2xx; with --print-redirect,
# print the URL on stdout instead of requesting it (the paste flow).
#
# usage: browser-login.sh [--print-redirect] AUTH_URL
# exit:  0 done; 1 the provider showed an error page, or the listener did
#        not answer 2xx; 2 usage.

set -eu

usage() {
	echo "usage: browser-login.sh [--print-redirect] AUTH_URL" >&2
	exit 2
}

print_redirect=no
case "${1-}" in
--print-redirect) print_redirect=yes; shift ;;
esac
[ $# -eq 1 ] || usage
url=$1

# The provider's origin (scheme://host:port); leaving it means the redirect_uri.
origin=$(printf '%s\n' "$url" | sed -n 's|^\(https*://[^/?#]*\).*|\1|p')
[ -n "$origin" ] || usage

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
jar="$work/cookies"
: >"$jar"

# The provider's error page escapes & < > " ' as numeric references.
unescape() {
	sed "s/&#39;/'/g; s/&#34;/\"/g; s/&#60;/</g; s/&#62;/>/g; s/&#38;/\&/g"
}

# One hop at a time, so the hop to the listener can be told apart.
hops=0
while :; do
	hops=$((hops + 1))
	if [ "$hops" -gt 20 ]; then
		echo "browser-login.sh: too many redirects" >&2
		exit 1
	fi
	out=$(curl -sS -o "$work/body" -b "$jar" -c "$jar" \
		-w '%{http_code} %{redirect_url}' -- "$url")
	code=${out%% *}
	next=${out#* }
	case "$code" in
	30[1237])
		[ -n "$next" ] || { echo "browser-login.sh: $code without Location" >&2; exit 1; }
		case "$next" in
		"$origin"/* | "$origin") url=$next ;;
		*) url=$next; break ;;
		esac
		;;
	*)
		error=$(sed -n 's,.*<p id="error">\(.*\)</p>.*,\1,p' "$work/body" | unescape)
		desc=$(sed -n 's,.*<p id="error_description">\(.*\)</p>.*,\1,p' "$work/body" | unescape)
		echo "browser-login.sh: provider answered $code at ${url%%\?*}: ${error:-no redirect} ${desc}" >&2
		exit 1
		;;
	esac
done

if [ "$print_redirect" = yes ]; then
	printf '%s\n' "$url"
	exit 0
fi

# The listener: no cookies, it is not the provider.
code=$(curl -sS -o "$work/body" -w '%{http_code}' -- "$url") || {
	echo "browser-login.sh: could not reach ${url%%\?*}" >&2
	exit 1
}
case "$code" in
2??) exit 0 ;;
*)
	echo "browser-login.sh: ${url%%\?*} answered $code" >&2
	exit 1
	;;
esac
