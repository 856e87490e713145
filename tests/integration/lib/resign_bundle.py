#!/usr/bin/env python3
"""resign_bundle.py -- re-sign a stored bundle with a change, as a hub bug or a holder of the
hub's key could: the test's stand-in for a tampered render that keeps a valid signature.

usage: resign_bundle.py HUB_DB HUB_KEY CLUSTER APP GENERATION RESOURCE_JSON
Takes CLUSTER's newest bundle from the hub's SQLite store, adds RESOURCE_JSON (a manifest) to
APP's resources, sets the generation, signs it with HUB_KEY (Ed25519, PEM) and stores it as a
new row. Only the protobuf wire format is used (no generated code): varints and
length-delimited fields, the field numbers of proto/gitfleet.proto.
"""
import json, sqlite3, sys
from cryptography.hazmat.primitives.serialization import load_pem_private_key

db, keyfile, cluster, app_name, gen, manifest = sys.argv[1:7]
gen = int(gen)
manifest = json.loads(manifest)


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
    """[(number, wiretype, value)], value an int (varint) or bytes."""
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
        if wt == 0:
            out += varint(v)
        elif wt == 2:
            out += varint(len(v)) + v
        else:
            out += v
    return bytes(out)


def s(num, text):
    return (num, 2, text.encode())


con = sqlite3.connect(db)
row = con.execute("SELECT signed FROM bundles WHERE cluster = ? ORDER BY generation DESC LIMIT 1",
                  (cluster,)).fetchone()
signed = fields(row[0])
bundle = fields(next(v for n, w, v in signed if n == 1))
key_id = next(v for n, w, v in signed if n == 3)
meta = manifest["metadata"]
group, _, version = manifest["apiVersion"].rpartition("/")
rid = encode([s(1, group), s(2, version), s(3, manifest["kind"]), s(4, meta.get("namespace", "")),
              s(5, meta["name"])])
resource = encode([(1, 2, rid), (2, 0, 0),
                   (3, 2, json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode())])
found = False
for k, (num, wt, v) in enumerate(bundle):
    if num == 2:
        bundle[k] = (2, 0, gen)
    if num == 5:
        app = fields(v)
        if any(n == 1 and val.decode() == app_name for n, w, val in app):
            # a new resource, and a new content hash so the agent sees a change
            app = [f for f in app if f[0] != 100] + [(5, 2, resource), s(100, "widened")]
            bundle[k] = (5, 2, encode(app))
            found = True
if not found:
    raise SystemExit(f"no app {app_name} in {cluster}'s bundle")
body = encode(bundle)
key = load_pem_private_key(open(keyfile, "rb").read(), None)
new = encode([(1, 2, body), (2, 2, key.sign(body)), (3, 2, key_id)])
con.execute("INSERT INTO bundles (cluster, generation, content_hash, revision, created_ms, signed) "
            "VALUES (?, ?, 'widened', 'x', 0, ?)", (cluster, gen, new))
con.commit()
