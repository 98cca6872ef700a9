# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
#
# bash completion for mailoauth(1): commands, each command's long options and their values,
# account names (mailoauth status --json) and app names (mailoauth app list --json).
# Installed as bash-completion's completions/mailoauth, which loads it on the first Tab.
#
# Names come from the keyring only as far as it is open: status and app list never ask to
# unlock it, and each call is cut off after _MAILOAUTH_COMPLETION_TIMEOUT seconds, so that a
# slow Secret Service never hangs a Tab. Short options are left to --help: the long ones say
# what they do.

_MAILOAUTH_COMPLETION_TIMEOUT=${_MAILOAUTH_COMPLETION_TIMEOUT:-2}

_mailoauth_commands='authorize token refresh status import app doctor export test forget'

# Options of `app add` that also describe a one-off app in authorize and export.
_mailoauth_app_options='--provider= --client-id= --tenant= --issuer= --token-endpoint= --authorize-endpoint= --device-endpoint= --secret'
_mailoauth_signin_options='--flow= --login-hint= --port= --timeout= --no-browser'

# _mailoauth_options COMMAND: the long options of COMMAND ("app add" for a subcommand); a
# trailing "=" marks an option that takes a value.
_mailoauth_options()
{
	case $1 in
	authorize)
		echo "--app= --purpose= --scope= --user= $_mailoauth_signin_options" \
			"$_mailoauth_app_options --help"
		;;
	token | forget) echo "--help" ;;
	refresh) echo "--force --file= --exported --margin= --help" ;;
	status | doctor) echo "--json --help" ;;
	import) echo "--account= --app= --remove --help" ;;
	test) echo "--imap= --smtp= --mech= --help" ;;
	export)
		echo "--copy --remove --list --json --apply --relay= --scope= --app= --user= --via=" \
			"$_mailoauth_signin_options $_mailoauth_app_options --help"
		;;
	"app add") echo "$_mailoauth_app_options --help" ;;
	"app list") echo "--json --help" ;;
	"app remove") echo "--force --help" ;;
	esac
}

# _mailoauth_run CMD ARGS...: CMD's standard output, or nothing after the timeout.
_mailoauth_run()
{
	if type -P timeout >/dev/null; then
		timeout -k 1 "$_MAILOAUTH_COMPLETION_TIMEOUT" "$@" 2>/dev/null </dev/null
	else
		"$@" 2>/dev/null </dev/null
	fi
}

# _mailoauth_names CMD accounts|exports|apps: names from the JSON reports, one per line.
# Names are letters, digits and ._@+-= only (mailoauth checks them), so no JSON escapes.
_mailoauth_names()
{
	local json key re
	case $2 in
	apps)
		json=$(_mailoauth_run "$1" app list --json) || return 0
		key=app
		;;
	accounts)
		json=$(_mailoauth_run "$1" status --json) || [[ -n $json ]] || return 0
		json=${json#*\"accounts\"}
		json=${json%%\"exports\"*}
		key=account
		;;
	exports)
		json=$(_mailoauth_run "$1" status --json) || [[ -n $json ]] || return 0
		json=${json#*\"exports\"}
		key=account
		;;
	esac
	re="\"$key\"[[:space:]]*:[[:space:]]*\"([^\"]*)\""
	while [[ $json =~ $re ]]; do
		printf '%s\n' "${BASH_REMATCH[1]}"
		json=${json#*"${BASH_REMATCH[0]}"}
	done
}

# _mailoauth_values CMD OPTION: the values OPTION takes, if there is a known set.
_mailoauth_values()
{
	case $2 in
	--app) _mailoauth_names "$1" apps ;;
	--flow) echo "device browser paste" ;;
	--purpose) echo "imap smtp pop all" ;;
	--provider) echo "microsoft google custom" ;;
	--tenant) echo "common organizations consumers" ;;
	--via) echo "pkexec sudo direct" ;;
	--mech) echo "XOAUTH2 OAUTHBEARER" ;;
	esac
}

# _mailoauth_reply WORDS CUR: the words of WORDS (separated by blanks or newlines; file names
# by newlines only, with FILES=1) that start with CUR.
_mailoauth_reply()
{
	local IFS=$'\n' words=$1
	[[ -n ${FILES:-} ]] || words=${words//[[:space:]]/$'\n'}
	# shellcheck disable=SC2207 # compgen prints one candidate per line
	COMPREPLY=($(compgen -W "$words" -- "$2"))
}

_mailoauth()
{
	local cur prev words cword split=false
	if declare -F _init_completion >/dev/null; then
		_init_completion -s -n : || return
	else
		# without bash-completion: "=" and ":" split words
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		if [[ $cur == = ]]; then
			cur=
			split=true
		elif [[ $prev == = ]] && ((cword > 1)); then
			prev=${COMP_WORDS[COMP_CWORD - 2]}
			split=true
		fi
	fi

	local prog=${words[0]} command="" i word options values args=0
	# shellcheck disable=SC2088 # the word as typed: bash has not expanded its tilde
	[[ $prog == "~/"* ]] && prog=$HOME/${prog#"~/"}
	type -P "$prog" >/dev/null || prog=mailoauth

	# the command, the app subcommand, and how many arguments come before the cursor
	for ((i = 1; i < cword; i++)); do
		word=${words[i]}
		if [[ $word == -* ]]; then
			# an option that takes its value in the next word (after a "=" word without
			# bash-completion)
			if [[ $word != *=* && " $(_mailoauth_options "$command") " == *" $word= "* ]]; then
				((i++))
				[[ ${words[i]} == = ]] && ((i++))
			fi
			continue
		fi
		if [[ -z $command ]]; then
			command=$word
		elif [[ $command == app ]]; then
			command="app $word"
		else
			((args++))
		fi
	done

	if [[ -z $command ]]; then
		if [[ $cur == -* ]]; then
			_mailoauth_reply "--help --version" "$cur"
		else
			_mailoauth_reply "$_mailoauth_commands help" "$cur"
		fi
		return 0
	fi
	if [[ $command == app ]]; then
		_mailoauth_reply "add list remove" "$cur"
		return 0
	fi
	if [[ $command == help ]]; then
		((args == 0)) && _mailoauth_reply "$_mailoauth_commands" "$cur"
		return 0
	fi

	options=$(_mailoauth_options "$command")
	# the value of an option
	if [[ $prev == --* && " $options " == *" $prev= "* ]] && { $split || [[ $cur != -* ]]; }; then
		case $prev in
		--file)
			compopt -o filenames 2>/dev/null
			FILES=1 _mailoauth_reply "$(compgen -f -- "$cur")" "$cur"
			;;
		*)
			values=$(_mailoauth_values "$prog" "$prev")
			[[ -n $values ]] && _mailoauth_reply "$values" "$cur"
			;;
		esac
		return 0
	fi
	$split && return 0

	if [[ $cur == -* ]]; then
		_mailoauth_reply "$options" "$cur"
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
		return 0
	fi
	((args > 0)) && return 0
	case $command in
	authorize | token | refresh | status | test | forget)
		_mailoauth_reply "$(_mailoauth_names "$prog" accounts)" "$cur"
		;;
	export)
		if [[ " ${words[*]:1:cword-1} " == *" --remove "* ]]; then
			_mailoauth_reply "$(_mailoauth_names "$prog" exports)" "$cur"
		else
			_mailoauth_reply "$(_mailoauth_names "$prog" accounts)" "$cur"
		fi
		;;
	"app remove")
		_mailoauth_reply "$(_mailoauth_names "$prog" apps)" "$cur"
		;;
	import)
		compopt -o filenames 2>/dev/null
		FILES=1 _mailoauth_reply "$(compgen -f -- "$cur")" "$cur"
		;;
	esac
	return 0
}

complete -F _mailoauth mailoauth
