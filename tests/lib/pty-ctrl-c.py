# SPDX-License-Identifier: LGPL-2.1-or-later
"""Runs a command on a pseudo-terminal, waits for PROMPT in its output, checks
whether the terminal echoes at that moment, sends Ctrl-C, and reports:

    echo-at-prompt: yes|no
    exit: N
    echo-after: yes|no

Usage: pty-ctrl-c.py PROMPT COMMAND [ARGS...]   (exit 2 if the prompt never came)
"""
import os
import pty
import sys
import termios
import time


def echoes(fd):
    return "yes" if termios.tcgetattr(fd)[3] & termios.ECHO else "no"


def main():
    prompt = sys.argv[1].encode()
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(sys.argv[2], sys.argv[2:])
    seen = b""
    deadline = time.time() + 10
    while prompt not in seen and time.time() < deadline:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
    if prompt not in seen:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        print("prompt never came", file=sys.stderr)
        return 2
    print("echo-at-prompt:", echoes(fd))
    os.write(fd, b"\x03")
    _, status = os.waitpid(pid, 0)
    print("exit:", os.waitstatus_to_exitcode(status))
    print("echo-after:", echoes(fd))
    return 0


sys.exit(main())
