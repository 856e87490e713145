"""benchlib.py -- what the benches' Python sides share (rollout_bench.sh, gitops_latency.sh; they
run python3 with bench/ on PYTHONPATH): a connection to a kubesim from its kubeconfig, and the
signed GitHub-style push webhook that tells the hub (--webhook-secret bench-secret) of a commit.
"""
import hashlib, hmac, http.client, json, yaml


def kube_connection(kubeconfig):
    """(an HTTP connection to the kubesim of KUBECONFIG, the headers that authorize a call)."""
    kc = yaml.safe_load(open(kubeconfig))
    host, port = kc["clusters"][0]["cluster"]["server"].split("//")[1].split(":")
    return (http.client.HTTPConnection(host, int(port), timeout=10),
            {"Authorization": "Bearer " + kc["users"][0]["user"]["token"]})


def webhook(hub, rev, secret=b"bench-secret"):
    """POST a push of REV on main to the hub (an HTTPConnection to its API); it must answer 202."""
    body = json.dumps({"ref": "refs/heads/main", "after": rev}).encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    hub.request("POST", "/api/v1/webhook/git", body=body, headers={
        "Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": sig})
    resp = hub.getresponse(); resp.read()
    if resp.status != 202:
        raise SystemExit(f"webhook answered {resp.status}")
