"""Signalling load from its own process, so the test's own WebRTC clients are not starved of the GIL.

    python signalling_load.py '{"port": 8080, "mode": "post", "path": "/whep/x", "offer": "...", "count": 2000, "threads": 32}'
    python signalling_load.py '{"port": 8080, "mode": "patch", "targets": [[location, etag], ...], "bodies": [...], "seconds": 6}'

Prints one JSON line: for "post", the status and Retry-After of every answer and how long the flood took; for
"patch", how many answers of each status, the slowest, and the problem details of refused ones.
"""

from __future__ import annotations

import http.client
import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def request(port: int, method: str, path: str, body: str, headers: dict[str, str]):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body.encode(), headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Retry-After"), response.read().decode(errors="replace")
    finally:
        connection.close()


def post_flood(plan: dict) -> dict:
    headers = {"Content-Type": "application/sdp"}

    def post(_: int):
        status, retry, _ = request(plan["port"], "POST", plan["path"], plan["offer"], headers)
        return status, retry

    started = time.monotonic()
    with ThreadPoolExecutor(plan["threads"]) as pool:
        answers = list(pool.map(post, range(plan["count"])))
    return {"seconds": time.monotonic() - started, "answers": answers}


def patch_loop(plan: dict) -> dict:
    deadline = time.monotonic() + plan["seconds"]
    statuses: dict[str, int] = {}
    details: set[str] = set()
    slowest = 0.0
    lock = threading.Lock()

    def loop(location: str, etag: str) -> None:
        nonlocal slowest
        headers = {"Content-Type": "application/trickle-ice-sdpfrag", "If-Match": etag}
        turn = 0
        while time.monotonic() < deadline:
            body = plan["bodies"][turn % len(plan["bodies"])]
            turn += 1
            started = time.monotonic()
            status, _, text = request(plan["port"], "PATCH", location, body, headers)
            with lock:
                statuses[str(status)] = statuses.get(str(status), 0) + 1
                slowest = max(slowest, time.monotonic() - started)
                if status >= 400:
                    details.add(text)

    threads = [threading.Thread(target=loop, args=tuple(target)) for target in plan["targets"]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"statuses": statuses, "slowest": slowest, "details": sorted(details)}


if __name__ == "__main__":
    plan = json.loads(sys.argv[1])
    print(json.dumps(post_flood(plan) if plan["mode"] == "post" else patch_loop(plan)))
