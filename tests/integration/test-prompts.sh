#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Prompts on a terminal: the client secret is read without echo, Ctrl-C there
# cancels (exit 130) and leaves the terminal echoing, and so does Ctrl-C at the
# paste flow's address prompt.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

PTY="$MO_LIBDIR/pty-ctrl-c.py"

run_cmd secret "$MO_PYTHON" "$PTY" "Client secret:" "$MAILOAUTH" app add x --provider custom \
	--client-id c --token-endpoint http://127.0.0.1:9/token --secret
assert_rc 0 "the secret prompt appeared on the terminal"
assert_contains "$OUT" "echo-at-prompt: no" "the client secret is typed without echo"
assert_contains "$OUT" "exit: 130" "Ctrl-C at the secret prompt cancels with exit 130"
assert_contains "$OUT" "echo-after: yes" "Ctrl-C at the secret prompt leaves the terminal echoing"
mo applist app list
assert_not_contains "$OUT" "custom" "a cancelled app add stores nothing"

mo app-add app add pasteapp --provider custom --client-id c \
	--token-endpoint http://127.0.0.1:9/token --authorize-endpoint http://127.0.0.1:9/auth
assert_rc 0 "an app for the paste flow"
run_cmd paste "$MO_PYTHON" "$PTY" "Address:" "$MAILOAUTH" authorize p@example.com \
	--app pasteapp --flow paste
assert_rc 0 "the paste flow's address prompt appeared"
assert_contains "$OUT" "echo-at-prompt: yes" "the pasted address is echoed"
assert_contains "$OUT" "exit: 130" "Ctrl-C at the address prompt cancels with exit 130"
mo status status p@example.com
assert_rc 3 "a cancelled authorize stores no account"

tap_done
