"""The local AWS emulator for the tests: moto's server, with one change.

DynamoDB runs each request, and each transaction, in isolation: a condition is checked
and the write applied as one step. moto's server handles requests on many threads and
does not isolate them, so two transactions on the same items can interleave (and its
rollback copy can fail with "dictionary changed size during iteration"). Here every
DynamoDB operation takes one lock, which gives the tests DynamoDB's isolation; the other
services keep moto's threads, so an SQS long poll still waits without blocking anyone.

Usage: python scripts/moto-server.py -H 127.0.0.1 -p PORT
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.server import main

_dynamodb = threading.RLock()


def _isolated(method):
    @functools.wraps(method)
    def run(*args, **kwargs):
        with _dynamodb:
            return method(*args, **kwargs)

    return run


for _name, _value in list(vars(DynamoDBBackend).items()):
    if callable(_value) and not _name.startswith("_"):
        setattr(DynamoDBBackend, _name, _isolated(_value))

if __name__ == "__main__":
    sys.exit(main())
