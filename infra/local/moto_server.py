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

Usage: python moto_server.py HOST PORT
"""

import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

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
