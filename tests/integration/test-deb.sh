#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The distribution packages, as users get them:
#  - Debian: `dpkg-buildpackage -us -uc -b` on a copy of the working tree (uncommitted files
#    included; build directories, node_modules and .git left out) builds mailoauth and
#    libsasl2-modules-mailoauth with the unit tests; lintian reports no error or warning (an
#    override only with its reason); each package holds its files and depends on what its
#    binaries load; `apt-get install ./….deb` installs both on this machine, where
#    /usr/bin/mailoauth answers --version and --help, libsasl2 loads the plugin from its own
#    directory (saslpluginviewer -c), man finds the pages, and the token lifecycle test
#    (integration/lifecycle) passes against the installed binary; then both are purged.
#  - Arch: packaging/arch/PKGBUILD parses (bash -n), names the version of meson.build, depends
#    on Arch's names for every library the binaries load, runs the unit tests in check(), and
#    installs where Arch keeps things.
# Needs root (it installs packages: the CI machine is meant for it) and refuses to touch
# packages of these names installed before. TAP on stdout.

set -u
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PACKAGES=(mailoauth libsasl2-modules-mailoauth)

[ "$(id -u)" -eq 0 ] || skip_all "needs root: it installs the built packages with apt-get"
for cmd in dpkg-buildpackage dpkg-checkbuilddeps dpkg-parsechangelog lintian apt-get; do
	command -v "$cmd" >/dev/null || skip_all "$cmd not found (packages dpkg-dev, debhelper, lintian)"
done
for pkg in "${PACKAGES[@]}"; do
	if dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null | grep -q 'installed$'; then
		skip_all "$pkg is installed on this machine; this test would replace and remove it"
	fi
done
if ! unmet=$(cd "$SRC" && dpkg-checkbuilddeps 2>&1); then
	skip_all "build dependencies missing: ${unmet#*: }"
fi

mo_init "$@"

VERSION=$(sed -nE "s/^[[:space:]]*version: '([^']+)',.*/\1/p" "$SRC/meson.build" | head -n 1)
ARCH=$(dpkg --print-architecture)
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo "$ARCH-linux-gnu")
export LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive

# Whatever happens, nothing of ours stays installed.
INSTALLED=
deb_cleanup() {
	if [ -n "$INSTALLED" ]; then
		apt-get purge -y -q "${PACKAGES[@]}" >"$TEST_DIR/purge-at-exit.log" 2>&1 ||
			dpkg --purge "${PACKAGES[@]}" >/dev/null 2>&1
	fi
	mo_cleanup
}
trap deb_cleanup EXIT

# diag_tail FILE N: the last N lines of FILE in the TAP stream.
diag_tail() {
	tail -n "$2" "$1" >"$TEST_DIR/tail.txt"
	diag_file "$TEST_DIR/tail.txt" "$2"
}

# ---------------------------------------------------------------- the copy ----

WORK=$TEST_DIR/deb
COPY=$WORK/mailoauth-$VERSION
mkdir -p "$COPY"
# what a build or a test leaves in the tree, and what git does not track, stays out
tar -C "$SRC" \
	--exclude=./.git --exclude='./build' --exclude='./build-*' --exclude='./obj-*' \
	--exclude=node_modules --exclude=__pycache__ --exclude='*.swp' \
	--exclude=./debian/.debhelper --exclude=./debian/tmp --exclude=./debian/files \
	--exclude='./debian/*.substvars' --exclude=./debian/debhelper-build-stamp \
	--exclude=./debian/mailoauth --exclude=./debian/libsasl2-modules-mailoauth \
	-cf - . | tar -C "$COPY" -xf -
check "a copy of the working tree (without build directories and .git)" \
	test -f "$COPY/debian/control" -a ! -e "$COPY/.git" -a ! -e "$COPY/build"

run_cmd changelog-version dpkg-parsechangelog -l "$SRC/debian/changelog" -S Version
assert_stdout_is "$VERSION" "debian/changelog's version is meson.build's ($VERSION)"

# -------------------------------------------------------------------- build ----

start=$(now)
# -jauto: debhelper builds and tests with one job unless told
(cd "$COPY" && MO_CMD_TIMEOUT=900 run_cmd build dpkg-buildpackage -us -uc -b -jauto)
BUILD_LOG=$TEST_DIR/build.out
cat "$TEST_DIR/build.err" >>"$BUILD_LOG" 2>/dev/null
BUILD_SECONDS=$(($(now) - start))
DEB=$WORK/mailoauth_${VERSION}_$ARCH.deb
PLUGIN_DEB=$WORK/libsasl2-modules-mailoauth_${VERSION}_$ARCH.deb
CHANGES=$WORK/mailoauth_${VERSION}_$ARCH.changes
if [ -f "$DEB" ] && [ -f "$PLUGIN_DEB" ] && [ -f "$CHANGES" ]; then
	ok "dpkg-buildpackage -us -uc -b builds both packages (${BUILD_SECONDS} s)"
else
	not_ok "dpkg-buildpackage -us -uc -b builds both packages"
	diag_tail "$BUILD_LOG" 40
	bail_out "no packages to check"
fi
if [[ " ${DEB_BUILD_OPTIONS:-} " == *" nocheck "* ]]; then
	skip "the unit tests in the build" "DEB_BUILD_OPTIONS has nocheck"
else
	check "the unit tests ran in the build" grep -qE '^Ok: +[1-9]' "$BUILD_LOG"
	check "... and none failed" grep -qE '^Fail: +0' "$BUILD_LOG"
fi

# ------------------------------------------------------------------- lintian ----

# lintian warns on stderr that it runs as root; its findings are on stdout
start=$(now)
run_cmd lintian lintian --tag-display-limit 0 --display-info --display-experimental --pedantic \
	--show-overrides "$CHANGES"
diag "lintian ($(($(now) - start)) s; info, pedantic and experimental tags and overrides shown):"
diag_file "$OUT" 40
check "lintian: no error" test -z "$(grep -E '^E: ' "$OUT")"
check "lintian: no warning" test -z "$(grep -E '^W: ' "$OUT")"
for f in "$SRC"/debian/*.lintian-overrides; do
	[ -e "$f" ] || continue
	check "each override in $(basename "$f") comes with its reason (a comment above it)" \
		awk '/^[^#[:space:]]/ && prev !~ /^#/ { bad = 1 } { prev = $0 } END { exit bad }' "$f"
done

# ------------------------------------------------------------------ contents ----

contents() {
	dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|'
}
MAIN_FILES=$(contents "$DEB")
PLUGIN_FILES=$(contents "$PLUGIN_DEB")
for path in /usr/bin/mailoauth /usr/libexec/mailoauth-export-helper \
	/usr/share/polkit-1/actions/org.mailoauth.export.policy \
	/lib/systemd/system/mailoauth-export-refresh.service \
	/lib/systemd/system/mailoauth-export-refresh.timer \
	/usr/share/bash-completion/completions/mailoauth \
	/usr/share/fish/vendor_completions.d/mailoauth.fish \
	/usr/share/zsh/vendor-completions/_mailoauth \
	/usr/share/man/man1/mailoauth.1.gz /usr/share/man/man5/mailoauth.conf.5.gz \
	/usr/share/doc/mailoauth/examples/mailoauth.conf.example /usr/share/doc/mailoauth/copyright; do
	check "mailoauth holds $path" grep -qx "$path" <<<"$MAIN_FILES"
done
for lang in $(sed -e 's/#.*//' "$SRC/po/LINGUAS"); do
	check "mailoauth holds the $lang translation" \
		grep -qx "/usr/share/locale/$lang/LC_MESSAGES/mailoauth.mo" <<<"$MAIN_FILES"
done
for path in "/usr/lib/$MULTIARCH/sasl2/libmailoauth.so" /usr/share/man/man7/mailoauth-sasl.7.gz \
	/usr/share/doc/libsasl2-modules-mailoauth/copyright; do
	check "libsasl2-modules-mailoauth holds $path" grep -qx "$path" <<<"$PLUGIN_FILES"
done
check "the plugin is in libsasl2-modules-mailoauth only" \
	test -z "$(grep 'libmailoauth' <<<"$MAIN_FILES")"
main_depends=$(dpkg-deb -f "$DEB" Depends)
plugin_depends=$(dpkg-deb -f "$PLUGIN_DEB" Depends)
diag "mailoauth Depends: $main_depends"
diag "libsasl2-modules-mailoauth Depends: $plugin_depends"
# the CLI loads libcurl.so.4 itself (dlopen), which shlibs cannot see
for dep in libc6 libglib2.0-0 libsecret-1-0 libcurl4; do
	check "mailoauth depends on $dep" grep -qE "(^|, )$dep( |,|$)" <<<"$main_depends"
done
for dep in libc6 libglib2.0-0 libcurl4; do
	check "libsasl2-modules-mailoauth depends on $dep" grep -qE "(^|, )$dep( |,|$)" <<<"$plugin_depends"
done
check "libsasl2-modules-mailoauth is Multi-Arch: same" test "$(dpkg-deb -f "$PLUGIN_DEB" Multi-Arch)" = same

# ------------------------------------------------------------------- install ----

INSTALLED=1
start=$(now)
run_cmd apt-install apt-get install -y -q --no-install-recommends "$DEB" "$PLUGIN_DEB"
assert_rc 0 "apt-get install ./mailoauth_….deb ./libsasl2-modules-mailoauth_….deb ($(($(now) - start)) s)" ||
	diag_file "$OUT" 30
for pkg in "${PACKAGES[@]}"; do
	check "$pkg is installed" test "$(dpkg-query -W -f '${Status}' "$pkg" 2>/dev/null)" = "install ok installed"
done

run_cmd installed-version /usr/bin/mailoauth --version
assert_rc 0 "/usr/bin/mailoauth --version"
assert_stdout_is "mailoauth $VERSION" "... prints mailoauth $VERSION"
run_cmd installed-help /usr/bin/mailoauth --help
assert_rc 0 "/usr/bin/mailoauth --help"
assert_contains "$OUT" "authorize" "... lists the commands"

if command -v saslpluginviewer >/dev/null; then
	# libsasl2's own directory: no SASL_PATH
	env -u SASL_PATH saslpluginviewer -c >"$TEST_DIR/viewer.out" 2>&1
	mechs=$(awk '/^Plugin "mailoauth"/ { on = 1; next } /^Plugin/ { on = 0 }
		on && /SASL mechanism:/ { sub(/,.*/, ""); print $3 }' "$TEST_DIR/viewer.out" | sort | tr '\n' ' ')
	assert_eq "$mechs" "OAUTHBEARER XOAUTH2 " \
		"saslpluginviewer -c lists the installed plugin mailoauth with XOAUTH2 and OAUTHBEARER"
else
	skip "saslpluginviewer -c" "saslpluginviewer not found (package sasl2-bin)"
fi
if command -v man >/dev/null; then
	for page in 1:mailoauth 5:mailoauth.conf 7:mailoauth-sasl; do
		run_cmd "man-${page#*:}" man -w "${page%%:*}" "${page#*:}"
		assert_stdout_is "/usr/share/man/man${page%%:*}/${page#*:}.${page%%:*}.gz" \
			"man finds ${page#*:}(${page%%:*})"
	done
else
	skip "man finds the installed pages" "man not found (package man-db)"
fi

# The token lifecycle (tools/dev demo's story: app, import, token, refresh, status, forget)
# against the installed binary, in its own private keyring.
start=$(now)
MO_CMD_TIMEOUT=120 run_cmd lifecycle env MAILOAUTH=/usr/bin/mailoauth MO_CMD_TIMEOUT=30 \
	MAILOAUTH_TEST_KEYRING_SESSION= MO_TAP_EXIT_ZERO= bash "$SRC/tests/integration/test-lifecycle.sh"
failed=$(grep -c '^not ok' "$OUT")
passed=$(grep -c '^ok' "$OUT")
if [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; then
	ok "integration/lifecycle passes against /usr/bin/mailoauth ($passed checks, $(($(now) - start)) s)"
else
	not_ok "integration/lifecycle passes against /usr/bin/mailoauth ($failed of $((passed + failed)) failed)"
	grep -A3 '^not ok' "$OUT" >"$TEST_DIR/lifecycle-failed.txt"
	diag_file "$TEST_DIR/lifecycle-failed.txt" 30
fi

# -------------------------------------------------------------------- remove ----

run_cmd apt-purge apt-get purge -y -q "${PACKAGES[@]}"
assert_rc 0 "apt-get purge removes both packages again"
INSTALLED=
check "... /usr/bin/mailoauth is gone" test ! -e /usr/bin/mailoauth
check "... and the plugin" test ! -e "/usr/lib/$MULTIARCH/sasl2/libmailoauth.so"

# ---------------------------------------------------------------------- Arch ----

PKGBUILD=$SRC/packaging/arch/PKGBUILD
run_cmd pkgbuild-n bash -n "$PKGBUILD"
assert_rc 0 "bash -n packaging/arch/PKGBUILD"
# its variables and functions, as makepkg sources it
run_cmd pkgbuild-vars bash -c 'set -e; source "$1"
	printf "pkgname=%s\npkgver=%s\npkgrel=%s\n" "$pkgname" "$pkgver" "$pkgrel"
	printf "depends=%s\n" "${depends[@]}"
	printf "dep=%s\n" "${depends[@]}" "${makedepends[@]}" "${checkdepends[@]}"
	printf "opt=%s\n" "${optdepends[@]}"
	printf "arch=%s\n" "${arch[@]}"
	printf "license=%s\n" "${license[@]}"
	for f in build check package; do declare -F "$f" >/dev/null && echo "function=$f"; done
	declare -f build check package' bash "$PKGBUILD"
assert_rc 0 "the PKGBUILD sources cleanly"
VARS=$OUT
check "pkgname=mailoauth" grep -qx pkgname=mailoauth "$VARS"
check "pkgver is meson.build's ($VERSION)" grep -qx "pkgver=$VERSION" "$VARS"
check "pkgrel is a number" grep -qE '^pkgrel=[1-9][0-9]*$' "$VARS"
check "arch names x86_64" grep -qx arch=x86_64 "$VARS"
check "license is the SPDX LGPL-2.1-or-later" grep -qx license=LGPL-2.1-or-later "$VARS"
for f in build check package; do
	check "it defines $f()" grep -qx "function=$f" "$VARS"
done

# Arch's package names (archlinux.org/packages) for what the build and the binaries use.
ARCH_NAMES=" glib2 libsecret curl libsasl meson ninja gettext pkgconf bash-completion fish
	systemd cmocka json-glib gnome-keyring keepassxc polkit postfix isync "
names=$(sed -nE 's/^(dep|opt)=([^:<>=]+).*/\2/p' "$VARS")
unknown=()
for name in $names; do
	[[ $ARCH_NAMES == *[[:space:]]${name}[[:space:]]* ]] || unknown+=("$name")
done
assert_eq "${unknown[*]}" "" "every depends/makedepends/checkdepends/optdepends name is Arch's"
# namcap's rule: each library the binaries load comes from a package in depends.
OBJ=$(find "$COPY" -maxdepth 1 -type d -name 'obj-*' | head -n 1)
needed=$(for f in "$OBJ/src/cli/mailoauth" "$OBJ/src/sasl/libmailoauth.so" \
	"$OBJ/src/export-helper/mailoauth-export-helper"; do
	readelf -d "$f" 2>/dev/null | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'
done | sort -u)
# the CLI loads libcurl.so.4 when it first needs it (src/core/mo-curl.h)
needed+=$'\nlibcurl.so.4'
depends=$(sed -nE 's/^depends=([^:<>=]+).*/\1/p' "$VARS")
missing=()
while read -r lib; do
	case $lib in
	libc.so.* | libm.so.* | ld-linux*) pkg=glibc ;; # in base, never listed
	libglib-2.0* | libgio-2.0* | libgobject-2.0*) pkg=glib2 ;;
	libsecret-1*) pkg=libsecret ;;
	libcurl.so*) pkg=curl ;;
	'') continue ;;
	*) pkg="unknown($lib)" ;;
	esac
	[ "$pkg" = glibc ] && continue
	grep -qx "$pkg" <<<"$depends" || missing+=("$pkg")
done <<<"$needed"
assert_eq "$(printf '%s\n' "${missing[@]}" | sort -u | tr -d '\n')" "" \
	"depends names the Arch package of every library the binaries load ($(tr '\n' ' ' <<<"$needed"))"
check "check() runs the unit tests" grep -qE 'meson test .*--suite unit' "$VARS"
check "build() configures with arch-meson (prefix /usr)" grep -qE 'arch-meson ' "$VARS"
check "package() installs into \$pkgdir" grep -qE 'meson install .*--destdir "\$pkgdir"' "$VARS"
# Where it installs, with its options, on the layout meson computes.
libexecdir=$(sed -nE 's/.*--libexecdir=([^ ]+).*/\1/p' "$VARS" | head -n 1)
zshdir=$(sed -nE 's/.*-Dzsh_completion_dir=([^ ]+).*/\1/p' "$VARS" | head -n 1)
run_cmd arch-setup meson setup "$TEST_DIR/arch-build" "$SRC" --prefix=/usr --libexecdir="$libexecdir" \
	-Dzsh_completion_dir="$zshdir" -Dtests=false
assert_rc 0 "meson setup with the PKGBUILD's options"
arch_paths=$(meson introspect "$TEST_DIR/arch-build" --installed |
	"$MO_PYTHON" -c 'import json, sys; print("\n".join(sorted(json.load(sys.stdin).values())))')
check "Arch: the helper in /usr/lib/mailoauth, not /usr/libexec" \
	grep -qx /usr/lib/mailoauth/mailoauth-export-helper <<<"$arch_paths"
check "Arch: the policy runs that helper" \
	grep -q '>/usr/lib/mailoauth/mailoauth-export-helper<' "$TEST_DIR/arch-build/data/org.mailoauth.export.policy"
check "Arch: the zsh completion in /usr/share/zsh/site-functions" \
	grep -qx /usr/share/zsh/site-functions/_mailoauth <<<"$arch_paths"
check "Arch: nothing in /usr/libexec or /usr/local" test -z "$(grep -E '^/usr/(libexec|local)/' <<<"$arch_paths")"

diag "dpkg-buildpackage took ${BUILD_SECONDS} s"
tap_done
