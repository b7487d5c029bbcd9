"""The whole-stack bench's load (``bench/run.py``): the requests it sends, the open-loop and
closed-loop clients, wrk, and a sequential browser with a cookie jar."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bench.stack_kit import HOST, Stack

ANSWERS: dict[str, Any] = {  # tests/helpers.py DESK_ACHILLES: a desk worker with an Achilles history
    "age_band": "30-39", "sex": "female", "desk_hours": ">10", "strength_sessions_per_week": "0",
    "sf_screen": ["none"], "sf_periods": "no", "years_running": "2-5", "restarting_after_break": False,
    "runs_per_week": "3", "long_run_day": "sat", "weekly_km": 30, "weekly_change": "about_same",
    "longest_run_30d_km": 15, "planned_longest_next_14d_km": 16, "terrain": ["road"], "goal_event": "half",
    "race_date": (date.today() + timedelta(weeks=10)).isoformat(), "injury_history": "recent_stopped",
    "injury_areas": ["achilles_calf"], "current_pain_nrs": 0, "feels_tight": ["calves"], "hm_5pq": [],
    "ktw_left_cm": 8, "ktw_right_cm": 8,
}
STRATEGY_FORM: dict[str, Any] = {  # tests/helpers_strategy.py STRATEGY_FORM
    "first_name": "Dana", "phone": "(512) 555-0143",
    "goals": "Run the Austin Marathon without my knee giving out at mile 18.",
    "dealing_with": ["pain", "structure"], "services": ["mobility_coaching"], "delivery": "in_person",
    "start_timing": "asap", "preferred_contact": "phone", "time_zone": "America/Chicago", "consent": "y",
}
PLACEHOLDER = "ZZNZZ"  # replaced by a unique id per request (wrk's Lua script and the Python clients)


# --- HTTP clients ---------------------------------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


async def fetch(port: int, req: Req, timeout: float) -> int:
    """One request on its own connection (gunicorn's sync workers close after each response)."""
    async def go() -> int:
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            head = [f"{req.method} {req.path} HTTP/1.1", f"Host: {HOST}:{port}", "Connection: close",
                    f"Content-Length: {len(req.body)}"] + [f"{k}: {v}" for k, v in req.headers.items()]
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + req.body)
            await writer.drain()
            status_line = await reader.readline()
            await reader.read()  # to the end: the server closes
            return int(status_line.split()[1])
        finally:
            writer.close()
    return await asyncio.wait_for(go(), timeout)


@dataclass
class OpenLoopResult:
    latencies_ms: list[float]
    errors: int
    sent: dict[int, float]  # request number → wall time it was sent (for time to inbox)
    ok: int
    achieved_rate: float


def open_loop(port: int, make: Callable[[int], Req], rate: float, seconds: float, timeout: float = 10.0,
              ok_status: tuple[int, ...] = (200, 201, 302)) -> OpenLoopResult:
    """Requests at fixed intended times (i / rate); latency = response end − intended time."""
    async def main() -> OpenLoopResult:
        loop = asyncio.get_running_loop()
        n = max(1, int(rate * seconds))
        t0 = loop.time() + 0.05
        latencies, sent, errors, ok = [], {}, 0, 0

        async def one(i: int, due: float) -> None:
            nonlocal errors, ok
            sent[i] = time.time()
            try:
                status = await fetch(port, make(i), timeout)
            except (OSError, TimeoutError, ValueError, IndexError):
                status = 0
            latencies.append((loop.time() - due) * 1000)
            if status in ok_status:
                ok += 1
            else:
                errors += 1

        tasks = []
        for i in range(n):
            due = t0 + i / rate
            if (delay := due - loop.time()) > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, due)))
        issued = loop.time() - t0
        await asyncio.gather(*tasks)
        return OpenLoopResult(latencies, errors, sent, ok, n / max(issued, 1e-9))
    return asyncio.run(main())


def closed_loop(port: int, make: Callable[[int], Req], connections: int, seconds: float,
                ok_status: tuple[int, ...] = (200, 201, 302)) -> dict[str, float]:
    """The fallback saturation client (wrk is far cheaper; this one shares the CPU with the server)."""
    async def main() -> dict[str, float]:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        counter, done, errors = 0, 0, 0

        async def worker() -> None:
            nonlocal counter, done, errors
            while loop.time() < end:
                counter += 1
                try:
                    status = await fetch(port, make(counter), 30)
                except (OSError, TimeoutError, ValueError, IndexError):
                    status = 0
                done += 1
                errors += status not in ok_status
        start = loop.time()
        await asyncio.gather(*(worker() for _ in range(connections)))
        return {"rps": done / (loop.time() - start), "requests": done, "errors": errors, "tool": "python"}
    return asyncio.run(main())


WRK_SCRIPT = """
local counter = 0
local tag = "w"
local n = 0
function setup(thread)
  n = n + 1
  thread:set("tid", n)
end
function init(args)
  tag = args[1] .. "t" .. tostring(tid)
end
function request()
  counter = counter + 1
  local body = (BODY:gsub("%(placeholder)s", tag .. "x" .. counter))
  return wrk.format(%(method)s, %(path)s, HEADERS, body)
end
"""


def wrk(port: int, req: Req, tag: str, connections: int, seconds: float) -> dict[str, float]:
    """Saturation with wrk; the request body's placeholder becomes a unique id per request."""
    headers = ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}" for k, v in req.headers.items())
    script = (f"BODY = [==[{req.body.decode()}]==]\nHEADERS = {{{headers}}}\n"
              + WRK_SCRIPT % {"placeholder": PLACEHOLDER, "method": json.dumps(req.method),
                              "path": json.dumps(req.path)})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    try:
        out = subprocess.run(["wrk", "-t", str(min(2, connections)), "-c", str(connections), "-d", f"{seconds:g}s",
                              "--timeout", "30s", "-s", f.name, f"http://{HOST}:{port}", "--", tag],
                             capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(f.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "requests": requests,
            "errors": (int(non2xx.group(1)) if non2xx else 0)
            + (int(sock.group(1)) + int(sock.group(3)) + int(sock.group(4)) if sock else 0),
            "tool": "wrk"}


def saturate(port: int, make: Callable[[int], Req], tag: str, connections: int, seconds: float) -> dict[str, float]:
    if shutil.which("wrk"):
        return wrk(port, make(-1), tag, connections, seconds)
    return closed_loop(port, make, connections, seconds)


class Browser:
    """Sequential requests with one cookie jar (sign in, forms, the dashboard, the CSV)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, Any] | None = None,
                stream: Callable[[bytes], None] | None = None) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if stream:
            while chunk := response.read(65536):
                stream(chunk)
            data = b""
        else:
            data = response.read()
        conn.close()
        return response.status, data

    def hidden_fields(self, path: str) -> dict[str, str]:
        status, page = self.request("GET", path)
        assert status == 200, (path, status)
        fields = {}
        for tag in re.findall(r"<input[^>]*>", page.decode()):
            name = re.search(r'name="([^"]*)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if name and 'type="hidden"' in tag:
                fields[name.group(1)] = value.group(1) if value else ""
        return fields


def api_request(tag: str) -> Callable[[int], Req]:
    def make(i: int) -> Req:
        ident = PLACEHOLDER if i < 0 else f"{tag}x{i}"
        body = {"answers": ANSWERS, "contact": {"first_name": "Dana", "email": f"{ident}@bench.example",
                                                "consent_health": True, "consent_marketing": True,
                                                "time_zone": "America/Chicago"}}
        return Req("POST", "/api/v1/assessments", {"Content-Type": "application/json"}, json.dumps(body).encode())
    return make


def bare_request(tag: str, form: bool) -> Callable[[int], Req]:
    def make(i: int) -> Req:
        ident = PLACEHOLDER if i < 0 else f"{tag}x{i}"
        if form:
            body = urllib.parse.urlencode({**STRATEGY_FORM, "email": f"{ident}@bench.example"}, doseq=True)
            return Req("POST", "/submit", {"Content-Type": "application/x-www-form-urlencoded"}, body.encode())
        return Req("POST", "/submit", {"Content-Type": "application/json"},
                   json.dumps({"answers": ANSWERS, "contact": {"email": f"{ident}@bench.example"}}).encode())
    return make


def strategy_request(stack: Stack, tag: str) -> Callable[[int], Req]:
    """The form as a browser posts it: CSRF token, session cookie and the time-trap stamp come from
    one GET (the stamp is older than FORM_MIN_SECONDS by the time the load starts)."""
    browser = Browser(stack.app_port)
    hidden = browser.hidden_fields("/strategy-session")
    cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
    minimum = float(stack.env.get("FORM_MIN_SECONDS", "2"))
    time.sleep(minimum + 0.1)

    def make(i: int) -> Req:
        ident = PLACEHOLDER if i < 0 else f"{tag}x{i}"
        fields = {**hidden, **STRATEGY_FORM, "email": f"{ident}@bench.example", "reference_code": ""}
        body = urllib.parse.urlencode(fields, doseq=True).replace(urllib.parse.quote(PLACEHOLDER), PLACEHOLDER)
        return Req("POST", "/strategy-session", {"Content-Type": "application/x-www-form-urlencoded",
                                                 "Cookie": cookie}, body.encode())
    return make
