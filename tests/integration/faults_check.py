"""faults_check.py — the checks of daemon_faults.sh after a restart, in one
process (a process start costs ~30 ms on these machines, and there are
hundreds of jobs to check).

Usage: /usr/bin/python3 faults_check.py PORT IDS_FILE RESULTS_DIR

IDS_FILE lists "ID [LABEL]" lines: jobs answered 201 before the kill. Each
must be present (200); the endless ones still running are cancelled; each
must then end in a terminal state; its event history (NDJSON) must be ids
1..n, start with status queued and end with exactly one `end` whose status is
the job's; a result saved in RESULTS_DIR/ID before the kill must be served
byte for byte the same. Prints a summary; exits 1 with the first problem.
"""
import http.client
import json
import os
import sys
import time

TERMINAL = ("succeeded", "failed", "cancelled")


def main():
    port, ids_file, results = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    jobs = {}
    with open(ids_file) as f:
        for line in f:
            parts = line.split()
            if parts:
                jobs[parts[0]] = parts[1] if len(parts) > 1 else ""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def req(method, path, headers=None):
        conn.request(method, path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()

    def fail(msg):
        sys.exit("faults_check: " + msg)

    status = {}
    for jid, label in jobs.items():
        code, body = req("GET", "/v1/jobs/" + jid)
        if code != 200:
            fail("job %s was answered 201 but is %d after the restart" % (jid, code))
        st = json.loads(body)["status"]
        if label == "endless" and st not in TERMINAL:
            code, _ = req("DELETE", "/v1/jobs/" + jid)
            if code not in (202, 409):
                fail("cancel of %s answered %d" % (jid, code))
    deadline = time.time() + 90
    restarted = 0
    for jid in jobs:
        while True:
            code, body = req("GET", "/v1/jobs/%s?wait=30" % jid)
            job = json.loads(body)
            if job["status"] in TERMINAL:
                break
            if time.time() > deadline:
                fail("job %s is still %s" % (jid, job["status"]))
        st = status[jid] = job["status"]
        restarted += job.get("attempts", 0) > 1
        code, body = req("GET", "/v1/jobs/%s/events" % jid, {"Accept": "application/x-ndjson"})
        ev = [json.loads(x) for x in body.decode().splitlines() if x.strip()]
        ok = (code == 200 and ev and [e["id"] for e in ev] == list(range(1, len(ev) + 1))
              and ev[0]["event"] == "status" and ev[0]["data"]["status"] == "queued"
              and sum(e["event"] == "end" for e in ev) == 1
              and ev[-1]["event"] == "end" and ev[-1]["data"]["status"] == st)
        if not ok:
            fail("job %s (%s): inconsistent history: %s" % (jid, st, body[:600]))
        saved = os.path.join(results, jid)
        if os.path.exists(saved):
            if st != "succeeded":
                fail("job %s had a result before the kill and is now %s" % (jid, st))
            code, body = req("GET", "/v1/jobs/%s/result" % jid)
            with open(saved, "rb") as f:
                if code != 200 or body != f.read():
                    fail("the result of %s changed across the restart" % jid)
    counts = {s: list(status.values()).count(s) for s in TERMINAL}
    nres = len(os.listdir(results)) if os.path.isdir(results) else 0
    print("%d jobs present and terminal (%s), %d re-run after a restart, %d results compared"
          % (len(jobs), ", ".join("%d %s" % (n, s) for s, n in counts.items()), restarted, nres))


main()
