"""measured_client.py — what the example scripts need from the daemon, on top
of the project's own Python client (clients/python, standard library only):
submit jobs, wait for their results, keep the daemon's workers busy with a
batch, and place output files. The daemon's address is MEASURED_URL (default
http://127.0.0.1:8080); MEASURED_TOKEN, when set, is sent as a bearer token.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "clients", "python"))
import measured  # noqa: E402  (the path above makes the client importable)

_client = measured.Client(timeout=120.0)


def _retrying(call, *args, **kwargs):
    """Run a client call, waiting as told while the queue is full (429/503)."""
    while True:
        try:
            return call(*args, **kwargs)
        except (measured.Unavailable, measured.APIError) as e:
            if getattr(e, "status", None) not in (429, 503):
                raise
            time.sleep(1.0)


def submit(kind, params, label=None):
    """Submit one job; returns its id."""
    return _retrying(_client.submit, kind, params, label=label)["id"]


def result(job_id):
    """Wait for a job to finish and return its result object (raises
    measured.JobFailed if it failed or was cancelled)."""
    _retrying(_client.wait, job_id, check=True)
    return _retrying(_client.result, job_id)


def solve(kind, params, label=None):
    """Submit, wait, and return the result object."""
    return result(submit(kind, params, label))


def run_all(kind, param_list, label=None):
    """Submit every params object of one kind first (the daemon runs them in
    parallel on its workers), then collect the results in order."""
    ids = [submit(kind, p, label) for p in param_list]
    out = [result(j) for j in ids]
    print(f"{label or kind}: {len(ids)} jobs done", file=sys.stderr)
    return out


def run_jobs(jobs):
    """The same for a list of (kind, params) pairs."""
    ids = [submit(k, p) for k, p in jobs]
    return [result(j) for j in ids]


def out_path(name):
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, name)
