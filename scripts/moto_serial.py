"""moto_server with one request at a time.

moto's server is threaded and its DynamoDB backend does not lock a table while it checks a
ConditionExpression and writes: two concurrent conditional updates can both succeed (seen here:
1 run in 5 of the store contract's 8-worker claim race). DynamoDB itself applies each conditional
write atomically, so the tests serialise moto's request handling to get DynamoDB's semantics.
DynamoDB's documented limits (item and transaction sizes, 1 MB pages, faults on demand) are
enforced in front of moto by scripts/moto_limits.py.
Usage: python scripts/moto_serial.py -H 127.0.0.1 -p PORT (moto_server's own arguments).
"""
import os
import sys
import threading

from moto import server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from moto_limits import Limits  # noqa: E402

_LOCK = threading.Lock()
_Dispatcher = server.DomainDispatcherApplication


class SerialDispatcher(_Dispatcher):
    def __call__(self, environ, start_response):
        moto = super().__call__
        with _LOCK:
            # Materialise the body inside the lock: moto builds responses eagerly anyway.
            return list(Limits(moto)(environ, start_response))


server.DomainDispatcherApplication = SerialDispatcher

if __name__ == "__main__":
    server.main()
