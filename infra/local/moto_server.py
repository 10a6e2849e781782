"""moto's server, with DynamoDB calls serialized and cheap transaction rollback.

Real DynamoDB applies each conditional write and transaction atomically; moto's threaded
server runs simultaneous requests against the same in-memory tables without a lock, so two
concurrent conditional writes can both succeed. This launcher serves moto's own WSGI app
(as `moto_server` does) but holds one lock around every DynamoDB call, which gives the
emulator DynamoDB's atomicity. Other services stay concurrent (an SQS long poll must not
block a DynamoDB call).

moto backs up every table a transaction touches with a deep copy of the whole table, so a
transaction costs time in proportion to the table's size (a 1,000-page sync spent most of
its time there). Here the backup is of the items the transaction names, restored the same
way if it is cancelled: the same all-or-nothing result at a cost independent of size.

moto 5.2 serializes every answer by walking botocore's model of the operation, attribute by
attribute; a 1,000-item Query took it over 2 s. DynamoDB's data-plane answers (items, keys,
counts, capacity: no timestamps or blobs in ours) are plain JSON already once moto has
built them, so they are written with `json.dumps`; anything else, or anything json cannot
encode, takes moto's own path. MOTO_CHECK_FAST_JSON=1 computes both and fails the call on
any difference (used to prove the shortcut on the whole test suite).

SQS long polls: moto wakes a waiting ReceiveMessage when a message is sent, and otherwise
re-checks once a second, so a message sent with DelaySeconds (the webhook debounce) was
received up to a second after it became visible. SQS answers a long poll as soon as a
message is visible; here the re-check runs every 50 ms.

Usage: python moto_server.py HOST PORT
"""

import copy
import json
import os
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult
from moto.core.responses import ActionResult

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

DYNAMODB_LOCK = threading.Lock()


class _TableBackupIsTheTable:
    """`copy` as moto's DynamoDB backend sees it: a table "backup" is the table itself,
    since `transact_write_items` below restores the touched items on a rollback."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, *args, **kwargs):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, *args, **kwargs)


_original_transact = DynamoDBBackend.transact_write_items


def _key_of(table, op):
    if "Item" in op:
        key = {table.hash_key_attr: op["Item"].get(table.hash_key_attr)}
        if table.range_key_attr is not None:
            key[table.range_key_attr] = op["Item"].get(table.range_key_attr)
        return key
    return op.get("Key")


def transact_write_items(self, transact_items):
    saved = []
    for entry in transact_items:
        op = next(iter(entry.values()), {})
        table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
        key = _key_of(table, op) if table is not None else None
        if not key or any(v is None for v in key.values()):
            continue
        try:
            current = self.get_item(table.name, key)
        except Exception:  # an invalid key: moto's own call refuses it
            continue
        attrs = copy.deepcopy(current.to_json()["Attributes"]) if current else None
        saved.append((table.name, key, attrs))
    try:
        return _original_transact(self, transact_items)
    except Exception:
        for name, key, attrs in reversed(saved):
            table = self.tables[name]
            if attrs is None:
                hash_value = DynamoType(key[table.hash_key_attr])
                range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
                table.delete_item(hash_value, range_value)
            else:
                table.put_item(attrs)
        raise


dynamodb_models.copy = _TableBackupIsTheTable()
DynamoDBBackend.transact_write_items = transact_write_items

FAST_JSON_OPERATIONS = {
    "GetItem",
    "BatchGetItem",
    "Query",
    "Scan",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
CHECK_FAST_JSON = os.environ.get("MOTO_CHECK_FAST_JSON") == "1"


def _without_nulls(value):
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _fast_execute_result(self, context):
    if context.operation_model.name in FAST_JSON_OPERATIONS and isinstance(self.result, dict):
        try:
            body = json.dumps(_without_nulls(self.result), separators=(",", ":"))
        except (TypeError, ValueError):
            body = None
        if body is not None:
            if CHECK_FAST_JSON:
                status, _, slow = ActionResult.execute_result(self, context)
                if status != 200 or json.loads(slow or "{}") != json.loads(body):
                    raise AssertionError(f"fast JSON differs for {context.operation_model.name}: {body} != {slow}")
            return 200, {"Content-Type": "application/x-amz-json-1.0"}, body
    return ActionResult.execute_result(self, context)


DynamoResult.execute_result = _fast_execute_result


def _patch_sqs_long_poll():
    from moto.sqs.models import Queue

    if not hasattr(Queue, "wait_for_messages"):
        raise RuntimeError("moto's SQS Queue has no wait_for_messages: re-check the long-poll patch")
    original = Queue.wait_for_messages

    def wait_for_messages(self, timeout):
        # Delayed messages become visible without a notification: look again soon.
        return original(self, min(timeout, 0.05))

    Queue.wait_for_messages = wait_for_messages


_patch_sqs_long_poll()


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    if os.environ.get("MOTO_IAM_RESOURCES") == "1":
        # The deploy rehearsal: IAM checks the resources each call touches (moto_iam.py).
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import moto_iam

        moto_iam.install()
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
