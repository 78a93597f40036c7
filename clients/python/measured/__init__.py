"""measured — the Python client of the measured daemon (standard library only).

    from measured import Client
    c = Client("http://127.0.0.1:8080", token=None)
    job = c.submit("ot", {"source": {...}, "target": {...}, "epsilon": 0.1})
    for ev in c.events(job["id"]):          # live progress, resumes after drops
        print(ev.event, ev.data)
    print(c.result(job["id"])["objective"])

Every call is one request of the HTTP API (docs/api.md in the repository).
HTTP errors are raised as APIError subclasses carrying the problem+json
fields (status, type, title, detail, errors, and the rest in .problem);
a server that cannot be reached raises ServerUnreachable (a ConnectionError).
"""

import http.client
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

__all__ = [
    "Client", "Event", "MeasuredError", "ServerUnreachable", "APIError", "BadRequest",
    "Unauthorized", "NotFound", "Conflict", "PayloadTooLarge", "InvalidParams", "Unavailable",
    "JobFailed", "TERMINAL",
]
__version__ = "1.0.0"

TERMINAL = ("succeeded", "failed", "cancelled")


class MeasuredError(Exception):
    """Base of every error this client raises."""


class ServerUnreachable(MeasuredError, ConnectionError):
    """No HTTP answer: connection refused, reset, timed out, or a stream that
    could not be resumed within its window."""


class APIError(MeasuredError):
    """An HTTP error answer. The problem+json members are attributes:
    status, type, title, detail, errors (a list of {pointer, detail}); every
    member, including extensions such as job_status, is in .problem."""

    def __init__(self, status, problem, method="", path=""):
        self.status = status
        self.problem = problem if isinstance(problem, dict) else {"detail": str(problem)}
        self.type = self.problem.get("type")
        self.title = self.problem.get("title")
        self.detail = self.problem.get("detail")
        self.errors = self.problem.get("errors", [])
        self.method, self.path = method, path
        lines = [f"{method} {path}: {status} {self.title or ''}: {self.detail or ''}".strip()]
        lines += [f"  {e.get('pointer')}: {e.get('detail')}" for e in self.errors]
        super().__init__("\n".join(lines))

    def __getattr__(self, name):  # problem extensions: job_status, estimated_bytes, ...
        try:
            return self.__dict__["problem"][name]
        except KeyError:
            raise AttributeError(name) from None


class BadRequest(APIError):
    """400: malformed JSON or a bad query parameter or header."""


class Unauthorized(APIError):
    """401: the token is missing or wrong."""


class NotFound(APIError):
    """404: no such job, kind or route."""


class Conflict(APIError):
    """409: the job is in no state for the request (.job_status says which),
    or an Idempotency-Key was reused with another body."""


class PayloadTooLarge(APIError):
    """413: the body exceeds the daemon's --max-body."""


class InvalidParams(APIError):
    """422: unknown kind or invalid params; .errors has one pointer per field."""


class Unavailable(APIError):
    """429 or 503: queue full, too many streams, shutting down; .retry_after
    is the server's Retry-After in seconds (or None)."""

    retry_after = None


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 404: NotFound, 409: Conflict,
              413: PayloadTooLarge, 422: InvalidParams, 429: Unavailable, 503: Unavailable}


class JobFailed(MeasuredError):
    """Client.run (or wait(..., check=True)) found the job failed or cancelled;
    .job is the job object, .status its status, .error its error (or None)."""

    def __init__(self, job):
        self.job = job
        self.status = job.get("status")
        self.error = job.get("error")
        why = f": {self.error.get('detail')}" if isinstance(self.error, dict) else ""
        super().__init__(f"job {job.get('id')} {self.status}{why}")


class Event:
    """One event of a job's stream: id (int), event ("status", "progress",
    "end") and data (the parsed JSON)."""

    __slots__ = ("id", "event", "data")

    def __init__(self, id, event, data):
        self.id, self.event, self.data = id, event, data

    def __repr__(self):
        return f"Event(id={self.id!r}, event={self.event!r}, data={self.data!r})"

    def __eq__(self, other):
        return isinstance(other, Event) and (self.id, self.event, self.data) == (
            other.id, other.event, other.data)


def _sse(lines):
    """Parse Server-Sent Events from an iterator of text lines (without line
    ends): yields (id, event, data) per dispatched event, the WHATWG way
    (comments skipped, data lines joined with newlines, one leading space
    after the colon dropped)."""
    eid, etype, data = None, "message", []
    for line in lines:
        if not line:
            if data:
                yield eid, etype, "\n".join(data)
            etype, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            data.append(value)
        elif field == "event":
            etype = value
        elif field == "id":
            eid = value


class Client:
    """A connection to one daemon.

    url defaults to $MEASURED_URL, then http://127.0.0.1:8080; token to
    $MEASURED_TOKEN. timeout bounds each plain request in seconds."""

    def __init__(self, url=None, token=None, timeout=60.0):
        self.url = (url or os.environ.get("MEASURED_URL") or "http://127.0.0.1:8080").rstrip("/")
        self.token = token if token is not None else os.environ.get("MEASURED_TOKEN")
        self.timeout = timeout

    def __repr__(self):
        return f"Client({self.url!r})"

    # ---- plumbing ---------------------------------------------------------

    def _open(self, method, path, body=None, headers=None, timeout=None):
        data = None
        hdrs = {"Accept": "application/json", "User-Agent": "measured-python/" + __version__}
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            data = data.encode() if isinstance(data, str) else data
            hdrs["Content-Type"] = "application/json"
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as e:
            raise self._api_error(e, method, path) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as e:
            raise ServerUnreachable(f"{method} {self.url}{path}: {getattr(e, 'reason', e)}") \
                from None

    @staticmethod
    def _api_error(e, method, path):
        raw = e.read()
        try:
            problem = json.loads(raw)
        except ValueError:
            problem = {"detail": raw.decode(errors="replace")}
        err = _BY_STATUS.get(e.code, APIError)(e.code, problem, method, path)
        ra = e.headers.get("Retry-After") if e.headers else None
        if ra is not None:
            try:
                err.retry_after = float(ra)
            except ValueError:
                pass
        return err

    def _json(self, method, path, body=None, headers=None, timeout=None):
        try:
            with self._open(method, path, body, headers, timeout) as r:
                raw = r.read()
        except (OSError, http.client.HTTPException) as e:
            if isinstance(e, MeasuredError):
                raise
            raise ServerUnreachable(f"{method} {self.url}{path}: {e}") from None
        return json.loads(raw) if raw else None

    @staticmethod
    def _q(**query):
        q = {k: v for k, v in query.items() if v is not None}
        return "?" + urllib.parse.urlencode(q) if q else ""

    @staticmethod
    def _id(job):
        return job["id"] if isinstance(job, dict) else str(job)

    # ---- the API ----------------------------------------------------------

    def submit(self, kind, params=None, *, label=None, priority=None, timeout_s=None,
               idempotency_key=None):
        """POST /v1/jobs. kind is a kind name with its params, or a whole job
        body: a dict with "kind" and "params", or its JSON text as bytes (sent
        as it is). Returns the job object."""
        if isinstance(kind, bytes):
            body = kind
        else:
            body = dict(kind) if isinstance(kind, dict) else {"kind": kind, "params": params or {}}
            for k, v in (("label", label), ("priority", priority), ("timeout_s", timeout_s)):
                if v is not None:
                    body[k] = v
        hdrs = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return self._json("POST", "/v1/jobs", body, hdrs)

    def get(self, job, wait=None):
        """GET /v1/jobs/{id}; wait=S holds the answer until the job is terminal
        or S seconds (at most 60) pass."""
        t = self.timeout if wait is None else max(self.timeout, wait + 10)
        return self._json("GET", f"/v1/jobs/{self._id(job)}" + self._q(wait=wait), timeout=t)

    def list(self, status=None, kind=None, limit=None, cursor=None):
        """GET /v1/jobs: one page {"jobs": [...], "next_cursor": ...}, newest first."""
        return self._json("GET", "/v1/jobs" + self._q(status=status, kind=kind, limit=limit,
                                                       cursor=cursor))

    def jobs(self, status=None, kind=None, page=100):
        """Every job matching the filters, newest first, across pages."""
        cursor = None
        while True:
            p = self.list(status=status, kind=kind, limit=page, cursor=cursor)
            yield from p["jobs"]
            cursor = p.get("next_cursor")
            if not cursor:
                return

    def wait(self, job, timeout=None, check=False):
        """Block until the job is terminal; returns the job object. Raises
        TimeoutError after timeout seconds (None: no bound); with check=True
        raises JobFailed unless it succeeded."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 60.0 if deadline is None else min(60.0, deadline - time.monotonic())
            j = self.get(job, wait=max(0.0, left))
            if j["status"] in TERMINAL:
                if check and j["status"] != "succeeded":
                    raise JobFailed(j)
                return j
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {j['id']} is still {j['status']} after {timeout} s")

    def result(self, job):
        """GET /v1/jobs/{id}/result: the result object of a succeeded job
        (Conflict, with .job_status, otherwise)."""
        return self._json("GET", f"/v1/jobs/{self._id(job)}/result")["result"]

    def cancel(self, job):
        """DELETE /v1/jobs/{id}: the job object (still "running" until the job
        reaches its next iteration boundary). Conflict if already terminal."""
        return self._json("DELETE", f"/v1/jobs/{self._id(job)}")

    def kinds(self):
        """GET /v1/kinds: the list of kinds (name, title, description,
        params_schema, example)."""
        return self._json("GET", "/v1/kinds")["kinds"]

    def kind(self, name):
        """GET /v1/kinds/{name}."""
        return self._json("GET", "/v1/kinds/" + urllib.parse.quote(name, safe=""))

    def run(self, kind, params=None, timeout=None, **opts):
        """Submit, wait, and return the result; JobFailed if it did not succeed."""
        job = self.submit(kind, params, **opts)
        self.wait(job, timeout=timeout, check=True)
        return self.result(job)

    def events(self, job, last_event_id=None, resume_for=30.0, read_timeout=45.0):
        """Iterate over the job's events (Event objects) from the one after
        last_event_id (the start by default) until its `end` event.

        A dropped connection, a stream that ends early (the daemon stopped)
        or one silent for read_timeout seconds (the daemon sends a keepalive
        every 15 s) is resumed with Last-Event-ID: no event is lost or seen
        twice. After resume_for seconds without an event, or if the first
        connection fails, ServerUnreachable is raised."""
        path = f"/v1/jobs/{self._id(job)}/events"
        last = last_event_id
        connected = False
        give_up = None
        backoff = 0.1
        while True:
            hdrs = {"Accept": "text/event-stream"}
            if last is not None:
                hdrs["Last-Event-ID"] = str(last)
            try:
                resp = self._open("GET", path, headers=hdrs, timeout=read_timeout)
            except ServerUnreachable:
                if not connected:
                    raise
                resp = None
            except Unavailable:  # too many streams, or stopping: try again
                resp = None
            got = False
            if resp is not None:
                connected = True
                try:
                    with resp:
                        lines = (ln.decode("utf-8").rstrip("\r\n") for ln in resp)
                        for eid, etype, data in _sse(lines):
                            if eid is None:  # the daemon numbers every event
                                continue
                            ev = Event(int(eid), etype, json.loads(data))
                            last, got = ev.id, True
                            yield ev
                            if ev.event == "end":
                                return
                except (OSError, http.client.HTTPException, ValueError):
                    pass  # dropped or cut mid-line: resume from `last`
            now = time.monotonic()
            if got or give_up is None:
                give_up, backoff = now + resume_for, 0.1
            if now > give_up:
                raise ServerUnreachable(
                    f"lost the event stream of {self._id(job)} after event {last}")
            time.sleep(backoff)
            backoff = min(2.0, backoff * 2)
