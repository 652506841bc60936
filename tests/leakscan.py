"""Grep for secrets where Baton must never put them: files (Prefect's SQLite database with its -wal and -shm,
result storage, logs) and texts read through APIs (artifacts, run inputs, events, Slack messages).

Each secret is looked for in several forms: as is, JSON-escaped, URL-encoded (``quote`` and ``quote_plus``),
and base64 (standard and URL-safe). A value base64-encoded inside a longer blob shows up as one of three
strings, depending on its offset modulo 3 in the encoded bytes: ``forms()`` encodes it at the three
alignments and keeps only the characters that depend on the value alone.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMS = ("plain", "json", "quote", "quote_plus", "base64", "base64url")
MIN_B64 = 8  # shorter inner base64 runs would match by chance


def _b64_runs(value: bytes, urlsafe: bool) -> set[bytes]:
    """The base64 text of *value* at each of the three alignments, cut to the characters it alone decides."""
    runs = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + value).rstrip(b"=")
        start, end = -(-8 * offset // 6), (8 * (offset + len(value))) // 6
        run = encoded[start:end]
        if urlsafe:
            run = run.translate(bytes.maketrans(b"+/", b"-_"))
        if len(run) >= MIN_B64:
            runs.add(run)
    return runs


def forms(value: str) -> dict[str, set[bytes]]:
    """Every form of *value* the scanner looks for, by form name."""
    raw = value.encode()
    found = {
        "plain": {raw},
        "json": {json.dumps(value)[1:-1].encode()},
        "quote": {urllib.parse.quote(value, safe="").encode(), urllib.parse.quote(value).encode()},
        "quote_plus": {urllib.parse.quote_plus(value).encode()},
        "base64": _b64_runs(raw, urlsafe=False),
        "base64url": _b64_runs(raw, urlsafe=True),
    }
    return found


@dataclass(frozen=True)
class Hit:
    kind: str  # what the secret is, e.g. "salesforce access token"
    form: str
    where: str
    context: str  # a few bytes around the hit, the secret itself masked

    def __str__(self) -> str:
        return f"{self.kind} ({self.form}) in {self.where}: …{self.context}…"


@dataclass
class Scan:
    """The haystacks: named byte strings. ``add_path`` takes a file or a whole directory (recursively); a
    SQLite database brings its -wal and -shm files along."""

    haystacks: dict[str, bytes] = field(default_factory=dict)

    def add_text(self, name: str, data: str | bytes) -> None:
        self.haystacks[name] = data.encode() if isinstance(data, str) else data

    def add_json(self, name: str, data: object) -> None:
        self.add_text(name, json.dumps(data, default=str))

    def add_path(self, path: Path) -> None:
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                self.add_path(file)
            return
        if path.is_file():
            self.haystacks[str(path)] = path.read_bytes()
        if path.suffix in (".db", ".sqlite"):
            for side in ("-wal", "-shm", "-journal"):
                extra = path.with_name(path.name + side)
                if extra.is_file():
                    self.haystacks[str(extra)] = extra.read_bytes()

    @property
    def bytes_scanned(self) -> int:
        return sum(len(v) for v in self.haystacks.values())

    def hits(self, secrets: Mapping[str, str] | Iterable[tuple[str, str]]) -> list[Hit]:
        """Every (secret, form, haystack) match; *secrets* maps value → kind (or is (value, kind) pairs)."""
        pairs = secrets.items() if isinstance(secrets, Mapping) else secrets
        found: list[Hit] = []
        for value, kind in pairs:
            for form, needles in forms(value).items():
                for needle in needles:
                    for where, data in self.haystacks.items():
                        at = data.find(needle)
                        if at >= 0:
                            end = at + len(needle)
                            around = data[max(0, at - 40) : at] + b"<SECRET>" + data[end : end + 40]
                            found.append(Hit(kind, form, where, around.decode(errors="replace")))
        return found


def planted(value: str, form: str, offset: int = 0) -> bytes:
    """*value* written into surrounding text in *form*: what the self-check plants to prove the scan can fail.
    For base64, *offset* bytes come before the value inside the encoded blob (its alignment)."""
    raw = value.encode()
    if form == "plain":
        return b"log line: " + raw + b" end"
    if form == "json":
        return json.dumps({"x": value}).encode()
    if form == "quote":
        return b"GET /cb?code=" + urllib.parse.quote(value, safe="").encode()
    if form == "quote_plus":
        return b"a=1&t=" + urllib.parse.quote_plus(value).encode()
    if form in ("base64", "base64url"):
        enc = base64.urlsafe_b64encode if form == "base64url" else base64.b64encode
        return b"blob " + enc(b'{"p":"' + b"y" * offset + raw + b'","n":1}') + b" end"
    raise ValueError(f"unknown form {form!r}; one of {FORMS}")


def add_prefect_api(scan: Scan, api_url: str, auth_string: str | None = None) -> dict[str, int]:
    """What Prefect's API serves, as the UI would show it: flow runs (parameters, states), their RunInputs,
    task runs, logs, artifacts, events, deployments, work pools, variables and blocks (secrets included).
    Each kind is one haystack; the counts of records read, by kind."""
    from clients.prefect_api import prefect_http

    counts: dict[str, int] = {}
    with prefect_http(api_url, timeout=60, auth_string=auth_string) as http:

        def paged(path: str, body: dict[str, Any] | None = None, size: int = 200) -> list[Any]:
            rows: list[Any] = []
            while True:
                page = http.post(path, json={**(body or {}), "limit": size, "offset": len(rows)})
                page.raise_for_status()
                got = page.json()
                rows += got
                if len(got) < size:
                    return rows

        runs = paged("flow_runs/filter")
        inputs = []
        for run in runs:
            reply = http.post(f"flow_runs/{run['id']}/input/filter", json={"prefix": "", "limit": 1000})
            reply.raise_for_status()
            inputs += reply.json()
        events: list[Any] = []
        page = http.post("events/filter", json={"limit": 50}).json()
        while True:
            events += page["events"]
            if not page.get("next_page"):
                break
            page = http.get(page["next_page"]).json()
        found = {
            "flow runs": runs,
            "flow-run inputs": inputs,
            "task runs": paged("task_runs/filter"),
            "logs": paged("logs/filter"),
            "artifacts": paged("artifacts/filter"),
            "events": events,
            "deployments": paged("deployments/filter"),
            "work pools": paged("work_pools/filter"),
            "variables": paged("variables/filter"),
            "blocks": paged("block_documents/filter", {"include_secrets": True}),
        }
    for kind, rows in found.items():
        scan.add_json(f"Prefect API: {kind}", rows)
        counts[kind] = len(rows)
    return counts
