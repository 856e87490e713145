#!/usr/bin/env python3
"""http_raw.py -- raw-socket HTTP probes of the hub's API for http_hostile_test.sh.

Each subcommand prints what it saw and exits 1 (with the reason) when the
server did not behave: request smuggling, long URLs, idle connections that
announce big bodies, idle timeouts, framing errors.
"""
import json
import socket
import sys
import time

HOST = "127.0.0.1"


def connect(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_all(s, settle=1.5):
    """Everything the server sends until it closes or is quiet for `settle` s."""
    s.settimeout(settle)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return data


def responses(data):
    """The status codes of every response in `data`, and the last body."""
    codes, bodies = [], []
    rest = data
    while rest.startswith(b"HTTP/1."):
        head, _, rest = rest.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        codes.append(int(lines[0].split()[1]))
        headers = {l.split(b":", 1)[0].strip().lower(): l.split(b":", 1)[1].strip() for l in lines[1:] if b":" in l}
        if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = b""
            while True:
                size_line, _, rest = rest.partition(b"\r\n")
                size = int(size_line.split(b";")[0] or b"0", 16)
                if size == 0:
                    rest = rest.partition(b"\r\n")[2]
                    break
                body += rest[:size]
                rest = rest[size + 2:]
        else:
            n = int(headers.get(b"content-length", b"0"))
            body, rest = rest[:n], rest[n:]
        bodies.append(body)
    return codes, bodies


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def expect_json_error(code, body, status):
    try:
        doc = json.loads(body)
    except ValueError:
        fail("status %d: body is not JSON: %r" % (status, body[:200]))
    if set(doc) != {"error", "code"} or not doc["error"]:
        fail("status %d: not the API's error shape: %r" % (status, doc))
    if code is not None and doc["code"] != code:
        fail("status %d: code %s, want %s" % (status, doc["code"], code))


def smuggle(port):
    # A chunked body that holds a whole request: one response, not two.
    inner = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    s = connect(port)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    codes, bodies = responses(read_all(s))
    if len(codes) != 1:
        fail("a chunked body that holds a request got %d responses %s" % (len(codes), codes))
    print("chunked body holding a request: one response", codes)
    # The chunked body was read as the body: it reached the handler (not JSON: 400).
    if codes[0] != 400:
        fail("chunked webhook body 'GET /healthz...': %d, want 400 (not JSON)" % codes[0])
    expect_json_error("EINVAL", bodies[0], codes[0])

    # Both framings at once: refused, and nothing after it is read as a request.
    s = connect(port)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + inner)
    codes, bodies = responses(read_all(s))
    if codes != [400]:
        fail("Content-Length with Transfer-Encoding: %s, want [400]" % codes)
    expect_json_error("EINVAL", bodies[0], 400)
    print("Content-Length with Transfer-Encoding: 400, nothing smuggled")

    # Two Content-Length headers.
    s = connect(port)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
              b"Content-Length: 40\r\n\r\n{}" + inner)
    codes, bodies = responses(read_all(s))
    if codes != [400]:
        fail("two Content-Length headers: %s, want [400]" % codes)
    print("two Content-Length headers: 400")

    # Another transfer coding.
    s = connect(port)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
              b"0\r\n\r\n" + inner)
    codes, bodies = responses(read_all(s))
    if len(codes) != 1 or codes[0] not in (400, 501):
        fail("Transfer-Encoding gzip, chunked: %s, want one 400/501" % codes)
    print("Transfer-Encoding gzip, chunked:", codes)

    # Malformed chunk sizes are refused (400) and end the connection.
    s = connect(port)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"zz\r\n" + inner)
    codes, _ = responses(read_all(s))
    if codes != [400]:
        fail("malformed chunk size: %s, want [400]" % codes)
    print("malformed chunk size: 400")

    # A pipelined keep-alive pair is still two requests.
    s = connect(port)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    codes, bodies = responses(read_all(s))
    if codes != [200, 404]:
        fail("two pipelined requests: %s, want [200, 404]" % codes)
    expect_json_error("ENOTFOUND", bodies[1], 404)
    print("pipelined requests: 200 then 404 (JSON)")


def big_bodies(port):
    # A chunked body over the 1 MiB limit: 413 in the API's shape.
    s = connect(port, timeout=10)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    piece = b"x" * 65536
    for _ in range(17):
        s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
    s.sendall(b"0\r\n\r\n")
    codes, bodies = responses(read_all(s, 3))
    if codes != [413]:
        fail("chunked body of 1.06 MiB: %s, want [413]" % codes)
    expect_json_error("ETOOBIG", bodies[0], 413)
    print("chunked body over 1 MiB: 413 JSON")
    # An announced body over the limit is refused before it is sent.
    s = connect(port)
    s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
    codes, bodies = responses(read_all(s))
    if codes != [413]:
        fail("Content-Length 100 MB: %s, want [413]" % codes)
    expect_json_error("ETOOBIG", bodies[0], 413)
    print("Content-Length of 100 MB: 413 JSON before the body")


def long_urls(port):
    s = connect(port)
    s.sendall(b"GET /api/v1/status?x=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    codes, bodies = responses(read_all(s))
    if codes != [414]:
        fail("9 KB URL: %s, want [414]" % codes)
    expect_json_error("ETOOBIG", bodies[0], 414)
    print("9 KB URL: 414 JSON")
    s = connect(port)
    try:
        s.sendall(b"GET /api/v1/status?x=" + b"a" * 300000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    codes, _ = responses(read_all(s))
    if codes not in ([414], [431], []):
        fail("300 KB URL: %s, want 414 or a closed connection" % codes)
    print("300 KB URL:", codes or "closed")


def errors(port, token):
    auth = b"Authorization: Bearer " + token.encode() + b"\r\n"
    for req, status, code in [
        (b"GET /api/v1/nothing HTTP/1.1\r\nHost: x\r\n\r\n", 404, "ENOTFOUND"),
        (b"PUT /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", 401, "EPERM"),
        (b"PUT /api/v1/status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n" + auth + b"\r\n", 405,
         "EUNSUPPORTED"),
        (b"GET /api/v1/sync HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", 405, "EUNSUPPORTED"),
        (b"DELETE /healthz HTTP/1.1\r\nHost: x\r\n" + auth + b"\r\n", 405, "EUNSUPPORTED"),
        (b"GET /api/v1/history?limit=-1 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "EINVAL"),
        (b"GET /api/v1/history?limit=5000 HTTP/1.1\r\nHost: x\r\n\r\n", 400, "EINVAL"),
        (b"GET /api/v1/history?limit=x HTTP/1.1\r\nHost: x\r\n\r\n", 400, "EINVAL"),
        (b"POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n" + auth + b"\r\n{x}", 400,
         "EINVAL"),
    ]:
        s = connect(port)
        s.sendall(req)
        data = read_all(s, 1)
        codes, bodies = responses(data)
        if codes[:1] != [status]:
            fail("%r: %s, want %d" % (req.split(b"\r\n")[0], codes, status))
        expect_json_error(code, bodies[0], status)
        if status == 405 and b"\r\nAllow: " not in data:
            fail("405 without an Allow header")
        print(req.split(b"\r\n")[0].decode(), "->", status, code)


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def idle_bodies(port, pid, n):
    # n connections each announce a body just under the 1 MiB limit, send a
    # quarter of it, then go quiet: bodies held at once are bounded by the
    # server's budget, not by n x 1 MiB.
    before = rss_kb(pid)
    socks = []
    part = b"{" + b" " * (256 * 1024)
    for i in range(n):
        s = connect(port)
        s.sendall(b"POST /api/v1/webhook/git HTTP/1.1\r\nHost: x\r\nContent-Length: 1048000\r\n\r\n" + part)
        socks.append(s)
    time.sleep(2)
    held = rss_kb(pid)
    # The API still answers while they are held.
    s = connect(port)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    codes, _ = responses(read_all(s))
    if codes != [200]:
        fail("/healthz with %d idle connections held: %s" % (n, codes))
    for s in socks:
        s.close()
    time.sleep(7)
    after = rss_kb(pid)
    grew = (held - before) / 1024.0
    print("RSS with %d idle connections that announced 1 MB bodies and sent 256 KiB: %.1f -> %.1f MiB "
          "(+%.1f MiB, %.1f KiB each); 7 s after they closed: %.1f MiB" % (
              n, before / 1024.0, held / 1024.0, grew, (held - before) / float(n), after / 1024.0))
    if grew > 160:
        fail("%d idle connections cost %.0f MiB (limit 160; unbounded it is n x 256 KiB)" % (n, grew))
    if (after - before) / 1024.0 > 64:
        fail("%.0f MiB still held after the connections closed" % ((after - before) / 1024.0))


def idle_timeout(port, seconds):
    s = connect(port, timeout=seconds + 10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
    t0 = time.time()
    s.settimeout(seconds + 10)
    try:
        data = s.recv(1024)
    except ConnectionResetError:
        data = b""
    took = time.time() - t0
    if took > seconds + 5:
        fail("an idle connection was still open after %.1f s" % took)
    print("idle connection closed after %.1f s (timeout %d s), sent %r" % (took, seconds, data[:40]))
    # A keep-alive connection that went quiet after a request is closed too.
    s = connect(port, timeout=seconds + 10)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    first = s.recv(4096)
    t0 = time.time()
    rest = s.recv(4096)
    took = time.time() - t0
    if rest != b"" or took > seconds + 5:
        fail("a quiet keep-alive connection: %r after %.1f s" % (rest[:40], took))
    print("quiet keep-alive connection closed after %.1f s" % took)


if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "smuggle":
        smuggle(port)
    elif cmd == "big-bodies":
        big_bodies(port)
    elif cmd == "long-urls":
        long_urls(port)
    elif cmd == "errors":
        errors(port, open(sys.argv[3]).read().strip())
    elif cmd == "idle-bodies":
        idle_bodies(port, int(sys.argv[3]), int(sys.argv[4]))
    elif cmd == "idle-timeout":
        idle_timeout(port, int(sys.argv[3]))
    else:
        fail("unknown command " + cmd)
