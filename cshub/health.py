"""Liveness for load balancers and the container health check.

`healthz` answers 200 when the web process can reach its database, 503 otherwise (wire it at /healthz/).
With a read replica configured it also says whether the replica answers; a replica that does not is reported
but is not a failure (the dashboards then read from the primary, core/db.py).
`python -m cshub.health [path]` is the Docker HEALTHCHECK: it asks the local gunicorn for `path` (default
/healthz/) the way the reverse proxy would — with an allowed Host and `X-Forwarded-Proto: https` — so neither
ALLOWED_HOSTS nor SECURE_SSL_REDIRECT turns a healthy server into a failed check.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

from django.db import DatabaseError, connection, connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.db import replica_alias, replica_reachable


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    body = {"status": "ok"}
    alias = replica_alias()
    if alias:
        body["replica"] = "ok" if replica_reachable() and _answers(alias) else "unreachable"
    return JsonResponse(body)


def _answers(alias: str) -> bool:
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        connections[alias].close()
        return False
    return True


def _host() -> str:
    for host in os.environ.get("ALLOWED_HOSTS", "").split(","):
        host = host.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def main(argv: list[str]) -> int:
    path = argv[1] if len(argv) > 1 else "/healthz/"
    port = os.environ.get("PORT", "8000")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": _host(), "X-Forwarded-Proto": "https"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - see above
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
