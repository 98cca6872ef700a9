#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Every C file with a translatable string is in POTFILES.in, and every file listed exists:
# a string missing from the catalogue is never translated, and nothing says so.
set -u
top=${1:?usage: check-potfiles.sh SOURCE_ROOT}
cd "$top" || exit 1
listed=$(grep -v '^#' po/POTFILES.in | sed '/^$/d' | sort)
marked=$(grep -l -E '\b(N_|_)\(' src/*/*.c | sort)
echo "1..2"
missing=$(comm -13 <(printf '%s\n' "$listed") <(printf '%s\n' "$marked"))
if [ -z "$missing" ]; then
	echo "ok 1 - every file with _() or N_() is in po/POTFILES.in"
else
	echo "not ok 1 - files with translatable strings missing from po/POTFILES.in"
	printf '# %s\n' $missing
fi
gone=$(for f in $listed; do [ -f "$f" ] || echo "$f"; done)
if [ -z "$gone" ]; then
	echo "ok 2 - every file in po/POTFILES.in exists"
else
	echo "not ok 2 - po/POTFILES.in lists files that do not exist"
	printf '# %s\n' $gone
fi
