"""moto's server, with DynamoDB calls serialized.

Real DynamoDB applies each conditional write and transaction atomically; moto's threaded
server runs simultaneous requests against the same in-memory tables without a lock, so two
concurrent conditional writes can both succeed. This launcher serves moto's own WSGI app
(as `moto_server` does) but holds one lock around every DynamoDB call, which gives the
emulator DynamoDB's atomicity. Other services stay concurrent (an SQS long poll must not
block a DynamoDB call).

Usage: python moto_server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

DYNAMODB_LOCK = threading.Lock()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)

    def serialized(environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            with DYNAMODB_LOCK:
                # Consume the whole answer under the lock.
                return list(app(environ, start_response))
        return app(environ, start_response)

    run_simple(host, port, serialized, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
