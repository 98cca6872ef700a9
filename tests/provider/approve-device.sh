#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Play the user's browser for a device code of the test provider, as a person
# would after opening verification_uri_complete:
#   1. GET verification_uri_complete  -> an auto-submitting form (xsrf, user_code)
#   2. POST it                        -> the "Confirm Device" page (its form adds confirm=yes)
#   3. POST confirm=yes (or abort=yes with --deny), following the redirects
#      through /interaction/UID and /device/UID with the cookie jar
#                                     -> the "Sign-in Success" page
# Every step keeps the cookie jar: the xsrf token is tied to the session cookie.
#
# usage: approve-device.sh [--deny] VERIFICATION_URI_COMPLETE
#   --deny  press "Abort" on the confirm page: the client's next poll gets
#           access_denied.  (The provider's deny mode, POST /test/control
#           {"mode":"deny"}, gives access_denied too, through the
#           interaction; this script then exits 1, as no success page comes.)
# exit: 0 approved (or aborted, with --deny); 1 anything else; 2 usage.

set -eu

usage() {
	echo "usage: approve-device.sh [--deny] VERIFICATION_URI_COMPLETE" >&2
	exit 2
}

action=confirm
case "${1-}" in
--deny) action=abort; shift ;;
esac
[ $# -eq 1 ] || usage
url=$1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
jar="$work/cookies"
: >"$jar"

fail() {
	echo "approve-device.sh: $*" >&2
	exit 1
}

# The value of hidden input NAME in file FILE (values are HTML-escaped by the
# provider; xsrf is hex and user codes are letters and '-', so no unescaping).
field() {
	sed -n "s,.*<input type=\"hidden\" name=\"$1\" value=\"\([^\"]*\)\".*,\1,p" "$2" | head -n 1
}

form_action() {
	sed -n 's,.*<form[^>]* action="\([^"]*\)".*,\1,p' "$1" | head -n 1
}

page_title() {
	sed -n 's,.*<title>\(.*\)</title>.*,\1,p' "$1" | head -n 1
}

# 1. the auto-submitting form
code=$(curl -sS -o "$work/p1" -b "$jar" -c "$jar" -w '%{http_code}' -- "$url")
[ "$code" = 200 ] || fail "GET verification page answered $code"
post_to=$(form_action "$work/p1")
xsrf=$(field xsrf "$work/p1")
user_code=$(field user_code "$work/p1")
if [ -z "$post_to" ] || [ -z "$xsrf" ] || [ -z "$user_code" ]; then
	fail "no user code form on the verification page"
fi

# 2. the confirm page
code=$(curl -sS -o "$work/p2" -b "$jar" -c "$jar" -w '%{http_code}' \
	--data-urlencode "xsrf=$xsrf" --data-urlencode "user_code=$user_code" -- "$post_to")
if [ "$code" != 200 ] || [ "$(page_title "$work/p2")" != "Confirm Device" ]; then
	fail "no confirm page ($code): $(sed -n 's,.*<p id="message">\(.*\)</p>.*,\1,p' "$work/p2")"
fi
post_to=$(form_action "$work/p2")
xsrf=$(field xsrf "$work/p2")

# 3. confirm (or abort) and follow the interaction redirects
code=$(curl -sS -L --max-redirs 20 -o "$work/p3" -b "$jar" -c "$jar" -w '%{http_code}' \
	--data-urlencode "xsrf=$xsrf" --data-urlencode "user_code=$user_code" \
	--data-urlencode "$action=yes" -- "$post_to")
title=$(page_title "$work/p3")
if [ "$action" = confirm ]; then
	[ "$code" = 200 ] && [ "$title" = "Sign-in Success" ] && exit 0
else
	grep -q 'The Sign-in request was interrupted' "$work/p3" && exit 0
fi
message=$(sed -n 's,.*<p id="\(message\|error\|error_description\)">\(.*\)</p>.*,\2,p' "$work/p3" | tr '\n' ' ')
fail "ended at \"$title\" ($code): $message"
