"""Tiny stdlib client of the measured HTTP API for the example scripts.

MEASURED_URL (default http://127.0.0.1:8080) and MEASURED_TOKEN (optional)
select the daemon. run(kind, params) submits a job, waits for it with
?wait= long polls and returns the result object (raises on failure).
"""
import json
import os
import urllib.error
import urllib.request

URL = os.environ.get("MEASURED_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("MEASURED_TOKEN")


def _req(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read().decode())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.code} {e.read().decode()}") from None


def submit(kind, params, label=None):
    body = {"kind": kind, "params": params}
    if label:
        body["label"] = label
    return _req("POST", "/v1/jobs", body)["id"]


def wait(job_id):
    while True:
        job = _req("GET", f"/v1/jobs/{job_id}?wait=60")
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} {job['status']}: {job.get('error')}")
    return _req("GET", f"/v1/jobs/{job_id}/result")["result"]


def run(kind, params, label=None):
    return wait(submit(kind, params, label))


def run_all(jobs):
    """Submit every (kind, params) first, so the daemon's workers run them in
    parallel, then collect the results in order."""
    ids = [submit(k, p) for k, p in jobs]
    return [wait(i) for i in ids]


def out_path(name):
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)
