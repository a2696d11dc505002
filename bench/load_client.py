#!/usr/bin/python3
"""Clients for bench/load that curl and wrk cannot be: slow senders and the row soak.

  load_client.py slow URL COOKIE --sockets N --header-timeout S
      N sockets send a request's headers one byte at a time and never finish them; meanwhile
      a normal request must be answered at once, and the server must close every slow
      socket soon after its header timeout.
  load_client.py soak URL --sessions N --rows R
      N browser sessions append R rows each, all at once (a thread per session), as a
      same-origin browser posts the CSV form; afterwards every accepted row must be in its
      own session's download and in no other.

Python 3 standard library only (Debian's /usr/bin/python3). Talks to loopback only.
Prints one summary line per check and exits 1 when a check fails.
"""

import argparse
import base64
import csv
import http.client
import io
import os
import selectors
import socket
import sys
import threading
import time
import urllib.parse


def split_url(url):
    u = urllib.parse.urlsplit(url)
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit(f"load_client.py: only a loopback http:// URL, not {url!r}")
    return u.hostname, u.port or 80


def request(host, port, method, path, cookie=None, body=None, origin=None, timeout=30):
    """One request on a fresh connection; (status, headers, body bytes)."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    headers = {"Connection": "close"}
    if cookie:
        headers["Cookie"] = cookie
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        # What a browser sends with a form posted from one of our own pages.
        headers["Sec-Fetch-Site"] = "same-origin"
        headers["Origin"] = origin
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read()
    finally:
        conn.close()


def cookie_from(headers):
    for name, value in headers:
        if name.lower() == "set-cookie":
            return value.split(";", 1)[0]
    return None


def slow(args):
    host, port = split_url(args.url)
    sel = selectors.DefaultSelector()
    socks = []
    for _ in range(args.sockets):
        s = socket.create_connection((host, port), timeout=5)
        s.setblocking(False)
        s.send(f"GET / HTTP/1.1\r\nHost: {host}:{port}\r\n".encode())
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
    open_socks = set(socks)
    started = time.monotonic()
    served_in = None
    failed = []
    limit = args.header_timeout + args.margin
    ticks = 0
    while open_socks and time.monotonic() - started < limit:
        # A byte of a header line on every socket, never the blank line that ends them.
        ticks += 1
        for s in list(open_socks):
            try:
                s.send(b"\r\nX-Slow: " if ticks % 8 == 0 else b"a")
            except OSError:
                open_socks.discard(s)
        if served_in is None and time.monotonic() - started >= 1:
            t = time.monotonic()
            try:
                status, _, _ = request(host, port, "GET", "/", cookie=args.cookie, timeout=10)
            except OSError as e:
                status = f"no answer ({e})"
            served_in = time.monotonic() - t
            if status != 200:
                failed.append(f"a normal request beside the slow sockets got {status}")
        for key, _ in sel.select(timeout=0.25):
            s = key.fileobj
            try:
                if s.recv(4096) == b"":
                    open_socks.discard(s)
            except OSError:
                open_socks.discard(s)
    took = time.monotonic() - started
    for s in socks:
        s.close()
    if served_in is not None and served_in > args.served_within:
        failed.append(f"a normal request took {served_in:.2f} s beside the slow sockets")
    if open_socks:
        failed.append(f"{len(open_socks)} slow sockets still open after {limit:.0f} s")
    closed = args.sockets - len(open_socks)
    print(
        f"slow clients: {args.sockets} sockets sending headers a byte at a time; "
        f"a normal request answered in {(served_in or 0) * 1000:.0f} ms; "
        f"{closed}/{args.sockets} closed by the server within {took:.1f} s "
        f"(header timeout {args.header_timeout:.0f} s)"
        + ("" if not failed else "  FAILED: " + "; ".join(failed))
    )
    return not failed


def new_seed():
    # 160 random bits, as the seed page makes them; base32 without padding.
    return base64.b32encode(os.urandom(20)).decode().rstrip("=")


def soak(args):
    host, port = split_url(args.url)
    origin = f"http://{host}:{port}"
    n = args.sessions
    cookies = [None] * n
    sent = [dict() for _ in range(n)]  # serial -> secret, for accepted rows
    problems = []
    lock = threading.Lock()
    ready = threading.Barrier(n + 1)
    go = threading.Event()

    def problem(text):
        with lock:
            problems.append(text)

    def browser(i):
        try:
            # A new browser: its first page sets the cookie, the next one brings it back.
            status, headers, _ = request(host, port, "GET", "/csv")
            cookie = cookie_from(headers)
            if status != 200 or not cookie:
                problem(f"session {i}: first visit got {status}")
                return
            status, _, _ = request(host, port, "GET", "/csv", cookie=cookie)
            if status != 200:
                problem(f"session {i}: second visit got {status}")
                return
            cookies[i] = cookie
        finally:
            ready.wait()
        go.wait()
        for r in range(args.rows):
            serial = f"LOAD{i:04d}R{r:03d}"
            secret = new_seed()
            body = urllib.parse.urlencode(
                {
                    "upn": f"user{i}.{r}@load.example",
                    "serial": serial,
                    "secret": secret,
                    "interval": "30",
                    "manufacturer": "Token2",
                    "model": "C202",
                }
            )
            try:
                status, _, page = request(
                    host, port, "POST", "/csv/rows", cookie=cookie, body=body, origin=origin
                )
            except OSError as e:
                problem(f"session {i}: row {r}: {e}")
                continue
            if status == 303:
                sent[i][serial] = secret
            else:
                problem(f"session {i}: row {r} refused with {status}")

    threads = [threading.Thread(target=browser, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    ready.wait()
    started = time.monotonic()
    go.set()
    for t in threads:
        t.join()
    took = time.monotonic() - started

    posted = n * args.rows
    accepted = sum(len(s) for s in sent)
    lost = foreign = wrong_seed = 0
    owner = {serial: i for i, s in enumerate(sent) for serial in s}
    for i in range(n):
        if cookies[i] is None:
            continue
        status, _, body = request(host, port, "GET", "/csv/download", cookie=cookies[i])
        if status != 200:
            problem(f"session {i}: download got {status}")
            continue
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
        got = {row["serial number"]: row["secret key"] for row in rows}
        for serial, secret in got.items():
            if owner.get(serial) != i:
                foreign += 1
            elif sent[i][serial] != secret:
                wrong_seed += 1
        lost += sum(1 for serial in sent[i] if serial not in got)
    failed = problems or lost or foreign or wrong_seed or accepted != posted
    print(
        f"soak: {n} sessions appending {args.rows} rows each at once: {posted} posted, "
        f"{accepted} accepted in {took:.1f} s ({accepted / max(took, 1e-9):.0f} rows/s); "
        f"downloads: {lost} lost, {foreign} in another session's file, {wrong_seed} with "
        f"another seed" + ("  FAILED" if failed else "")
    )
    for p in problems[:10]:
        print(f"  {p}")
    if len(problems) > 10:
        print(f"  ... and {len(problems) - 10} more")
    return not failed


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("slow")
    s.add_argument("url")
    s.add_argument("cookie", help="a session cookie (name=value) for the normal request")
    s.add_argument("--sockets", type=int, default=300)
    s.add_argument("--header-timeout", type=float, required=True)
    s.add_argument("--margin", type=float, default=10, help="seconds allowed past the timeout")
    s.add_argument("--served-within", type=float, default=2)
    k = sub.add_parser("soak")
    k.add_argument("url")
    k.add_argument("--sessions", type=int, default=500)
    k.add_argument("--rows", type=int, default=20)
    args = p.parse_args()
    ok = slow(args) if args.cmd == "slow" else soak(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
