#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Helpers for tests/bench/run.sh: statistics, a barrier launcher, and parsers for the
outputs of hyperfine, strace, dbus-monitor, LD_DEBUG=statistics and ltrace.

  benchlib.py hyperfine JSON                 name<TAB>median_ms<TAB>mean_ms<TAB>stddev_ms<TAB>min_ms<TAB>max_ms<TAB>runs
  benchlib.py median FILE                    median of the numbers in FILE (one a line)
  benchlib.py stats FILE                     median<TAB>min<TAB>max<TAB>count
  benchlib.py launch --n N --outdir D [--timeout S] -- CMD...
                                             N processes of CMD released at once; prints
                                             wall_ms<TAB>ok<TAB>same<TAB>distinct
  benchlib.py interleave N CMD_A CMD_B         A and B alternately N times each; prints
                                             median_a<TAB>median_b<TAB>median pairwise a/b
  benchlib.py strace-c FILE                  syscall<TAB>calls<TAB>errors, "total" last
  benchlib.py strace-trace FILE              key<TAB>value summary of an -e trace= log
  benchlib.py strace-timeline FILE           phases (ms) of a -ttt log
  benchlib.py strace-refresh FILE            phases (ms) of a -ttt log of one refresh
  benchlib.py dbus FILE EXCLUDE...           method calls in a dbus-monitor --profile log,
                                             from senders not in EXCLUDE
  benchlib.py ld-stats FILE                  key<TAB>value of LD_DEBUG=statistics
  benchlib.py ltrace-c FILE                  calls<TAB>function of ltrace -c, "total" last
  benchlib.py rss FILE                       after<TAB>VmRSS<TAB>VmHWM from mo-sasl-probe --rss

Nothing here prints a token: the launcher compares outputs without showing them.
"""

import json
import os
import re
import signal
import statistics
import sys
import time


def numbers(path):
    with open(path, encoding="utf-8") as f:
        return [float(line) for line in f if line.strip()]


def fmt(x):
    return "%.6g" % x


def cmd_hyperfine(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for r in data["results"]:
        times = r["times"]
        print("\t".join([
            r["command"],
            "%.3f" % (statistics.median(times) * 1000),
            "%.3f" % (r["mean"] * 1000),
            "%.3f" % ((r["stddev"] or 0) * 1000),
            "%.3f" % (min(times) * 1000),
            "%.3f" % (max(times) * 1000),
            str(len(times)),
        ]))


def cmd_median(path):
    print(fmt(statistics.median(numbers(path))))


def cmd_stats(path):
    v = numbers(path)
    print("\t".join([fmt(statistics.median(v)), fmt(min(v)), fmt(max(v)), str(len(v))]))


def cmd_launch(argv):
    """Forks N children that each wait on one pipe, then closes it: all are released at the
    same instant and exec CMD with stdout/stderr in OUTDIR/I.out and I.err. The wall time runs
    from the release to the exit of the last one."""
    n, outdir, timeout = None, None, 60.0
    while argv and argv[0] != "--":
        opt = argv.pop(0)
        if opt == "--n":
            n = int(argv.pop(0))
        elif opt == "--outdir":
            outdir = argv.pop(0)
        elif opt == "--timeout":
            timeout = float(argv.pop(0))
        else:
            sys.exit("launch: unknown option " + opt)
    if not argv or n is None or outdir is None:
        sys.exit("launch: usage: --n N --outdir D -- CMD...")
    cmd = argv[1:]
    os.makedirs(outdir, mode=0o700, exist_ok=True)
    r, w = os.pipe()
    pids = []
    for i in range(n):
        pid = os.fork()
        if pid == 0:
            try:
                os.close(w)
                out = os.open(os.path.join(outdir, "%d.out" % i),
                              os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                err = os.open(os.path.join(outdir, "%d.err" % i),
                              os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(out, 1)
                os.dup2(err, 2)
                os.read(r, 1)  # blocks until the parent closes the write end
                os.close(r)
                os.execvp(cmd[0], cmd)
            finally:
                os._exit(127)
        pids.append(pid)
    os.close(r)
    time.sleep(0.2)  # let every child reach its read()
    start = time.monotonic()
    os.close(w)
    rcs = {}
    deadline = start + timeout
    while len(rcs) < n:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if time.monotonic() > deadline:
                for p in pids:
                    if p not in rcs:
                        try:
                            os.kill(p, signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                deadline = float("inf")
            time.sleep(0.0005)
            continue
        rcs[pid] = os.waitstatus_to_exitcode(status)
    wall_ms = (time.monotonic() - start) * 1000
    outputs = []
    for i in range(n):
        with open(os.path.join(outdir, "%d.out" % i), "rb") as f:
            outputs.append(f.read())
    ok = sum(1 for rc in rcs.values() if rc == 0)
    first = outputs[0]
    same = sum(1 for o in outputs if o == first and o.strip())
    print("%.1f\t%d\t%d\t%d" % (wall_ms, ok, same, len(set(outputs))))


def cmd_interleave(argv):
    """Runs two commands alternately (A B A B ..., starting with A and B in turn), timing each
    from spawn to exit; prints median_a<TAB>median_b<TAB>median of the pairwise ratios a/b.
    Drift and bursts of outside load then hit both alike."""
    import shlex
    import subprocess
    runs, a, b = int(argv[0]), shlex.split(argv[1]), shlex.split(argv[2])
    ta, tb, ratios = [], [], []

    def once(cmd):
        t0 = time.perf_counter()
        rc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
        if rc != 0:
            sys.exit("interleave: %s exited %d" % (cmd[0], rc))
        return (time.perf_counter() - t0) * 1000

    for i in range(runs):
        if i % 2 == 0:
            x = once(a)
            y = once(b)
        else:
            y = once(b)
            x = once(a)
        ta.append(x)
        tb.append(y)
        ratios.append(x / y)
    print("%.3f\t%.3f\t%.3f" % (statistics.median(ta), statistics.median(tb),
                                 statistics.median(ratios)))


def cmd_strace_c(path):
    rows = []
    total = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0].startswith(("%", "-")):
                continue
            # % seconds usecs/call calls [errors] syscall
            name = parts[-1]
            nums = parts[:-1]
            if len(nums) < 4:
                continue
            calls = int(nums[3])
            errors = int(nums[4]) if len(nums) >= 5 else 0
            if name == "total":
                total = (calls, errors)
            else:
                rows.append((name, calls, errors))
    for name, calls, errors in rows:
        print("%s\t%d\t%d" % (name, calls, errors))
    if total is None:
        total = (sum(r[1] for r in rows), sum(r[2] for r in rows))
    print("total\t%d\t%d" % total)


TRACE_RE = re.compile(r"^(\d+)\s+(?:[\d.]+\s+)?(\w+)\((.*)\)\s+=\s+(-?\w+)(.*)$")


def cmd_strace_trace(path):
    opened, failed, sos, conf, ssl, connects = [], [], [], [], [], []
    counts = {}
    pids = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = TRACE_RE.match(line.strip())
            if not m:
                continue
            pid, name, args, ret, rest = m.groups()
            pids.add(pid)
            counts[name] = counts.get(name, 0) + 1
            if name == "recvmsg" and ret == "-1":
                counts["recvmsg-EAGAIN"] = counts.get("recvmsg-EAGAIN", 0) + 1
            if name == "openat":
                pm = re.search(r'"([^"]*)"', args)
                p = pm.group(1) if pm else "?"
                (opened if ret != "-1" else failed).append(p)
                if ret != "-1" and re.search(r"\.so(\.|$)", p):
                    sos.append(p)
                if "mailoauth.conf" in p or "/mailoauth/" in p:
                    conf.append("%s (%s)" % (p, "ok" if ret != "-1" else rest.split()[0]))
                if "openssl.cnf" in p or "/ssl/" in p:
                    ssl.append(p)
            if name == "connect":
                pm = re.search(r'sun_path="([^"]*)"|sin_port=htons\((\d+)\)', args)
                connects.append(pm.group(1) or ("inet:" + pm.group(2)) if pm else args[:40])
    print("processes+threads\t%d" % len(pids))
    for k in ("openat", "connect", "sendmsg", "recvmsg", "recvmsg-EAGAIN"):
        print("%s\t%d" % (k, counts.get(k, 0)))
    print("openat-ok\t%d" % len(opened))
    print("openat-failed\t%d" % len(failed))
    print("shared-objects-opened\t%d" % len(sos))
    print("libcurl-loaded\t%s" % ("yes" if any("libcurl" in s for s in sos) else "no"))
    print("openssl-config-read\t%s" % ("yes" if ssl else "no"))
    print("config-file\t%s" % ("; ".join(conf) if conf else "not opened"))
    print("connects\t%s" % ("; ".join(connects) if connects else "none"))
    print("so-list\t%s" % " ".join(os.path.basename(s) for s in sos))
    print("other-files\t%s" % " ".join(p for p in opened if p not in sos))


def cmd_strace_timeline(path):
    """From `strace -f -ttt -e trace=execve,openat,connect,sendmsg,recvmsg,exit_group`:
    the first execve, main() (its setlocale() opening the first locale file), the connect to the bus, the last D-Bus message that moved bytes (by
    its completion time, following "<unfinished ...>" to "resumed"), and exit_group."""
    t_exec = t_main = t_connect = t_last_msg = t_exit = None
    bus_fd = None
    pending = {}  # pid -> (syscall, fd) of an unfinished call
    line_re = re.compile(r"^(\d+)\s+([\d.]+)\s+(.*)$")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = line_re.match(line.strip())
            if not m:
                continue
            pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
            if rest.startswith("<..."):
                r = re.match(r"<\.\.\. (\w+) resumed>.*\)\s+=\s+(-?\d+)", rest)
                if not r or pid not in pending:
                    continue
                name, fd = pending.pop(pid)
                ret = int(r.group(2))
            else:
                c = re.match(r"(\w+)\(([^,)]*)", rest)
                if not c:
                    continue
                name, fd = c.group(1), c.group(2)
                if rest.endswith("<unfinished ...>"):
                    pending[pid] = (name, fd)
                    if name == "exit_group" and t_exit is None:
                        t_exit = ts
                    continue
                r = re.search(r"\)\s+=\s+(-?\d+)", rest)
                ret = int(r.group(1)) if r else 0
            if name == "execve" and t_exec is None:
                t_exec = ts
            elif name == "openat" and t_main is None and "/locale" in rest:
                t_main = ts  # setlocale(), the first thing main() does in both programs
            elif name == "connect" and t_connect is None and "AF_UNIX" in rest:
                t_connect = ts
                bus_fd = fd
            elif name in ("sendmsg", "recvmsg") and fd == bus_fd and ret > 0:
                t_last_msg = ts
            elif name == "exit_group" and t_exit is None:
                t_exit = ts

    def ms(a, b):
        return "%.2f" % ((b - a) * 1000) if a is not None and b is not None else "?"

    print("exec-to-main\t%s" % ms(t_exec, t_main))
    print("main-to-bus-connect\t%s" % ms(t_main, t_connect))
    print("exec-to-bus-connect\t%s" % ms(t_exec, t_connect))
    print("bus-connect-to-last-message\t%s" % ms(t_connect, t_last_msg))
    print("last-message-to-exit\t%s" % ms(t_last_msg, t_exit))
    print("exec-to-exit\t%s" % ms(t_exec, t_exit))


def cmd_strace_refresh(path):
    """Phases of one refresh from `strace -f -ttt -e trace=execve,openat,connect,flock,sendmsg,
    recvmsg,sendto,recvfrom,exit_group`: exec, connect to the bus, the lock (flock), libcurl's
    dlopen (the first openat of libcurl), the TCP connect to the token endpoint, the last
    bytes received from it, the last D-Bus message (the store), exit."""
    t = {}
    bus_fd = tcp_fd = None
    pending = {}
    line_re = re.compile(r"^(\d+)\s+([\d.]+)\s+(.*)$")
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = line_re.match(line.strip())
            if not m:
                continue
            pid, ts, rest = m.group(1), float(m.group(2)), m.group(3)
            if rest.startswith("<..."):
                r = re.match(r"<\.\.\. (\w+) resumed>.*\)\s+=\s+(-?\d+)", rest)
                if not r or pid not in pending:
                    continue
                name, fd, args = pending.pop(pid)
                ret = int(r.group(2))
            else:
                c = re.match(r"(\w+)\(([^,)]*)", rest)
                if not c:
                    continue
                name, fd, args = c.group(1), c.group(2), rest
                if rest.endswith("<unfinished ...>"):
                    pending[pid] = (name, fd, args)
                    if name == "exit_group":
                        t.setdefault("exit", ts)
                    continue
                r = re.search(r"\)\s+=\s+(-?\d+)", rest)
                ret = int(r.group(1)) if r else 0
            if name == "execve":
                t.setdefault("exec", ts)
            elif name == "connect" and "AF_UNIX" in args and bus_fd is None:
                bus_fd = fd
                t["bus"] = ts
            elif name == "connect" and "AF_INET" in args and tcp_fd is None:
                tcp_fd = fd
                t["tcp"] = ts
            elif name == "flock" and "LOCK_EX" in args:
                t.setdefault("lock", ts)
            elif name == "openat" and "libcurl" in args:
                t.setdefault("curl", ts)
            elif name in ("recvfrom", "read") and fd == tcp_fd and ret > 0:
                t["http"] = ts
            elif name in ("sendmsg", "recvmsg") and fd == bus_fd and ret > 0:
                t["dbus"] = ts
            elif name == "exit_group":
                t.setdefault("exit", ts)

    def ms(a, b):
        return "%.2f" % ((t[b] - t[a]) * 1000) if a in t and b in t else "?"

    print("exec-to-bus-connect\t%s" % ms("exec", "bus"))
    print("bus-connect-to-lock\t%s" % ms("bus", "lock"))
    print("lock-to-libcurl-open\t%s" % ms("lock", "curl"))
    print("libcurl-open-to-tcp-connect\t%s" % ms("curl", "tcp"))
    print("tcp-connect-to-answer\t%s" % ms("tcp", "http"))
    print("answer-to-last-dbus-message\t%s" % ms("http", "dbus"))
    print("last-dbus-message-to-exit\t%s" % ms("dbus", "exit"))
    print("exec-to-exit\t%s" % ms("exec", "exit"))


def cmd_dbus(path, exclude):
    calls = []
    sent = {}     # (sender, serial) -> (timestamp, label)
    rtts = []     # (ms, label)
    first = last = None
    events = []   # (timestamp, "call" or "reply", label) of the measured clients
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 8 and parts[0] == "mc":
                ts, serial, sender, dest, iface, member = (float(parts[1]), parts[2], parts[3],
                                                           parts[4], parts[6], parts[7])
                if sender in exclude:
                    continue
                calls.append((sender, dest, iface, member))
                sent[(sender, serial)] = (ts, "%s.%s" % (iface.rsplit(".", 1)[-1], member))
                events.append((ts, "call", sent[(sender, serial)][1]))
                first = ts if first is None else first
            elif len(parts) >= 6 and parts[0] in ("mr", "err"):
                ts, dest, reply_to = float(parts[1]), parts[4], parts[5]
                if (dest, reply_to) in sent:
                    t0, label = sent.pop((dest, reply_to))
                    rtts.append(((ts - t0) * 1000, label))
                    events.append((ts, "reply", label))
                    last = ts
    senders = sorted(set(c[0] for c in calls))
    bus = [c for c in calls if c[1] == "org.freedesktop.DBus"]
    svc = [c for c in calls if c[1] != "org.freedesktop.DBus"]
    print("senders\t%s" % " ".join(senders))
    print("method-calls\t%d" % len(calls))
    print("to-bus\t%d" % len(bus))
    print("to-secret-service\t%d" % len(svc))
    print("bus-calls\t%s" % " ".join(c[3] for c in bus))
    print("secret-service-calls\t%s" % " ".join(
        "%s.%s" % (c[2].rsplit(".", 1)[-1], c[3]) for c in svc))
    print("span-ms\t%s" % ("%.2f" % ((last - first) * 1000) if first and last else "?"))
    print("sum-rtt-ms\t%.2f" % sum(r[0] for r in rtts))
    # The encrypted session: from the reply before OpenSession (the client then makes its DH
    # key pair) to the next call after OpenSession's reply (the client derived the AES key).
    session = "?"
    for i, (ts, kind, label) in enumerate(events):
        if kind == "call" and label == "Service.OpenSession":
            before = [e[0] for e in events[:i] if e[1] == "reply"]
            reply = next((j for j in range(i + 1, len(events))
                          if events[j][1] == "reply" and events[j][2] == label), None)
            after = next((e[0] for e in events[reply + 1:] if e[1] == "call"), None) \
                if reply is not None else None
            if before and after:
                session = "%.2f" % ((after - before[-1]) * 1000)
            break
    print("session-ms\t%s" % session)
    for ms, label in rtts:
        if label.endswith(".CreateItem"):
            print("rtt-CreateItem\t%.2f" % ms)
    rtts.sort(reverse=True)
    print("slowest\t%s" % ", ".join("%s %.2f ms" % (label, ms) for ms, label in rtts[:3]))


def cmd_ld_stats(path):
    keys = {
        "total startup time in dynamic loader": "startup-cycles",
        "time needed for relocation": "relocation-cycles",
        "number of relocations": "relocations",
        "number of relocations from cache": "relocations-from-cache",
        "number of relative relocations": "relative-relocations",
        "time needed to load objects": "load-cycles",
        "final number of relocations": "final-relocations",
        "final number of relocations from cache": "final-relocations-from-cache",
    }
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            body = line.split(":", 1)[1].strip() if ":" in line else ""
            if ":" not in body:
                continue
            k, v = body.split(":", 1)
            k = k.strip()
            if k in keys:
                v = v.strip()
                num = v.split()[0]
                pct = re.search(r"\(([\d.]+%)\)", v)
                print("%s\t%s%s" % (keys[k], num, "\t" + pct.group(1) if pct else ""))


def cmd_ltrace_c(path):
    rows = []
    total = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or parts[0].startswith(("%", "-")):
                continue
            if parts[-1] == "total":
                total = int(parts[-2])
                continue
            if len(parts) >= 5:
                rows.append((int(parts[3]), parts[4]))
    rows.sort(key=lambda r: -r[0])
    for calls, name in rows:
        print("%d\t%s" % (calls, name))
    print("%d\ttotal" % (total if total is not None else sum(r[0] for r in rows)))


def cmd_rss(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.match(r"^rss: after=(\d+) VmRSS=(\d+) VmHWM=(\d+)", line)
            if m:
                print("\t".join(m.groups()))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "hyperfine":
        cmd_hyperfine(args[0])
    elif cmd == "median":
        cmd_median(args[0])
    elif cmd == "stats":
        cmd_stats(args[0])
    elif cmd == "launch":
        cmd_launch(args)
    elif cmd == "interleave":
        cmd_interleave(args)
    elif cmd == "strace-c":
        cmd_strace_c(args[0])
    elif cmd == "strace-trace":
        cmd_strace_trace(args[0])
    elif cmd == "strace-timeline":
        cmd_strace_timeline(args[0])
    elif cmd == "strace-refresh":
        cmd_strace_refresh(args[0])
    elif cmd == "dbus":
        cmd_dbus(args[0], set(args[1:]))
    elif cmd == "ld-stats":
        cmd_ld_stats(args[0])
    elif cmd == "ltrace-c":
        cmd_ltrace_c(args[0])
    elif cmd == "rss":
        cmd_rss(args[0])
    else:
        sys.exit("unknown command: " + cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
