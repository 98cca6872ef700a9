#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What users read and what their shell offers, kept in step with the program:
#  - the man pages (mailoauth(1), mailoauth.conf(5), mailoauth-sasl(7)) render without a
#    warning (groff -ww, man -l);
#  - every command of src/cli/main.c's table (and app's subcommands), every long option that
#    `mailoauth CMD --help` prints, is in mailoauth(1): in its SYNOPSIS and in the command's
#    own entry under COMMANDS;
#  - the settings: the keys mo-config.c reads = the keys of mailoauth.conf.example = the keys
#    mailoauth.conf(5) documents; the example loads without a warning; mailoauth-sasl(7)
#    names the sasl-xoauth2 keys the plugin reads;
#  - the completions in data/completions: bash in a real bash (with and without
#    bash-completion), zsh and fish parsed and run; each offers every command and, per
#    command, exactly the long options of its --help; account and app names come from a
#    private keyring, and a hanging mailoauth never hangs a Tab.
# TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
mo_init "$@"

SRC=$(cd "$G_TEST_SRCDIR/../.." && pwd)
DATA=$SRC/data
COMP=$DATA/completions
BIN_DIR=$(cd "$(dirname "$MAILOAUTH")" && pwd)
# the completions run "mailoauth" from PATH: the build tree's
export PATH="$BIN_DIR:$PATH"
export LC_ALL=C.UTF-8

# ------------------------------------------------------------------ the commands ----

# The table in main.c, and app's subcommands in cmd-app.c.
mapfile -t COMMANDS < <(sed -nE 's/^[[:space:]]*\{"([a-z-]+)",[[:space:]]*mo_cmd_.*/\1/p' \
	"$SRC/src/cli/main.c")
mapfile -t APP_SUBCOMMANDS < <(sed -nE 's/^[[:space:]]*\{"([a-z-]+)",[[:space:]]*"app [a-z-]+".*/\1/p' \
	"$SRC/src/cli/cmd-app.c")
check "main.c's command table read (${COMMANDS[*]})" test "${#COMMANDS[@]}" -ge 8
check "cmd-app.c's subcommands read (${APP_SUBCOMMANDS[*]})" test "${#APP_SUBCOMMANDS[@]}" -ge 3

# Every command the table has is listed by `mailoauth --help`.
mo top-help --help
assert_rc 0 "mailoauth --help"
missing=()
for c in "${COMMANDS[@]}"; do
	grep -qE "^  $c " "$OUT" || missing+=("$c")
done
assert_eq "${missing[*]}" "" "mailoauth --help lists every command of the table"

# All commands with their subcommands: "token", "app add", ...
ALL=()
for c in "${COMMANDS[@]}"; do
	if [ "$c" = app ]; then
		for s in "${APP_SUBCOMMANDS[@]}"; do ALL+=("app $s"); done
	else
		ALL+=("$c")
	fi
done

# help_options CMD...: the long options `mailoauth CMD --help` prints, sorted, one per line.
help_options() {
	# shellcheck disable=SC2086 # "app add" is two words
	"$MAILOAUTH" $1 --help 2>&1 |
		sed -nE 's/^[[:space:]]+(-[[:alnum:]], )?(--[a-z][a-z0-9-]*).*/\2/p' | sort -u
}
declare -A HELP_OPTIONS
for c in "${ALL[@]}"; do
	HELP_OPTIONS[$c]=$(help_options "$c")
	check "mailoauth $c --help prints its options" grep -qx -- --help <<<"${HELP_OPTIONS[$c]}"
done

# ------------------------------------------------------------------- man pages ----

if command -v groff >/dev/null; then
	for page in mailoauth.1 mailoauth.conf.5 mailoauth-sasl.7; do
		run_cmd "groff-$page" groff -ww -z -man -t "$DATA/$page"
		assert_rc 0 "groff -ww -z -man -t $page"
		assert_empty "$ERR" "... without a warning"
	done
else
	skip "groff -ww on the man pages" "groff not found (package groff-base)"
fi
if command -v man >/dev/null; then
	for page in mailoauth.1 mailoauth.conf.5 mailoauth-sasl.7; do
		run_cmd "man-$page" man -l "$DATA/$page"
		assert_rc 0 "man -l $page"
		assert_empty "$ERR" "... without a warning"
	done
else
	skip "man -l on the man pages" "man not found (package man-db)"
fi

# render PAGE: plain text, long lines (so that no option is broken), without hyphenation.
render() {
	groff -t -man -Tascii -P-cbou -rLL=250n "$1" 2>/dev/null
}

# section TEXT NAME: the lines of section NAME of a rendered page.
section() {
	awk -v name="$2" '/^[A-Z]/ { on = ($0 == name); next } on' <<<"$1"
}

# has_option TEXT OPTION: OPTION as a whole word (--app, not --app-id).
has_option() {
	grep -qE -- "(^|[^a-z-])$2([^a-z0-9-]|$)" <<<"$1"
}

if command -v groff >/dev/null; then
	PAGE=$(render "$DATA/mailoauth.1")
	SYNOPSIS=$(section "$PAGE" SYNOPSIS)
	COMMANDS_TEXT=$(section "$PAGE" COMMANDS)
	OPTIONS_TEXT=$(section "$PAGE" OPTIONS)

	# entry CMD: the command's entry under COMMANDS, from its tag (indented 7) to the next.
	entry() {
		awk -v cmd="$1" '
			/^       [^ ]/ {
				tag = substr($0, 8)
				n = split(cmd, w, " ")
				split(tag, t, " ")
				on = 1
				for (i = 1; i <= n; i++)
					if (t[i] != w[i]) on = 0
				# "app" alone must not take "app add"
				if (on && n == 1 && t[2] ~ /^[a-z]+$/) on = 0
			}
			on' <<<"$COMMANDS_TEXT"
	}

	for c in "${ALL[@]}"; do
		check "mailoauth(1) SYNOPSIS shows mailoauth $c" \
			grep -qE "^ +mailoauth $c( |$)" <<<"$SYNOPSIS"
		text=$(entry "$c")
		if [ -z "$text" ]; then
			not_ok "mailoauth(1) COMMANDS has an entry for $c"
			continue
		fi
		ok "mailoauth(1) COMMANDS has an entry for $c"
		missing=()
		for opt in ${HELP_OPTIONS[$c]}; do
			[ "$opt" = --help ] && continue
			has_option "$text" "$opt" || missing+=("$opt")
		done
		assert_eq "${missing[*]}" "" "... which describes every option of mailoauth $c --help"
	done
	for opt in --help --version; do
		check "mailoauth(1) OPTIONS describes $opt" has_option "$OPTIONS_TEXT" "$opt"
	done
	check "mailoauth(1) points to mailoauth.conf(5) and mailoauth-sasl(7)" \
		grep -q 'mailoauth.conf(5).*mailoauth-sasl(7)' <<<"$(section "$PAGE" "SEE ALSO" | tr -d '\n')"
else
	skip "commands and options in mailoauth(1)" "groff not found (package groff-base)"
fi

# --------------------------------------------------------------------- settings ----

mapfile -t CONF_READ < <(grep -oE 'mo_config_read_seconds\(kf, path, "[a-z-]+"' \
	"$SRC/src/core/mo-config.c" | sed -E 's/.*"([a-z-]+)"/\1/' | sort)
mapfile -t CONF_EXAMPLE < <(sed -nE 's/^([a-z-]+)=.*/\1/p' "$DATA/mailoauth.conf.example" | sort)
mapfile -t CONF_DOC < <(sed -nE 's/^\.BI ([a-z\\-]+)= .*/\1/p' "$DATA/mailoauth.conf.5" |
	sed 's/\\-/-/g' | sort)
check "mo-config.c's keys read (${CONF_READ[*]})" test "${#CONF_READ[@]}" -ge 4
assert_eq "${CONF_EXAMPLE[*]}" "${CONF_READ[*]}" "mailoauth.conf.example sets every key mailoauth reads, and no other"
assert_eq "${CONF_DOC[*]}" "${CONF_READ[*]}" "mailoauth.conf(5) documents every key mailoauth reads, and no other"
check "mailoauth.conf.example has no comment after a value (GKeyFile has none)" \
	test -z "$(grep -E '^[^#[].*#' "$DATA/mailoauth.conf.example")"
cp "$DATA/mailoauth.conf.example" "$XDG_CONFIG_HOME/mailoauth/mailoauth.conf"
mo example-conf status --json
assert_rc 0 "mailoauth runs with the example as its settings"
assert_empty "$ERR" "... without a word on stderr"
remove_config

# The sasl-xoauth2 keys the plugin reads (src/core/mo-file-store.c, src/sasl/): each in the
# source, and each in mailoauth-sasl(7)'s sections on token files and the configuration.
SASL_PAGE=$(sed 's/\\-/-/g; s/\\//g' "$DATA/mailoauth-sasl.7")
for key in client_id client_secret token_endpoint ca_bundle_file ca_certs_dir proxy \
	refresh_window; do
	check "the plugin reads $key (mo-file-store.c, mo-sasl-backend.c)" \
		grep -q "\"$key\"" "$SRC/src/core/mo-file-store.c" "$SRC/src/sasl/mo-sasl-backend.c"
	check "mailoauth-sasl(7) documents $key" grep -q "$key" <<<"$SASL_PAGE"
done
for key in access_token refresh_token expiry user; do
	check "mailoauth-sasl(7) documents the token file's $key" grep -q "^\.B.* $key" <<<"$SASL_PAGE"
done
for word in XOAUTH2 OAUTHBEARER keyring: kdexoauth2 libsasl2-modules-sasl-xoauth2 NOPLAINTEXT \
	SASL_PATH "saslpluginviewer -c" "PassCmd" "smtp_sasl_mechanism_filter" "sasl_passwd"; do
	check "mailoauth-sasl(7) mentions $word" grep -qF -- "$word" <<<"$SASL_PAGE"
done

# ------------------------------------------------------------------ completions ----

# A keyring with an app and an account to complete: an import needs no server.
write_secret_file "$TEST_DIR/secret" client-secret
mo_stdin app-add "$TEST_DIR/secret" app add work --provider custom --client-id cid \
	--token-endpoint http://127.0.0.1:9/token --secret
assert_rc 0 "app add work"
mkdir -m 0700 "$TEST_DIR/tokens"
write_token_file "$TEST_DIR/tokens/me@example.com" access_token=at refresh_token=rt \
	expiry=4102444800 client_id=cid token_endpoint=http://127.0.0.1:9/token
mo import import "$TEST_DIR/tokens/me@example.com" --app work
assert_rc 0 "a keyring with the app work and the account me@example.com"

# A mailoauth that never answers, for the timeout.
mkdir -p "$TEST_DIR/hang"
printf '#!/bin/sh\nexec sleep 30\n' >"$TEST_DIR/hang/mailoauth"
chmod +x "$TEST_DIR/hang/mailoauth"

# options_of_reply TEXT: the options of a completion's reply, without a trailing "=" or the
# description after a tab, sorted.
options_of_reply() {
	sed -E 's/\t.*//; s/=$//' <<<"$1" | grep -E '^--' | sort -u
}

# ---- bash
BASH_COMPLETION=/usr/share/bash-completion/bash_completion
run_cmd bash-n bash -n "$COMP/mailoauth.bash"
assert_rc 0 "bash -n mailoauth.bash"

# bash_complete WITH_BC WORD...: COMPREPLY for the command line WORD... (the last word is the
# one completed; "" for a new word), one per line, in a real bash; WITH_BC=1 loads
# bash-completion first, as a user's shell does.
bash_complete() {
	local with_bc=$1
	shift
	bash --norc --noprofile -c '
		with_bc=$1 file=$2 bc=$3
		shift 3
		[ "$with_bc" = 1 ] && . "$bc"
		. "$file"
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_mailoauth mailoauth "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$with_bc" "$COMP/mailoauth.bash" "$BASH_COMPLETION" "$@"
}

run_cmd bash-complete-p bash --norc --noprofile -c ". '$COMP/mailoauth.bash' && complete -p mailoauth"
assert_stdout_is "complete -F _mailoauth mailoauth" "bash: complete -p mailoauth names _mailoauth"

modes=(0)
if [ -r "$BASH_COMPLETION" ]; then
	modes=(1 0)
else
	skip "bash with bash-completion loaded" "$BASH_COMPLETION missing (package bash-completion)"
fi
for with_bc in "${modes[@]}"; do
	how=$([ "$with_bc" = 1 ] && echo "with bash-completion" || echo "plain bash")
	check "bash ($how): mailoauth tok → token" grep -qx token <<<"$(bash_complete "$with_bc" mailoauth tok)"
	reply=$(bash_complete "$with_bc" mailoauth "")
	missing=()
	for c in "${COMMANDS[@]}"; do grep -qx "$c" <<<"$reply" || missing+=("$c"); done
	assert_eq "${missing[*]}" "" "bash ($how): every command offered"
	check "bash ($how): mailoauth export -- → --copy" \
		grep -qx -- --copy <<<"$(bash_complete "$with_bc" mailoauth export --)"
	check "bash ($how): mailoauth token → the account me@example.com" \
		grep -qx me@example.com <<<"$(bash_complete "$with_bc" mailoauth token "")"
	check "bash ($how): mailoauth app remove → the app work" \
		grep -qx work <<<"$(bash_complete "$with_bc" mailoauth app remove "")"
	check "bash ($how): mailoauth app → add list remove" \
		test "$(bash_complete "$with_bc" mailoauth app "" | sort | tr '\n' ' ')" = "add list remove "
	check "bash ($how): mailoauth authorize me@example.com --app → work" \
		grep -qx work <<<"$(bash_complete "$with_bc" mailoauth authorize me@example.com --app "")"
	check "bash ($how): mailoauth authorize x --flow → device browser paste" \
		test "$(bash_complete "$with_bc" mailoauth authorize x --flow "" | sort | tr '\n' ' ')" = "browser device paste "
	check "bash ($how): no account after the account" \
		test -z "$(bash_complete "$with_bc" mailoauth token me@example.com "")"
	check "bash ($how): mailoauth import completes files" \
		grep -qx "$TEST_DIR/tokens/me@example.com" <<<"$(bash_complete "$with_bc" mailoauth import "$TEST_DIR/tokens/")"
done
if [ -r "$BASH_COMPLETION" ]; then
	check "bash: --flow=b → browser" \
		grep -qx browser <<<"$(bash_complete 1 mailoauth authorize x --flow=b)"
	check "bash: an option's value is not taken for the account (authorize --app work …)" \
		grep -qx me@example.com <<<"$(bash_complete 1 mailoauth authorize --app work "")"
fi
check "bash (plain): --flow = b → browser (\"=\" splits words without bash-completion)" \
	grep -qx browser <<<"$(bash_complete 0 mailoauth authorize x --flow = b)"
for c in "${ALL[@]}"; do
	# shellcheck disable=SC2086 # "app add" is two words
	reply=$(bash_complete "${modes[0]}" mailoauth $c --)
	assert_eq "$(options_of_reply "$reply" | tr '\n' ' ')" "$(tr '\n' ' ' <<<"${HELP_OPTIONS[$c]}")" \
		"bash: mailoauth $c -- offers exactly the long options of its --help"
done
start=$(now)
reply=$(PATH="$TEST_DIR/hang:$PATH" bash_complete "${modes[0]}" mailoauth token "")
elapsed=$(($(now) - start))
assert_le "$elapsed" 5 "bash: a mailoauth that hangs costs a Tab at most the timeout (${elapsed} s)"

# ---- zsh
if command -v zsh >/dev/null; then
	run_cmd zsh-n zsh -n "$COMP/_mailoauth"
	assert_rc 0 "zsh -n _mailoauth"
	assert_empty "$ERR" "... without a word"
	run_cmd zsh-compinit zsh -f -c "fpath=('$COMP' \$fpath); autoload -Uz compinit;
		compinit -u -D; print -r -- \$_comps[mailoauth]"
	assert_stdout_is "_mailoauth" "zsh: compinit binds mailoauth to _mailoauth (#compdef)"

	# zsh_specs WORD...: the specs _mailoauth hands _arguments for the command line WORD...,
	# with _arguments replaced by a recorder that moves on to the next state as it would.
	zsh_specs() {
		zsh -f -c '
			_arguments() {
				if [[ $1 == -C ]]; then
					if [[ ${@[-1]} == "*:: :->app_args" ]]; then state=app_args; else state=args; fi
					words=(${words[2,-1]})
					return 0
				fi
				print -rl -- "$@"
			}
			_call_program() { shift; "$@" }
			words=()
			source "$1"
			shift
			words=("$@")
			_mailoauth
		' zsh "$COMP/_mailoauth" "$@"
	}
	for c in "${ALL[@]}"; do
		# shellcheck disable=SC2086 # "app add" is two words
		specs=$(zsh_specs mailoauth $c "")
		got=$(sed -nE "s/^(\([^)]*\))?\*?(--[a-z][a-z0-9-]*).*/\2/p" <<<"$specs" | sort -u)
		assert_eq "$(tr '\n' ' ' <<<"$got")" "$(tr '\n' ' ' <<<"${HELP_OPTIONS[$c]}")" \
			"zsh: mailoauth $c offers exactly the long options of its --help"
	done
	reply=$(zsh -f -c '_call_program() { shift; "$@" }; _arguments() { return 1 }
		source "$1"; _mailoauth_prog=mailoauth
		_mailoauth_names accounts; print -rl -- $reply
		_mailoauth_names apps; print -rl -- $reply' zsh "$COMP/_mailoauth")
	check "zsh: account names from the keyring" grep -qx me@example.com <<<"$reply"
	check "zsh: app names from the keyring" grep -qx work <<<"$reply"
else
	skip "zsh completion" "zsh not found (package zsh)"
fi

# ---- fish
if command -v fish >/dev/null; then
	run_cmd fish-n fish --no-execute "$COMP/mailoauth.fish"
	assert_rc 0 "fish --no-execute mailoauth.fish"
	assert_empty "$ERR" "... without a word"
	fish_complete() {
		fish --no-config -c "source '$COMP/mailoauth.fish'; complete -C '$1'"
	}
	check "fish: complete -C 'mailoauth tok' → token" \
		grep -qE '^token(\s|$)' <<<"$(fish_complete 'mailoauth tok')"
	check "fish: mailoauth token → the account me@example.com" \
		grep -qx me@example.com <<<"$(fish_complete 'mailoauth token ')"
	check "fish: mailoauth app remove → the app work" \
		grep -qE '^work(\s|$)' <<<"$(fish_complete 'mailoauth app remove ')"
	check "fish: mailoauth authorize x --app → work" \
		grep -qE '^work(\s|$)' <<<"$(fish_complete 'mailoauth authorize x --app ')"
	reply=$(fish_complete 'mailoauth ')
	missing=()
	for c in "${COMMANDS[@]}"; do grep -qE "^$c(\s|$)" <<<"$reply" || missing+=("$c"); done
	assert_eq "${missing[*]}" "" "fish: every command offered"
	for c in "${ALL[@]}"; do
		reply=$(fish_complete "mailoauth $c --")
		assert_eq "$(options_of_reply "$reply" | tr '\n' ' ')" "$(tr '\n' ' ' <<<"${HELP_OPTIONS[$c]}")" \
			"fish: mailoauth $c -- offers exactly the long options of its --help"
	done
	start=$(now)
	PATH="$TEST_DIR/hang:$PATH" fish_complete 'mailoauth token ' >/dev/null
	elapsed=$(($(now) - start))
	assert_le "$elapsed" 5 "fish: a mailoauth that hangs costs a Tab at most the timeout (${elapsed} s)"
else
	skip "fish completion" "fish not found (package fish)"
fi

# A locked keyring is never unlocked for a Tab: no prompt, no wait.
if lock_login_collection; then
	start=$(now)
	bash_complete "${modes[0]}" mailoauth token "" >/dev/null
	elapsed=$(($(now) - start))
	assert_le "$elapsed" 3 "bash: a locked keyring answers a Tab at once, without a prompt (${elapsed} s)"
	check "... and the keyring is still locked" login_collection_locked
else
	not_ok "lock the keyring"
fi

tap_done
