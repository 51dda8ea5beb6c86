"""Load for the dependency-fault scenarios: wrk that classifies every answer, and the
server's access log read back as a timeline.

`start_wrk` runs one wrk per route in the background (like `harness.run_wrk_mix`, but
not blocking, so faults can be injected while it runs); its Lua ``response`` hook sorts
every answer into:

- ``fresh`` / ``stale``: 2xx whose body says ``"stale": false`` / ``"stale": true`` (the
  market-data label); ``plain``: any other 2xx (journal routes carry no label);
- ``s503_ok``: 503 ``application/problem+json`` with a numeric ``Retry-After``;
  ``s503_bad``: any other 503;
- ``s5xx_other``, ``s4xx``, ``s3xx``;

plus wrk's socket errors (connect/read/write/timeout) and its latency histogram (p50,
p99, max). `access_log` reads the server's JSON access lines (end time, route, status,
duration) so outcomes can be placed in time relative to an injected fault.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.harness import RouteLoad

_LUA = r"""
local paths = {@@PATHS@@}
local counter = 0
local threads = {}
local names = {"fresh", "stale", "plain", "s503_ok", "s503_bad", "s5xx_other", "s4xx", "s3xx"}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  fresh = 0; stale = 0; plain = 0; s503_ok = 0; s503_bad = 0
  s5xx_other = 0; s4xx = 0; s3xx = 0
  counter = math.random(#paths) - 1
end

function request()
  counter = counter % #paths + 1
  return wrk.format("GET", paths[counter])
end

local function header(headers, name)
  local value = headers[name]
  if value == nil then value = headers[string.lower(name)] end
  return value
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    if body ~= nil and string.find(body, '"stale":%s*true') then stale = stale + 1
    elseif body ~= nil and string.find(body, '"stale":%s*false') then fresh = fresh + 1
    else plain = plain + 1 end
  elseif status == 503 then
    local ra = tonumber(header(headers, "Retry-After") or "")
    local ct = header(headers, "Content-Type") or ""
    if ra ~= nil and ra >= 0 and string.find(ct, "application/problem+json", 1, true) then
      s503_ok = s503_ok + 1
    else
      s503_bad = s503_bad + 1
    end
  elseif status >= 500 then s5xx_other = s5xx_other + 1
  elseif status >= 400 then s4xx = s4xx + 1
  else s3xx = s3xx + 1 end
end

function done(summary, latency, requests)
  local totals = {}
  for _, name in ipairs(names) do totals[name] = 0 end
  for _, t in ipairs(threads) do
    for _, name in ipairs(names) do totals[name] = totals[name] + t:get(name) end
  end
  local e = summary.errors
  local parts = {}
  for _, name in ipairs(names) do
    table.insert(parts, string.format('"%s": %d', name, totals[name]))
  end
  io.write(string.format(
    'FAULT_RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d, %s}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, table.concat(parts, ", ")))
end
"""


def lua_script(paths: tuple[str, ...]) -> str:
    return _LUA.replace("@@PATHS@@", ", ".join(json.dumps(p) for p in paths))


@dataclass
class ClassifiedResult:
    """One route's answers, sorted as in the module doc."""

    route: str
    connections: int
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    fresh: int
    stale: int
    plain: int
    s503_ok: int
    s503_bad: int
    s5xx_other: int
    s4xx: int
    s3xx: int
    socket_errors: int
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def ok_2xx(self) -> int:
        return self.fresh + self.stale + self.plain

    def summary(self) -> dict[str, Any]:
        """The figures worth a report line (no raw wrk output)."""
        out = {k: v for k, v in self.__dict__.items() if k != "raw"}
        for key in ("rps", "p50_ms", "p99_ms", "max_ms"):
            out[key] = round(out[key], 1)
        return out


class WrkRun:
    """wrk processes started together; `wait` collects their classified results."""

    def __init__(self, procs: list[tuple[RouteLoad, subprocess.Popen[str]]], limit: float):
        self.procs = procs
        self.limit = limit

    def wait(self) -> list[ClassifiedResult]:
        results = []
        for load, proc in self.procs:
            try:
                out, err = proc.communicate(timeout=self.limit)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                raise RuntimeError(f"wrk for {load.route} did not finish: {err}") from None
            match = re.search(r"^FAULT_RESULT (\{.*\})$", out, re.M)
            if proc.returncode != 0 or match is None:
                raise RuntimeError(f"wrk for {load.route} failed ({proc.returncode}): {err}\n{out}")
            raw = json.loads(match.group(1))
            seconds = raw["duration_us"] / 1e6
            results.append(
                ClassifiedResult(
                    route=load.route,
                    connections=load.connections,
                    requests=raw["requests"],
                    rps=raw["requests"] / seconds if seconds else 0.0,
                    p50_ms=raw["p50_us"] / 1000,
                    p99_ms=raw["p99_us"] / 1000,
                    max_ms=raw["max_us"] / 1000,
                    fresh=raw["fresh"],
                    stale=raw["stale"],
                    plain=raw["plain"],
                    s503_ok=raw["s503_ok"],
                    s503_bad=raw["s503_bad"],
                    s5xx_other=raw["s5xx_other"],
                    s4xx=raw["s4xx"],
                    s3xx=raw["s3xx"],
                    socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
                    raw=raw,
                )
            )
        return results

    def kill(self) -> None:
        for _, proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def start_wrk(
    base_url: str,
    routes: list[RouteLoad],
    duration: float,
    workdir: Path,
    *,
    timeout_s: int,
) -> WrkRun:
    """One wrk per route for ``duration`` seconds, started at once, not waited for.

    ``timeout_s`` is wrk's per-request timeout: keep it well above the server's
    deadlines so a slow answer shows up in the latency figures instead of as a timeout.
    """
    procs: list[tuple[RouteLoad, subprocess.Popen[str]]] = []
    seconds = max(1, round(duration))
    for load in routes:
        script = workdir / f"wrk-fault-{load.route}.lua"
        script.write_text(lua_script(load.paths))
        cmd = [
            "wrk",
            "-t1",
            f"-c{load.connections}",
            f"-d{seconds}s",
            "--timeout",
            f"{timeout_s}s",
            "-s",
            str(script),
            base_url,
        ]
        procs.append(
            (load, subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        )
    return WrkRun(procs, limit=seconds + 2 * timeout_s + 30)


# -- the access log as a timeline ---------------------------------------------------------


@dataclass(frozen=True)
class AccessLine:
    """One served request: when it ended (epoch s), its route template, status, duration."""

    end: float
    route: str
    path: str
    status: int
    duration_ms: float


def access_log(text: str) -> list[AccessLine]:
    """The access lines of a server's JSON log (other lines are skipped)."""
    lines = []
    for raw in text.splitlines():
        if '"logger":"tradestats.access"' not in raw:
            continue
        try:
            rec = json.loads(raw)
        except ValueError:
            continue
        when = dt.datetime.fromisoformat(rec["time"].replace("Z", "+00:00")).timestamp()
        lines.append(
            AccessLine(
                when,
                str(rec.get("route", "")),
                str(rec.get("path", "")),
                int(rec["status"]),
                float(rec.get("duration_ms", 0.0)),
            )
        )
    return lines
