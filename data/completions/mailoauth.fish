# SPDX-License-Identifier: LGPL-2.1-or-later
#
# fish completion for mailoauth(1): commands, each command's long options and their values,
# account names (mailoauth status --json) and app names (mailoauth app list --json).
#
# Names come from the keyring only as far as it is open: status and app list never ask to
# unlock it, and each call is cut off after $mailoauth_completion_timeout seconds (default 2),
# so that a slow Secret Service never hangs a Tab.

# __fish_mailoauth_names accounts|exports|apps: names from the JSON reports, one per line.
# Names are letters, digits and ._@+-= only (mailoauth checks them), so no JSON escapes.
function __fish_mailoauth_names
    set -l cmd (commandline -opc)[1]
    set cmd (string replace -r '^~/' "$HOME/" -- $cmd)
    test -x "$cmd"; or command -q -- $cmd; or set cmd mailoauth
    set -l seconds 2
    set -q mailoauth_completion_timeout; and set seconds $mailoauth_completion_timeout
    set -l run
    command -q timeout; and set run timeout -k 1 $seconds
    set -l json
    switch $argv[1]
        case apps
            set json ($run $cmd app list --json 2>/dev/null </dev/null | string join ' ')
            string match -rag '"app"\s*:\s*"([^"]*)"' -- "$json"
        case accounts
            set json ($run $cmd status --json 2>/dev/null </dev/null | string join ' ')
            set json (string replace -r '^.*?"accounts"' '' -- "$json")
            set json (string replace -r '"exports".*$' '' -- "$json")
            string match -rag '"account"\s*:\s*"([^"]*)"' -- "$json"
        case exports
            set json ($run $cmd status --json 2>/dev/null </dev/null | string join ' ')
            set json (string replace -r '^.*?"exports"' '' -- "$json")
            string match -rag '"account"\s*:\s*"([^"]*)"' -- "$json"
    end
end

# __fish_mailoauth_command CMD...: the command line's command (and app subcommand) is CMD.
function __fish_mailoauth_command
    set -l words (commandline -opc)
    set -l found
    for word in $words[2..-1]
        string match -q -- '-*' $word; and continue
        set -a found $word
        test (count $found) -eq (count $argv); and break
    end
    test "$found" = "$argv"
end

# __fish_mailoauth_needs_argument: no argument after the command yet (options aside).
function __fish_mailoauth_needs_argument
    set -l words (commandline -opc)
    set -l skip 1
    test "$words[2]" = app; and set skip 2
    set -l args 0
    set -l prev
    for word in $words[2..-1]
        if string match -q -- '-*' $word
            set prev $word
            continue
        end
        # the value of an option given as "--app work"
        if contains -- $prev --app --account --scope --user --flow --purpose --provider \
                --client-id --tenant --issuer --token-endpoint --authorize-endpoint \
                --device-endpoint --login-hint --port --timeout --relay --via --margin --file \
                --imap --smtp --mech
            set prev
            continue
        end
        set args (math $args + 1)
    end
    test $args -le $skip
end

complete -c mailoauth -f

# the commands
set -l __mailoauth_commands authorize token refresh status import app doctor export test forget help
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -l help -d 'Show the commands'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -l version -d 'Print the version'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a authorize -d "Sign in and store an account's first token"
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a token -d "Print a fresh access token (for mbsync's PassCmd)"
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a refresh -d "Refresh an account's token now"
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a status -d "Show accounts, token expiry and the keyring's state"
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a import -d 'Move a sasl-xoauth2 token file into the keyring'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a app -d 'Register, list or remove OAuth apps (client IDs)'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a doctor -d 'Check the keyring, the SASL plugin, accounts and exports'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a export -d 'Write a token file for postfix (through a root helper)'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a test -d "Log in to an IMAP or SMTP server with an account's token"
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a forget -d 'Remove an account and its tokens from the keyring'
complete -c mailoauth -n "not __fish_seen_subcommand_from $__mailoauth_commands" -a help -d 'Show the help of a command'
complete -c mailoauth -n '__fish_mailoauth_command help; and __fish_mailoauth_needs_argument' -a "$__mailoauth_commands"

# every command's --help
complete -c mailoauth -n "__fish_seen_subcommand_from $__mailoauth_commands" -l help -d 'Show the options'

# account names as the first argument
complete -c mailoauth -n '__fish_seen_subcommand_from authorize token refresh status test forget; and __fish_mailoauth_needs_argument' -a '(__fish_mailoauth_names accounts)'
complete -c mailoauth -n '__fish_seen_subcommand_from export; and not __fish_seen_argument -l remove; and __fish_mailoauth_needs_argument' -a '(__fish_mailoauth_names accounts)'
complete -c mailoauth -n '__fish_seen_subcommand_from export; and __fish_seen_argument -l remove; and __fish_mailoauth_needs_argument' -a '(__fish_mailoauth_names exports)'

# the sign-in options of authorize and export, and the app options of app add too
for cmd in authorize export
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l app -x -a '(__fish_mailoauth_names apps)' -d 'The app to sign in with'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l scope -x -d 'Exact scopes to ask for'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l user -x -d 'SASL login name'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l flow -x -a 'device browser paste' -d 'Sign-in flow'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l login-hint -x -d 'Suggest this address on the sign-in page'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l port -x -d "Port of the browser flow's listener on 127.0.0.1"
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l timeout -x -d 'Seconds to wait for the browser'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l no-browser -d 'Print the address but do not open a browser'
end
for cmd in authorize export 'app add'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l provider -x -a 'microsoft google custom' -d 'Provider preset'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l client-id -x -d "The app's client (application) ID"
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l tenant -x -a 'common organizations consumers' -d 'Microsoft directory (tenant) ID'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l issuer -x -d 'Find the endpoints by OpenID discovery'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l token-endpoint -x -d 'Token endpoint URL'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l authorize-endpoint -x -d 'Authorization endpoint URL'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l device-endpoint -x -d 'Device authorization endpoint URL'
    complete -c mailoauth -n "__fish_mailoauth_command $cmd" -l secret -d 'Read the client secret from a prompt or standard input'
end

# authorize
complete -c mailoauth -n '__fish_mailoauth_command authorize' -l purpose -x -a 'imap smtp pop all' -d 'Which scopes to ask for'

# refresh
complete -c mailoauth -n '__fish_mailoauth_command refresh' -l force -d 'Refresh even if the token is still fresh'
complete -c mailoauth -n '__fish_mailoauth_command refresh' -l file -r -F -d 'Refresh this sasl-xoauth2 token file'
complete -c mailoauth -n '__fish_mailoauth_command refresh' -l exported -d 'Refresh every token file written by mailoauth export'
complete -c mailoauth -n '__fish_mailoauth_command refresh' -l margin -x -d 'Refresh tokens with less than SECONDS left'

# status, doctor
complete -c mailoauth -n '__fish_mailoauth_command status' -l json -d 'Print JSON'
complete -c mailoauth -n '__fish_mailoauth_command doctor' -l json -d 'Print JSON'

# test
complete -c mailoauth -n '__fish_mailoauth_command test' -l imap -x -d 'Log in to this IMAP server (HOST[:PORT])'
complete -c mailoauth -n '__fish_mailoauth_command test' -l smtp -x -d 'Log in to this SMTP server (HOST[:PORT])'
complete -c mailoauth -n '__fish_mailoauth_command test' -l mech -x -a 'XOAUTH2 OAUTHBEARER' -d 'The SASL mechanism'

# import
complete -c mailoauth -n '__fish_mailoauth_command import' -l account -x -d 'Account name'
complete -c mailoauth -n '__fish_mailoauth_command import' -l app -x -a '(__fish_mailoauth_names apps)' -d 'App to refresh with'
complete -c mailoauth -n '__fish_mailoauth_command import' -l remove -d 'Remove each file once the keyring holds its tokens'
complete -c mailoauth -n '__fish_mailoauth_command import; and __fish_mailoauth_needs_argument' -F

# export
complete -c mailoauth -n '__fish_mailoauth_command export' -l copy -d "Export the keyring's grant instead of signing in a separate one"
complete -c mailoauth -n '__fish_mailoauth_command export' -l remove -d 'Remove the exported file of ACCOUNT'
complete -c mailoauth -n '__fish_mailoauth_command export' -l list -d 'List the exported accounts'
complete -c mailoauth -n '__fish_mailoauth_command export' -l json -d 'With --list: as JSON'
complete -c mailoauth -n '__fish_mailoauth_command export' -l apply -d 'Also make the postfix changes'
complete -c mailoauth -n '__fish_mailoauth_command export' -l relay -x -d 'The SMTP server postfix relays through (HOST[:PORT])'
complete -c mailoauth -n '__fish_mailoauth_command export' -l via -x -a 'pkexec sudo direct' -d 'How the root helper runs'

# app
complete -c mailoauth -n '__fish_mailoauth_command app; and not __fish_seen_subcommand_from add list remove' -a add -d 'Register an OAuth app'
complete -c mailoauth -n '__fish_mailoauth_command app; and not __fish_seen_subcommand_from add list remove' -a list -d 'List the registered apps'
complete -c mailoauth -n '__fish_mailoauth_command app; and not __fish_seen_subcommand_from add list remove' -a remove -d 'Remove a registered app'
complete -c mailoauth -n '__fish_mailoauth_command app list' -l json -d 'Print JSON'
complete -c mailoauth -n '__fish_mailoauth_command app remove' -l force -d 'Remove even if accounts still use the app'
complete -c mailoauth -n '__fish_mailoauth_command app remove; and __fish_mailoauth_needs_argument' -a '(__fish_mailoauth_names apps)'
