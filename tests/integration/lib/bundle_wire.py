"""bundle_wire.py -- what bundle_operation.py and resign_bundle.py share: the protobuf wire format
by hand (no generated code: varints and length-delimited fields, the field numbers of
proto/gitfleet.proto), and a cluster's signed bundles in the hub's SQLite store (reading one,
signing a changed body with the hub's Ed25519 key and storing it as a new row).

A message is a list of fields [(number, wiretype, value)], value an int (varint) or bytes.
"""
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
    """A string field."""
    return (num, 2, text.encode())


def first(fs, num):
    """The value of the first field numbered num."""
    return next(v for n, w, v in fs if n == num)


def load_bundle(con, cluster, generation=None):
    """(bundle fields, key id) of CLUSTER's stored bundle: GENERATION's, or the newest."""
    q = "SELECT signed FROM bundles WHERE cluster = ? " + \
        ("AND generation = ?" if generation else "ORDER BY generation DESC LIMIT 1")
    row = con.execute(q, (cluster, generation) if generation else (cluster,)).fetchone()
    if row is None:
        raise SystemExit(f"no stored bundle for {cluster} {generation or ''}")
    signed = fields(row[0])  # SignedBundle: 1 bundle, 2 signature, 3 key id
    return fields(first(signed, 1)), first(signed, 3)


def store_signed(con, keyfile, cluster, generation, content_hash, bundle, key_id):
    """Sign BUNDLE (fields) with the hub's key (Ed25519, PEM) and store it as a new row."""
    body = encode(bundle)
    key = load_pem_private_key(open(keyfile, "rb").read(), None)
    signed = encode([(1, 2, body), (2, 2, key.sign(body)), (3, 2, key_id)])
    con.execute("INSERT INTO bundles (cluster, generation, content_hash, revision, created_ms, signed) "
                "VALUES (?, ?, ?, 'x', 0, ?)", (cluster, generation, content_hash, signed))
    con.commit()
