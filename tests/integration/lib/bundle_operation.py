#!/usr/bin/env python3
"""bundle_operation.py -- put an operator's request (AppOperationRequest) into a cluster's newest
bundle and store it, signed with the hub's key, as a new generation: the agent side of
`gitfleet sync APP` / `gitfleet rollback` exercised without the hub's API for them.

usage: bundle_operation.py HUB_DB HUB_KEY CLUSTER GENERATION OPERATION_JSON [ROLLBACK_FROM_GEN]
OPERATION_JSON: {"id", "app", "kind", "prune", "dryRun", "force", "expiresMs",
                 "resources": [{"group", "version", "kind", "namespace", "name"}]}
With ROLLBACK_FROM_GEN, the app's entry is replaced by the same app of that stored generation
and marked auto_sync_suspended with rollback_generation, as the hub's pin would publish it.
Only the protobuf wire format is used (bundle_wire.py): the field numbers of proto/gitfleet.proto.
"""
import json, os, sqlite3, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bundle_wire import encode, fields, first, load_bundle, s, store_signed


def app_name(app_bytes):
    return first(fields(app_bytes), 1).decode()


db, keyfile, cluster, gen, op = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), json.loads(sys.argv[5])
rollback_from = int(sys.argv[6]) if len(sys.argv) > 6 else None
con = sqlite3.connect(db)
bundle, key_id = load_bundle(con, cluster)
bundle = [(2, 0, gen) if n == 2 else (n, w, v) for n, w, v in bundle]
if rollback_from is not None:
    old, _ = load_bundle(con, cluster, rollback_from)
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
store_signed(con, keyfile, cluster, gen, "op-" + op["id"], bundle, key_id)
