#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# `meson install`, as distributions and users run it:
#  - a build configured here with --prefix=/usr (as the Debian package and the PKGBUILD do)
#    installs into a --destdir exactly the expected files, each in its place and mode: the
#    binary, the SASL plugin in libsasl2's plugin directory, the export helper in libexecdir,
#    the polkit policy and the systemd units with their paths filled in, three man pages, the
#    bash/fish/zsh completions where those shells look, the example settings and the
#    translations of po/LINGUAS;
#  - then runs them from there: the binary (--version, --help, with the installed example as
#    its settings), the plugin through the real libsasl2 (saslpluginviewer -c with SASL_PATH
#    at the installed directory), the man pages through man, the completions through bash,
#    zsh and fish looking in the installed directories;
#  - any other prefix keeps every file inside it, the plugin in $libdir/sasl2 (with the
#    SASL_PATH hint at configure time); /usr/local puts the plugin where libsasl2 looks and
#    the polkit action where pkexec looks.
# TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}
command -v meson >/dev/null || skip_all "meson not found"
command -v ninja >/dev/null || skip_all "ninja not found (package ninja-build)"
command -v pkg-config >/dev/null || skip_all "pkg-config not found"

mo_init "$@"

SRC=$(cd "$G_TEST_SRCDIR/../.." && pwd)
BUILD=$TEST_DIR/build
ROOT=$TEST_DIR/root
export LC_ALL=C.UTF-8
VERSION=$(sed -nE "s/^[[:space:]]*version: '([^']+)',.*/\1/p" "$SRC/meson.build" | head -n 1)

# ------------------------------------------------------------- build, install ----

# plain: no optimisation, the quickest build; the layout does not depend on it
run_cmd setup meson setup "$BUILD" "$SRC" --prefix=/usr --buildtype=plain -Dtests=false \
	-Dzsh_completion_dir=/usr/share/zsh/vendor-completions
assert_rc 0 "meson setup --prefix=/usr" || {
	diag_file "$OUT" 40
	bail_out "cannot configure"
}
MO_CMD_TIMEOUT=300 run_cmd compile meson compile -C "$BUILD"
assert_rc 0 "meson compile" || {
	diag_file "$OUT" 40
	bail_out "cannot build"
}
run_cmd install meson install -C "$BUILD" --destdir "$ROOT" --no-rebuild
assert_rc 0 "meson install --destdir" || bail_out "cannot install"

# ------------------------------------------------------------- the file list ----

# Where this system's libsasl2, systemd, bash-completion and fish look (Debian 12:
# /usr/lib/x86_64-linux-gnu/sasl2, /lib/systemd/system, ...), as the build asked them.
pc_var() {
	pkg-config --variable="$2" "$1" 2>/dev/null
}
SASL_DIR=$(pc_var libsasl2 libdir)/sasl2
UNIT_DIR=$(pc_var systemd systemdsystemunitdir)
[ -n "$UNIT_DIR" ] || UNIT_DIR=/usr/lib/systemd/system
BASH_DIR=$(pc_var bash-completion completionsdir)
[ -n "$BASH_DIR" ] || BASH_DIR=/usr/share/bash-completion/completions
FISH_DIR=$(pc_var fish completionsdir)
[ -n "$FISH_DIR" ] || FISH_DIR=/usr/share/fish/vendor_completions.d
ZSH_DIR=/usr/share/zsh/vendor-completions

# path mode
EXPECTED=(
	"/usr/bin/mailoauth 755"
	"/usr/libexec/mailoauth-export-helper 755"
	"$SASL_DIR/libmailoauth.so 755"
	"/usr/share/polkit-1/actions/org.mailoauth.export.policy 644"
	"$UNIT_DIR/mailoauth-export-refresh.service 644"
	"$UNIT_DIR/mailoauth-export-refresh.timer 644"
	"/usr/share/man/man1/mailoauth.1 644"
	"/usr/share/man/man5/mailoauth.conf.5 644"
	"/usr/share/man/man7/mailoauth-sasl.7 644"
	"$BASH_DIR/mailoauth 644"
	"$FISH_DIR/mailoauth.fish 644"
	"$ZSH_DIR/_mailoauth 644"
	"/usr/share/doc/mailoauth/examples/mailoauth.conf.example 644"
)
LANGUAGES=$(sed -e 's/#.*//' "$SRC/po/LINGUAS" | tr -s '[:space:]' ' ')
for lang in $LANGUAGES; do
	EXPECTED+=("/usr/share/locale/$lang/LC_MESSAGES/mailoauth.mo 644")
done

for entry in "${EXPECTED[@]}"; do
	path=${entry% *}
	mode=${entry##* }
	if [ -f "$ROOT$path" ]; then
		actual=$(stat -c %a "$ROOT$path")
		assert_eq "$actual" "$mode" "installed: $path (mode $mode)"
	else
		not_ok "installed: $path"
	fi
done
if [ -z "${LANGUAGES// /}" ]; then
	skip "installed translations" "po/LINGUAS names no language yet"
fi
listed=$(for entry in "${EXPECTED[@]}"; do echo "${entry% *}"; done | sort)
found=$(cd "$ROOT" && find . -type f -o -type l | sed 's/^\.//' | sort)
assert_eq "$(comm -13 <(echo "$listed") <(echo "$found") | tr '\n' ' ')" "" \
	"nothing else is installed (a new file belongs in this test's list)"

# --------------------------------------------------------- what the files say ----

svc=$ROOT$UNIT_DIR/mailoauth-export-refresh.service
check "the service runs /usr/bin/mailoauth" grep -qE '^ExecStart=/usr/bin/mailoauth refresh --exported' "$svc"
check "the policy names /usr/libexec/mailoauth-export-helper" \
	grep -q '>/usr/libexec/mailoauth-export-helper<' "$ROOT/usr/share/polkit-1/actions/org.mailoauth.export.policy"
leftover=$(grep -rlE '@[A-Z_]+@' "$ROOT" --exclude=mailoauth --exclude=mailoauth-export-helper \
	--exclude=libmailoauth.so --exclude='*.mo' || true)
assert_eq "$leftover" "" "no @PLACEHOLDER@ left in the installed text files"
for f in /usr/share/man/man1/mailoauth.1 /usr/share/man/man5/mailoauth.conf.5 \
	/usr/share/man/man7/mailoauth-sasl.7 "$BASH_DIR/mailoauth" "$FISH_DIR/mailoauth.fish" \
	"$ZSH_DIR/_mailoauth" /usr/share/doc/mailoauth/examples/mailoauth.conf.example; do
	check "$(basename "$f") is the source's" cmp -s "$ROOT$f" \
		"$(find "$SRC/data" -name "$(basename "$f" | sed 's/^mailoauth$/mailoauth.bash/')" | head -n 1)"
done
for f in /usr/bin/mailoauth /usr/libexec/mailoauth-export-helper "$SASL_DIR/libmailoauth.so"; do
	runpath=$(readelf -d "$ROOT$f" 2>/dev/null | grep -E 'R(UN)?PATH' || true)
	assert_eq "$runpath" "" "$(basename "$f") has no RPATH/RUNPATH into the build tree"
done

# ------------------------------------------------------------- run the binary ----

INSTALLED=$ROOT/usr/bin/mailoauth
run_cmd version "$INSTALLED" --version
assert_rc 0 "the installed mailoauth --version"
assert_stdout_is "mailoauth $VERSION" "... prints mailoauth $VERSION (meson.build's version)"
run_cmd help "$INSTALLED" --help
assert_rc 0 "the installed mailoauth --help"
assert_contains "$OUT" "token" "... lists the commands"
cp "$ROOT/usr/share/doc/mailoauth/examples/mailoauth.conf.example" \
	"$XDG_CONFIG_HOME/mailoauth/mailoauth.conf"
run_cmd status "$INSTALLED" status --json
assert_rc 0 "the installed mailoauth status, with the installed example as its settings"
assert_empty "$ERR" "... without a word on stderr"
remove_config
run_cmd helper "$ROOT/usr/libexec/mailoauth-export-helper"
assert_rc 2 "the installed export helper runs (no verb: usage, exit status 2)"

# ------------------------------------------------------------- load the plugin ----

if command -v saslpluginviewer >/dev/null; then
	SASL_PATH="$ROOT$SASL_DIR" run_cmd viewer saslpluginviewer -c
	assert_rc 0 "saslpluginviewer -c with SASL_PATH at the installed plugin"
	mechs=$(awk '/^Plugin "mailoauth"/ { on = 1; next } /^Plugin/ { on = 0 }
		on && /SASL mechanism:/ { sub(/,.*/, ""); print $3 }' "$OUT" | sort | tr '\n' ' ')
	assert_eq "$mechs" "OAUTHBEARER XOAUTH2 " "... lists plugin mailoauth with OAUTHBEARER and XOAUTH2"
else
	skip "load the installed plugin" "saslpluginviewer not found (package sasl2-bin)"
fi
syms=$(nm -D --defined-only "$ROOT$SASL_DIR/libmailoauth.so" 2>/dev/null | awk '$2 == "T" { print $3 }')
assert_eq "$syms" "sasl_client_plug_init" "the plugin exports sasl_client_plug_init and no other function"

# ------------------------------------------------------- the man pages, found ----

if command -v man >/dev/null; then
	for page in 1:mailoauth 5:mailoauth.conf 7:mailoauth-sasl; do
		run_cmd "man-w-${page#*:}" env MANPATH="$ROOT/usr/share/man" man -w "${page%%:*}" "${page#*:}"
		assert_stdout_is "$ROOT/usr/share/man/man${page%%:*}/${page#*:}.${page%%:*}" \
			"man finds ${page#*:}(${page%%:*}) in the installed man directory"
		run_cmd "man-${page#*:}" env MANPATH="$ROOT/usr/share/man" man "${page%%:*}" "${page#*:}"
		assert_empty "$ERR" "... and shows it without a warning"
	done
else
	skip "man pages through man" "man not found (package man-db)"
fi

# ---------------------------------------------- the completions, where shells look ----

BC=/usr/share/bash-completion/bash_completion
if [ -r "$BC" ]; then
	# bash-completion loads completions/NAME from each $XDG_DATA_DIRS on the first Tab
	run_cmd bash-load env XDG_DATA_DIRS="$ROOT/usr/share" bash --norc --noprofile -c \
		". '$BC'; __load_completion mailoauth && complete -p mailoauth"
	assert_stdout_is "complete -F _mailoauth mailoauth" "bash-completion loads the installed completion"
	run_cmd bash-tok env XDG_DATA_DIRS="$ROOT/usr/share" PATH="$ROOT/usr/bin:$PATH" \
		bash --norc --noprofile -c ". '$BC'; __load_completion mailoauth
			COMP_WORDS=(mailoauth tok); COMP_CWORD=1; COMP_LINE='mailoauth tok'; COMP_POINT=13
			_mailoauth mailoauth tok mailoauth; printf '%s\n' \"\${COMPREPLY[@]}\""
	assert_stdout_is "token" "... and completes mailoauth tok to token"
else
	skip "bash completion from the installed directory" "$BC missing (package bash-completion)"
fi
if command -v fish >/dev/null; then
	# fish (its own config.fish: not --no-config) reads vendor_completions.d of each
	# $XDG_DATA_DIRS, for a command it finds in PATH; HOME is the test's
	run_cmd fish-tok env XDG_DATA_DIRS="$ROOT/usr/share" PATH="$ROOT/usr/bin:$PATH" \
		fish -c "complete -C 'mailoauth tok'"
	assert_matches "$OUT" $'^token\t' "fish finds the installed completion: mailoauth tok → token"
else
	skip "fish completion from the installed directory" "fish not found (package fish)"
fi
if command -v zsh >/dev/null; then
	run_cmd zsh-compinit zsh -f -c "fpath=('$ROOT$ZSH_DIR' \$fpath); autoload -Uz compinit;
		compinit -u -D; print -r -- \$_comps[mailoauth]"
	assert_stdout_is "_mailoauth" "zsh's compinit finds the installed _mailoauth"
else
	skip "zsh completion from the installed directory" "zsh not found (package zsh)"
fi

# ------------------------------------------------------- other prefixes ----

# installed_paths BUILD_DIR: every path `meson install` would write, one per line.
installed_paths() {
	meson introspect "$1" --installed |
		"$MO_PYTHON" -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin).values())))'
}

run_cmd setup-opt meson setup "$TEST_DIR/build-opt" "$SRC" --prefix=/opt/mailoauth -Dtests=false
assert_rc 0 "meson setup --prefix=/opt/mailoauth (configure only)"
LIBDIR=$(meson introspect "$TEST_DIR/build-opt" --buildoptions |
	"$MO_PYTHON" -c 'import json, sys; print([o["value"] for o in json.load(sys.stdin) if o["name"] == "libdir"][0])')
paths=$(installed_paths "$TEST_DIR/build-opt")
outside=$(grep -v '^/opt/mailoauth/' <<<"$paths" || true)
assert_eq "$outside" "" "with --prefix=/opt/mailoauth every file stays inside the prefix"
check "... the plugin in /opt/mailoauth/$LIBDIR/sasl2" \
	grep -qx "/opt/mailoauth/$LIBDIR/sasl2/libmailoauth.so" <<<"$paths"
check "... and the units, completions, man pages there too" \
	test "$(grep -c '^/opt/mailoauth/' <<<"$paths")" -eq "$(wc -l <<<"$paths")"
assert_contains "$OUT" "SASL_PATH=/opt/mailoauth/$LIBDIR/sasl2:$SASL_DIR" \
	"... and meson setup says how to set SASL_PATH"

run_cmd setup-local meson setup "$TEST_DIR/build-local" "$SRC" --prefix=/usr/local -Dtests=false
assert_rc 0 "meson setup --prefix=/usr/local (configure only)"
paths=$(installed_paths "$TEST_DIR/build-local")
check "with --prefix=/usr/local the plugin goes where libsasl2 looks ($SASL_DIR)" \
	grep -qx "$SASL_DIR/libmailoauth.so" <<<"$paths"
check "... and so does the polkit action, where pkexec looks" \
	grep -qx /usr/share/polkit-1/actions/org.mailoauth.export.policy <<<"$paths"
check "... and the binary to /usr/local/bin" grep -qx /usr/local/bin/mailoauth <<<"$paths"

tap_done
