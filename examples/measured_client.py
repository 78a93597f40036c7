"""measured_client.py — the few HTTP calls the example scripts need, with the
Python standard library only (urllib): submit a job, wait for it, fetch its
result. The daemon's address is MEASURED_URL (default http://127.0.0.1:8080);
MEASURED_TOKEN, when set, is sent as a bearer token."""
import json
import os
import urllib.error
import urllib.request

URL = os.environ.get("MEASURED_URL", "http://127.0.0.1:8080").rstrip("/")
TOKEN = os.environ.get("MEASURED_TOKEN")


def _call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(URL + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if TOKEN:
        req.add_header("Authorization", "Bearer " + TOKEN)
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {path}: {e.code} {e.read().decode()}") from None


def submit(kind, params, label=None):
    body = {"kind": kind, "params": params}
    if label:
        body["label"] = label
    return _call("POST", "/v1/jobs", body)


def wait(job_id):
    while True:
        job = _call("GET", f"/v1/jobs/{job_id}?wait=60")
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job


def solve(kind, params, label=None):
    """Submit, wait, and return the result object (raises if the job failed)."""
    job = wait(submit(kind, params, label)["id"])
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job['id']} {job['status']}: {job.get('error')}")
    return _call("GET", f"/v1/jobs/{job['id']}/result")["result"]


def out_path(name):
    here = os.path.dirname(os.path.abspath(__file__))
    os.makedirs(os.path.join(here, "out"), exist_ok=True)
    return os.path.join(here, "out", name)
