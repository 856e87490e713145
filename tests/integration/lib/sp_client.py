"""sp_client.py -- a bare SP-over-TCP REQ peer (nng's wire format), for hostile-peer tests.

SP over TCP: each side first sends 8 bytes: 0x00 'S' 'P' 0x00, the 16-bit
protocol id (REQ 0x30, REP 0x31) big-endian, and two zero bytes. Then every
message is a 64-bit big-endian length followed by that many bytes; a REQ
message starts with a 32-bit request id whose high bit is set.
"""
import socket
import struct

REQ, REP = 0x30, 0x31


def connect(host, port, rcvbuf=None, timeout=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect((host, port))
    s.sendall(b"\x00SP\x00" + struct.pack(">H", REQ) + b"\x00\x00")
    hello = recv_exact(s, 8)
    if hello[:4] != b"\x00SP\x00" or struct.unpack(">H", hello[4:6])[0] != REP:
        raise RuntimeError("not an SP REP peer: %r" % hello)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed")
        buf += chunk
    return buf


def frame(request_id, payload):
    body = struct.pack(">I", 0x80000000 | request_id) + payload
    return struct.pack(">Q", len(body)) + body


def request(s, request_id, payload):
    """Send one request and wait for its reply; the reply's payload."""
    s.sendall(frame(request_id, payload))
    while True:
        (n,) = struct.unpack(">Q", recv_exact(s, 8))
        body = recv_exact(s, n)
        (rid,) = struct.unpack(">I", body[:4])
        if rid == 0x80000000 | request_id:
            return body[4:]
