"""test_client.py — the Python client (clients/python) against the real daemon.

Run by tests/integration/python_client.sh with Debian's /usr/bin/python3 and
PYTHONPATH=clients/python; BUILD names the build folder. The suite starts
build/measured itself (port 0, a token, a store in a scratch folder) so that
it can restart it under a live event stream."""

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import measured
from measured import Client

BUILD = os.environ.get("BUILD", "build")
TOKEN = "py-s3cret"


class Daemon:
    """build/measured on 127.0.0.1:PORT (0: a free port) with a store in dir."""

    def __init__(self, store_dir, port=0):
        self.log = open(os.path.join(store_dir, "daemon.log"), "ab+")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "measured"), "--listen", f"127.0.0.1:{port}", "--store",
             os.path.join(store_dir, "db"), "--workers", "2", "--token", TOKEN],
            stderr=self.log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        self.port = None
        while self.port is None:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the daemon did not start")
            time.sleep(0.05)
            self.log.seek(0)
            m = re.search(rb"^listening on .*:(\d+)$", self.log.read(), re.M)
            self.port = int(m.group(1)) if m else None
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(30)
        self.log.close()
        return rc

    def kill(self):
        """After a failed test: make sure no daemon outlives the suite."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def cloud(n, seed):
    """A seeded uniform cloud in [0,1]^2 (the same LCG as tests/it_lib.sh)."""
    x, pts = seed, []
    for _ in range(n):
        x = (x * 1103515245 + 12345) % 2147483648
        a = x / 2147483648
        x = (x * 1103515245 + 12345) % 2147483648
        pts.append([round(a, 6), round(x / 2147483648, 6)])
    return pts


def ot_params(n, max_iter):
    """ot with tol 0: runs max_iter iterations (about 4 ms each at n = 1000)."""
    return {"source": {"points": cloud(n, 1)}, "target": {"points": cloud(n, 2)},
            "epsilon": 0.001, "tol": 0, "max_iter": max_iter}


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="measured-py-")
        cls.daemon = Daemon(cls.dir)
        cls.c = Client(cls.daemon.url, token=TOKEN)

    @classmethod
    def tearDownClass(cls):
        cls.daemon.kill()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def example(self, kind):
        return self.c.kind(kind)["example"]

    def test_kinds(self):
        names = [k["name"] for k in self.c.kinds()]
        for k in ("ot", "nash", "minmax", "two_layer", "deconvolution"):
            self.assertIn(k, names)
        ot = self.c.kind("ot")
        self.assertIn("epsilon", ot["params_schema"]["required"])
        self.assertEqual(ot["params_schema"]["properties"]["max_iter"]["default"], 100000)

    def test_submit_wait_result(self):
        job = self.c.submit("ot", self.example("ot"), label="py", priority=6)
        self.assertRegex(job["id"], r"^[0-9a-f]{16}$")
        self.assertEqual((job["label"], job["priority"]), ("py", 6))
        done = self.c.wait(job["id"], timeout=30)
        self.assertEqual(done["status"], "succeeded")
        res = self.c.result(job)
        self.assertTrue(res["converged"])
        self.assertEqual(len(res["f"]), 3)
        # The same body through run(), and as a whole body dict.
        again = self.c.run({"kind": "ot", "params": self.example("ot")})
        self.assertEqual(again["objective"], res["objective"])
        self.assertIn(job["id"], [j["id"] for j in self.c.jobs(kind="ot")])

    def test_events_replay_and_after(self):
        job = self.c.submit("minmax", self.example("minmax"))
        evs = list(self.c.events(job))
        self.assertEqual([e.id for e in evs], list(range(1, len(evs) + 1)))
        self.assertEqual(evs[0].event, "status")
        self.assertEqual(evs[0].data, {"status": "queued"})
        self.assertTrue(any(e.event == "progress" and "iteration" in e.data for e in evs))
        self.assertEqual((evs[-1].event, evs[-1].data["status"]), ("end", "succeeded"))
        tail = list(self.c.events(job["id"], last_event_id=2))
        self.assertEqual(tail, evs[2:])

    def test_errors_carry_problem_fields(self):
        with self.assertRaises(measured.InvalidParams) as cm:
            self.c.submit("ot", {"source": {"points": [[0, 0]]}, "target": {"points": [[1, 1]]},
                                 "epsilon": -1})
        e = cm.exception
        self.assertEqual(e.status, 422)
        self.assertEqual(e.type, "/problems/invalid-params")
        self.assertIn("/params/epsilon", [x["pointer"] for x in e.errors])
        self.assertIn("/params/epsilon", str(e))
        with self.assertRaises(measured.InvalidParams):
            self.c.submit("no_such_kind", {})
        with self.assertRaises(measured.BadRequest) as cm:
            self.c.submit(b'{"kind": ')
        self.assertEqual(cm.exception.type, "/problems/malformed-json")
        with self.assertRaises(measured.NotFound) as cm:
            self.c.get("0000000000000000")
        self.assertEqual(cm.exception.status, 404)
        with self.assertRaises(measured.BadRequest):
            self.c.list(limit=0)
        with self.assertRaises(measured.Unauthorized):
            Client(self.daemon.url, token="wrong").kinds()
        with self.assertRaises(measured.ServerUnreachable):
            Client("http://127.0.0.1:1", timeout=5).kinds()
        with self.assertRaises(ConnectionError):  # ServerUnreachable is one
            list(Client("http://127.0.0.1:1").events("0000000000000000"))

    def test_idempotency(self):
        body = {"kind": "ot", "params": self.example("ot")}
        a = self.c.submit(body, idempotency_key="py-idem-1")
        b = self.c.submit(body, idempotency_key="py-idem-1")
        self.assertEqual(a["id"], b["id"])
        with self.assertRaises(measured.Conflict):
            self.c.submit(body, label="other", idempotency_key="py-idem-1")

    def test_cancel(self):
        job = self.c.submit("ot", ot_params(1000, 100000000))
        for ev in self.c.events(job):
            if ev.event == "progress":
                break
        self.assertEqual(self.c.cancel(job)["id"], job["id"])
        done = self.c.wait(job, timeout=20)
        self.assertEqual(done["status"], "cancelled")
        with self.assertRaises(measured.Conflict) as cm:
            self.c.result(job)
        self.assertEqual(cm.exception.job_status, "cancelled")
        with self.assertRaises(measured.Conflict):
            self.c.cancel(job)
        with self.assertRaises(measured.JobFailed) as cm:
            self.c.wait(job, check=True)
        self.assertEqual(cm.exception.status, "cancelled")
        endless = self.c.submit("ot", ot_params(1000, 100000000))
        with self.assertRaises(TimeoutError):
            self.c.wait(endless, timeout=0.3)
        self.c.cancel(endless)


class ResumeTest(unittest.TestCase):
    """events() keeps going across a daemon restart: the stream drops when the
    daemon stops (the job is recorded as queued), the iterator reconnects
    with Last-Event-ID to the new daemon on the same port, and sees every
    event once, through the re-run's end."""

    def test_resume_across_restart(self):
        d = tempfile.mkdtemp(prefix="measured-py-")
        daemon = None
        try:
            daemon = Daemon(d)
            c = Client(daemon.url, token=TOKEN)
            job = c.submit("ot", ot_params(1000, 500))
            seen, errors = [], []
            first = threading.Event()

            def consume():
                try:
                    for ev in c.events(job):
                        seen.append(ev)
                        if ev.event == "progress":
                            first.set()
                except Exception as e:  # reported by the test below
                    errors.append(e)
                first.set()

            t = threading.Thread(target=consume)
            t.start()
            self.assertTrue(first.wait(30))
            self.assertEqual(daemon.stop(), 0)
            daemon = Daemon(d, port=daemon.port)
            t.join(60)
            self.assertFalse(t.is_alive())
            self.assertEqual(errors, [])
            self.assertEqual([e.id for e in seen], list(range(1, len(seen) + 1)))
            self.assertIn({"status": "queued", "reason": "shutdown"}, [e.data for e in seen])
            self.assertEqual((seen[-1].event, seen[-1].data["status"]), ("end", "succeeded"))
            self.assertEqual(c.result(job)["iterations"], 500)
        finally:
            if daemon:
                daemon.kill()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)
