"""The framework's ceiling for `flexsim bench ingest`: a FastAPI app whose readings routes do no work.

`python -m benchmarks.bare --port P` serves `POST /readings` and `POST /readings/batch` the way the
aggregator's routes are served (FastAPI, raw `Request`, uvicorn with uvloop and httptools, one process,
no access log) but each route only reads the body and answers a constant acknowledgement: no token
check, no validation, no store. What the same load generator gets from it is the most any service
built this way could answer on this machine; the aggregator is reported as a share of it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fastapi import FastAPI, Request
from fastapi.responses import Response

SINGLE_ACK = b'{"seq":0,"status":"stored"}'


def make_app() -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/health")
    async def health() -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    @app.post("/readings")
    async def reading(request: Request) -> Response:
        await request.body()
        return Response(SINGLE_ACK, media_type="application/json")

    @app.post("/readings/batch")
    async def batch(request: Request) -> Response:
        body = await request.body()
        n = body.count(b'"seq"')
        return Response(
            b'{"stored":%d,"duplicates":0,"rejected":0,"items":[]}' % n, media_type="application/json"
        )

    return app


def main(argv: Sequence[str] | None = None) -> int:
    import gc

    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = make_app()
    gc.collect()
    gc.freeze()  # as the aggregator does after its startup
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_config=None, lifespan="on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
