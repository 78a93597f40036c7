"""deep_common.py — a small HTTP client for the measured daemon, shared by the
deep-network example scripts (standard library only: urllib, json).

The daemon is reached at MEASURED_URL (default http://127.0.0.1:8080), with
MEASURED_TOKEN as a bearer token when set. Jobs are submitted with
POST /v1/jobs and awaited with GET /v1/jobs/{id}?wait=S, then the result is
read from GET /v1/jobs/{id}/result (docs/api.md)."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

URL = os.environ.get("MEASURED_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("MEASURED_TOKEN")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def _request(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    while True:
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            if e.code in (429, 503):  # queue full: wait as told
                time.sleep(float(e.headers.get("Retry-After", "1")))
                continue
            detail = e.read().decode(errors="replace")
            raise RuntimeError(f"{method} {path}: HTTP {e.code}: {detail}") from None


def submit(kind, params, label=None):
    """Submit one job; returns its id."""
    body = {"kind": kind, "params": params}
    if label:
        body["label"] = label
    _, job = _request("POST", "/v1/jobs", body)
    return job["id"]


def result(job_id):
    """Wait for a job to finish; return its result object (raise if it failed)."""
    while True:
        _, job = _request("GET", f"/v1/jobs/{job_id}?wait=30")
        if job["status"] in ("succeeded", "failed", "cancelled"):
            break
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} {job['status']}: {job.get('error')}")
    _, res = _request("GET", f"/v1/jobs/{job_id}/result")
    return res["result"]


def run_all(kind, param_list, label=None):
    """Submit every params object first (the daemon runs them in parallel on
    its workers), then collect the results in order."""
    ids = [submit(kind, p, label) for p in param_list]
    out = [result(j) for j in ids]
    print(f"{label or kind}: {len(ids)} jobs done", file=sys.stderr)
    return out


def out_path(name):
    os.makedirs(OUT, exist_ok=True)
    return os.path.join(OUT, name)
