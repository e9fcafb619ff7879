"""A small local fake of the Stripe API's list endpoints, for sync_stripe's tests and benchmark: it serves
recorded objects in Stripe's documented list shape (`{"object": "list", "url", "has_more", "data"}`, newest
first, `limit`, `starting_after`, `created[gte]`, `status`), so the `stripe` library's auto-paging runs for
real against it. Nothing of cshub is faked."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class FakeStripe:
    def __init__(
        self, *, customers: list[dict], subscriptions: list[dict], api_key: str, page_cap: int = 100
    ):
        self.lists = {
            "/v1/customers": sorted(customers, key=lambda o: (o["created"], o["id"]), reverse=True),
            "/v1/subscriptions": sorted(subscriptions, key=lambda o: (o["created"], o["id"]), reverse=True),
        }
        self.api_key = api_key
        self.page_cap = page_cap
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                params = parse_qs(url.query)
                fake.requests.append((url.path, params))
                if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._send(
                        401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}}
                    )
                    return
                if url.path not in fake.lists:
                    self._send(404, {"error": {"type": "invalid_request_error", "message": "No such path"}})
                    return
                self._send(200, fake.page(url.path, params))

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", "req_fake")
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def page(self, path: str, params: dict[str, list[str]]) -> dict:
        rows = self.lists[path]
        if "created[gte]" in params:
            gte = int(params["created[gte]"][0])
            rows = [r for r in rows if r["created"] >= gte]
        status = params.get("status", [""])[0]
        if path == "/v1/subscriptions" and status != "all":  # Stripe's default hides canceled ones
            rows = [r for r in rows if r["status"] != "canceled"]
        if "starting_after" in params:
            ids = [r["id"] for r in rows]
            rows = rows[ids.index(params["starting_after"][0]) + 1 :]
        limit = min(int(params.get("limit", ["10"])[0]), self.page_cap)
        return {"object": "list", "url": path, "has_more": len(rows) > limit, "data": rows[:limit]}

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
