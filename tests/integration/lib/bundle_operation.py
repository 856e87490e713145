#!/usr/bin/env python3
"""bundle_operation.py -- put an operator's request (AppOperationRequest) into a cluster's newest
bundle and store it, signed with the hub's key, as a new generation: the agent side of
`gitfleet sync APP` / `gitfleet rollback` exercised without the hub's API for them.

usage: bundle_operation.py HUB_DB HUB_KEY CLUSTER GENERATION OPERATION_JSON [ROLLBACK_FROM_GEN]
OPERATION_JSON: {"id", "app", "kind", "prune", "dryRun", "force", "expiresMs",
                 "resources": [{"group", "version", "kind", "namespace", "name"}]}
With ROLLBACK_FROM_GEN, the app's entry is replaced by the same app of that stored generation
and marked auto_sync_suspended with rollback_generation, as the hub's pin would publish it.
Only the protobuf wire format is used: the field numbers of proto/gitfleet.proto.
"""
import json, os, sqlite3, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cryptography.hazmat.primitives.serialization import load_pem_private_key


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def fields(buf):
    out, i = [], 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            v, i = bytes(buf[i:i + n]), i + n
        elif wt == 1:
            v, i = bytes(buf[i:i + 8]), i + 8
        elif wt == 5:
            v, i = bytes(buf[i:i + 4]), i + 4
        else:
            raise SystemExit(f"wire type {wt} not handled")
        out.append((num, wt, v))
    return out


def encode(fs):
    out = bytearray()
    for num, wt, v in fs:
        out += varint(num << 3 | wt)
        out += varint(v) if wt == 0 else (varint(len(v)) + v if wt == 2 else v)
    return bytes(out)


def s(num, text):
    return (num, 2, text.encode())


def app_name(app_bytes):
    return next(v.decode() for n, w, v in fields(app_bytes) if n == 1)


db, keyfile, cluster, gen, op = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
rollback_from = int(sys.argv[6]) if len(sys.argv) > 6 else None
con = sqlite3.connect(db)


def stored(generation=None):
    q = "SELECT signed FROM bundles WHERE cluster = ? " + \
        ("AND generation = ?" if generation else "ORDER BY generation DESC LIMIT 1")
    row = con.execute(q, (cluster, generation) if generation else (cluster,)).fetchone()
    if row is None:
        raise SystemExit(f"no stored bundle for {cluster} {generation or ''}")
    signed = fields(row[0])
    return fields(next(v for n, w, v in signed if n == 1)), next(v for n, w, v in signed if n == 3)


bundle, key_id = stored()
bundle = [(2, 0, gen) if n == 2 else (n, w, v) for n, w, v in bundle]
if rollback_from is not None:
    old, _ = stored(rollback_from)
    old_app = next(v for n, w, v in old if n == 5 and app_name(v) == op["app"])
    pinned = [f for f in fields(old_app) if f[0] not in (100, 101, 102, 103)]
    pinned += [(101, 0, 1), (102, 0, rollback_from)]
    bundle = [(5, 2, encode(pinned)) if n == 5 and app_name(v) == op["app"] else (n, w, v)
              for n, w, v in bundle]
req = [s(1, op["id"]), s(2, op["app"]), s(3, op.get("kind", "sync")),
       (4, 0, int(op.get("prune", False))), (5, 0, int(op.get("dryRun", False))),
       (6, 0, int(op.get("force", False))), s(9, "test")]
for r in op.get("resources", []):
    req.append((7, 2, encode([s(1, r.get("group", "")), s(2, r.get("version", "")),
                              s(3, r["kind"]), s(4, r.get("namespace", "")), s(5, r["name"])])))
if "expiresMs" in op:
    req.append((10, 0, op["expiresMs"]))
bundle.append((100, 2, encode(req)))
body = encode(bundle)
key = load_pem_private_key(open(keyfile, "rb").read(), None)
new = encode([(1, 2, body), (2, 2, key.sign(body)), (3, 2, key_id)])
con.execute("INSERT INTO bundles (cluster, generation, content_hash, revision, created_ms, signed) "
            "VALUES (?, ?, ?, 'x', 0, ?)", (cluster, gen, "op-" + op["id"], new))
con.commit()
