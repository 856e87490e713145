#!/usr/bin/env python3
"""resign_bundle.py -- re-sign a stored bundle with a change, as a hub bug or a holder of the
hub's key could: the test's stand-in for a tampered render that keeps a valid signature.

usage: resign_bundle.py HUB_DB HUB_KEY CLUSTER APP GENERATION RESOURCE_JSON
Takes CLUSTER's newest bundle from the hub's SQLite store, adds RESOURCE_JSON (a manifest) to
APP's resources, sets the generation, signs it with HUB_KEY (Ed25519, PEM) and stores it as a
new row. Only the protobuf wire format is used (no generated code, bundle_wire.py): varints and
length-delimited fields, the field numbers of proto/gitfleet.proto.
"""
import json, os, sqlite3, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bundle_wire import encode, fields, load_bundle, s, store_signed

db, keyfile, cluster, app_name, gen, manifest = sys.argv[1:7]
gen = int(gen)
manifest = json.loads(manifest)
con = sqlite3.connect(db)
bundle, key_id = load_bundle(con, cluster)
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
store_signed(con, keyfile, cluster, gen, "widened", bundle, key_id)
