"""DynamoDB's documented limits, in front of moto, checked the way DynamoDB checks them.

moto 5.2.1 checks some (100 actions a transaction, items of about 400 KB, pages of 1,000,000
bytes); this layer makes the rest and the exact figures DynamoDB's own, whatever moto does.

A WSGI middleware that scripts/moto_serial.py puts around moto's app. For DynamoDB calls it:
  - refuses an item over 400 KB (PutItem, TransactWriteItems, BatchWriteItem) with DynamoDB's
    ValidationException words;
  - refuses a TransactWriteItems over 100 actions or 4 MB, a BatchWriteItem over 25 requests, a
    BatchGetItem over 100 keys;
  - cuts a Query or Scan page at 1 MB of items read, with a LastEvaluatedKey (the table's PK/SK,
    and the index's `<Index>PK`/`<Index>SK` for an index query: Herald's single-table keys), as
    DynamoDB does before any projection;
  - injects faults on demand, per table: `POST /herald-limits/faults` with
    {"table": NAME, "throttle": 0.05, "cancel": 0.05, "seed": 1} makes that share of the table's
    calls answer ProvisionedThroughputExceededException (reads and writes) and of its
    TransactWriteItems answer TransactionCanceledException (TransactionConflict); {"table": NAME}
    alone turns them off. `GET /herald-limits/stats` answers what was refused, cut and injected.
Sizes follow https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
(names and values in UTF-8 bytes, numbers about one byte per two digits plus one, maps and lists
3 bytes plus one per element).
"""
import base64
import io
import json
import random
import re
import threading

ITEM_LIMIT = 400 * 1024
TRANSACTION_ACTIONS = 100
TRANSACTION_BYTES = 4 * 1024 * 1024
BATCH_WRITE = 25
BATCH_GET = 100
PAGE_BYTES = 1024 * 1024
TARGET = "DynamoDB_20120810."

_faults = {}
_stats = {"refused": 0, "pages_cut": 0, "throttled": 0, "cancelled": 0, "largest_transaction": 0, "largest_item": 0}
# The largest item and transaction written to each table (`GET /herald-limits/stats?table=NAME`).
_by_table = {}
_lock = threading.Lock()


def value_size(value):
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "N":
        return (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
    if kind == "B":
        return len(base64.b64decode(inner))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(value_size({"N": n}) for n in inner)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in inner)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in inner.items())
    return len(json.dumps(inner))


def item_size(item):
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def _error(start_response, kind, message):
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{kind}", "message": message}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(body)))])
    return [body]


def _json(start_response, value):
    body = json.dumps(value).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _too_large(size):
    return f"Item size has exceeded the maximum allowed size ({size} bytes)"


def _refusal(action, request):
    """DynamoDB's words for a request over its limits, or None."""
    if action == "PutItem":
        size = item_size(request.get("Item", {}))
        _note_item(size, request.get("TableName"))
        if size > ITEM_LIMIT:
            return _too_large(size)
    elif action == "TransactWriteItems":
        actions = request.get("TransactItems", [])
        if len(actions) > TRANSACTION_ACTIONS:
            return ("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: "
                    "Member must have length less than or equal to 100")
        total = 0
        for entry in actions:
            for kind, body in entry.items():
                size = item_size(body.get("Item", {})) + item_size(body.get("Key", {}))
                size += len(json.dumps(body.get("ExpressionAttributeValues", {})))
                if kind == "Put":
                    _note_item(size, body.get("TableName"))
                    if size > ITEM_LIMIT:
                        return _too_large(size)
                total += size
        with _lock:
            _stats["largest_transaction"] = max(_stats["largest_transaction"], total)
            for table in _tables(action, request):
                mine = _by_table.setdefault(table, {"largest_transaction": 0, "largest_item": 0})
                mine["largest_transaction"] = max(mine["largest_transaction"], total)
        if total > TRANSACTION_BYTES:
            return "Transaction request cannot be larger than 4 MB"
    elif action == "BatchWriteItem":
        requests = [r for rs in request.get("RequestItems", {}).values() for r in rs]
        if len(requests) > BATCH_WRITE:
            return ("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: "
                    "Map value must satisfy constraint: Member must have length less than or equal to 25")
        for table, rs in request.get("RequestItems", {}).items():
            for r in rs:
                size = item_size(r.get("PutRequest", {}).get("Item", {}))
                _note_item(size, table)
                if size > ITEM_LIMIT:
                    return _too_large(size)
    elif action == "BatchGetItem":
        keys = sum(len(t.get("Keys", [])) for t in request.get("RequestItems", {}).values())
        if keys > BATCH_GET:
            return "Too many items requested for the BatchGetItem call"
    return None


def _note_item(size, table):
    with _lock:
        _stats["largest_item"] = max(_stats["largest_item"], size)
        mine = _by_table.setdefault(table, {"largest_transaction": 0, "largest_item": 0})
        mine["largest_item"] = max(mine["largest_item"], size)


def _tables(action, request):
    if "TableName" in request:
        return {request["TableName"]}
    if action in ("BatchWriteItem", "BatchGetItem"):
        return set(request.get("RequestItems", {}))
    if action in ("TransactWriteItems", "TransactGetItems"):
        return {body.get("TableName") for entry in request.get("TransactItems", []) for body in entry.values()}
    return set()


def _injected(action, request, start_response):
    for table in _tables(action, request):
        fault = _faults.get(table)
        if not fault:
            continue
        rng = fault["random"]
        with _lock:
            cancel = action == "TransactWriteItems" and rng.random() < fault.get("cancel", 0)
            throttle = not cancel and action not in ("DescribeTable", "CreateTable", "DeleteTable", "UpdateTable",
                                                     "DescribeStream", "ListStreams", "GetShardIterator",
                                                     "GetRecords") and rng.random() < fault.get("throttle", 0)
            if cancel:
                _stats["cancelled"] += 1
            if throttle:
                _stats["throttled"] += 1
        if cancel:
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                       for _ in request.get("TransactItems", [])]
            body = json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                               "message": "Transaction cancelled, please refer cancellation reasons for specific "
                                          "reasons [" + ", ".join("TransactionConflict" for _ in reasons) + "]",
                               "CancellationReasons": reasons}).encode()
            start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0"),
                                               ("Content-Length", str(len(body)))])
            return [body]
        if throttle:
            return _error(start_response, "ProvisionedThroughputExceededException",
                          "The level of configured provisioned throughput for the table was exceeded. "
                          "Consider increasing your provisioning level with the UpdateTable API.")
    return None


def _projected(request, items):
    """`items` with only the attributes of the request's ProjectionExpression (top-level names)."""
    expression = request.get("ProjectionExpression")
    if not expression:
        return items
    aliases = request.get("ExpressionAttributeNames", {})
    names = [aliases.get(n.strip(), n.strip()) for n in expression.split(",")]
    return [{n: item[n] for n in names if n in item} for item in items]


def _cut_page(request, body):
    """A Query or Scan answer cut at 1 MB of whole items read, with the key to go on from, and
    projected only then (DynamoDB measures a page before any projection)."""
    answer = json.loads(body)
    items = answer.get("Items", [])
    total, kept = 0, 0
    for item in items:
        size = item_size(item)
        if kept and total + size > PAGE_BYTES:
            break
        total += size
        kept += 1
    if kept == len(items):
        answer["Items"] = _projected(request, items)
        return json.dumps(answer).encode()
    last = items[kept - 1]
    names = ["PK", "SK"]
    index = request.get("IndexName")
    if index:
        names += [f"{index}PK", f"{index}SK"]
    answer["Items"] = _projected(request, items[:kept])
    answer["Count"] = kept
    answer["ScannedCount"] = kept
    answer["LastEvaluatedKey"] = {n: last[n] for n in names if n in last}
    with _lock:
        _stats["pages_cut"] += 1
    return json.dumps(answer).encode()


class Limits:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/herald-limits/"):
            return self._control(path, environ, start_response)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET):
            return self.app(environ, start_response)
        action = target[len(TARGET):]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        try:
            request = json.loads(raw or b"{}")
        except ValueError:
            return self.app(environ, start_response)
        refusal = _refusal(action, request)
        if refusal:
            with _lock:
                _stats["refused"] += 1
            return _error(start_response, "ValidationException", refusal)
        injected = _injected(action, request, start_response)
        if injected is not None:
            return injected
        if action not in ("Query", "Scan"):
            return self.app(environ, start_response)
        if request.get("ProjectionExpression"):
            # moto reads whole items; the projection is applied after the page is measured.
            whole = dict(request)
            whole.pop("ProjectionExpression")
            if request.get("ExpressionAttributeNames"):
                used = set(re.findall(r"#\w+", " ".join([whole.get("KeyConditionExpression", ""),
                                                           whole.get("FilterExpression", "")])))
                whole["ExpressionAttributeNames"] = {k: v for k, v in request["ExpressionAttributeNames"].items()
                                                     if k in used}
                if not whole["ExpressionAttributeNames"]:
                    whole.pop("ExpressionAttributeNames")
            raw = json.dumps(whole).encode()
            environ["wsgi.input"] = io.BytesIO(raw)
            environ["CONTENT_LENGTH"] = str(len(raw))
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        body = b"".join(self.app(environ, capture))
        if captured["status"].startswith("200"):
            body = _cut_page(request, body)
        # The body may be rewritten: its length and checksum are moto's no longer.
        headers = [(k, v) for k, v in captured["headers"] if k.lower() not in ("content-length", "x-amz-crc32")]
        headers.append(("Content-Length", str(len(body))))
        start_response(captured["status"], headers)
        return [body]

    def _control(self, path, environ, start_response):
        if path == "/herald-limits/stats":
            query = dict(p.split("=", 1) for p in environ.get("QUERY_STRING", "").split("&") if "=" in p)
            with _lock:
                if "table" in query:
                    return _json(start_response, dict(_by_table.get(query["table"], {})))
                return _json(start_response, dict(_stats))
        if path == "/herald-limits/faults":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            table = request["table"]
            with _lock:
                if request.get("throttle") or request.get("cancel"):
                    request["random"] = random.Random(request.get("seed", 1))
                    _faults[table] = request
                else:
                    _faults.pop(table, None)
            return _json(start_response, {"table": table})
        start_response("404 Not Found", [("Content-Length", "0")])
        return [b""]
