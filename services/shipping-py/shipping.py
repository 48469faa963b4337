"""The shipping participant in Python: the same service as services/shipping/index.ts, on the wire.

It speaks jetsaga's protocol with nothing but NATS JetStream and MongoDB:

- commands arrive on the durable pull consumer `svc-shipping` (stream `<NS>_SAGA_CMD`, filter
  `<ns>.cmd.shipping.>`), explicit ack, no server-side max_deliver (attempts are counted here);
- each command is answered once: its reply is kept in the shipment itself, under
  `replies.<key>` (the command id, `%`, `.` and `$` percent-encoded: `reply_key`, the runtime's
  `replyKey`), as `{type, data, sagaId, at}`, written by the very insert or upsert that takes
  effect; a reply with no shipment to keep it in (AQ) is recorded in `shipping_processed` under
  the command id (the envelope `id`, the unique `_id` decides). Either way it is published on
  `<ns>.evt.shipping.<event>` with `Nats-Msg-Id: <commandId>:reply` and the envelope headers; a
  duplicate or a redelivery publishes the kept or recorded reply again, never a new one;
- a message it cannot take (bad JSON, bad envelope, unknown command, invalid data) is dead-lettered
  on `<ns>.dlq.svc-shipping` (the TS runtime's DeadLetterSchema, `Nats-Msg-Id:
  <stream>-<seq>:svc-shipping`) and only then terminated;
- a failure that may pass (MongoDB or NATS unavailable) is nak-ed with backoff, and dead-lettered as
  `exhausted` once JETSAGA_MAX_DELIVER attempts ran out;
- `shipping_processed` records are purged once older than JETSAGA_INBOX_RETENTION_MS and their saga
  no longer runs, in rounds of JETSAGA_PURGE_BATCH every JETSAGA_PURGE_INTERVAL_MS.

Configuration (the runtime's variables): NATS_URL, MONGO_URL, JETSAGA_MONGO_DB, JETSAGA_NAMESPACE,
JETSAGA_ACK_WAIT_MS, JETSAGA_MAX_DELIVER, JETSAGA_RETRY_BASE_MS, JETSAGA_RETRY_MAX_MS,
JETSAGA_MAX_ACK_PENDING, JETSAGA_MAX_IN_FLIGHT, JETSAGA_STREAM_MAX_AGE_MS, JETSAGA_DLQ_MAX_AGE_MS,
JETSAGA_INBOX_RETENTION_MS, JETSAGA_PURGE_INTERVAL_MS, JETSAGA_PURGE_BATCH, LOG_LEVEL. SIGTERM/SIGINT stop it gracefully: no new
fetches, in-flight commands finish, the connections drain.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import os
import random
import re
import signal
import sys
from dataclasses import dataclass
from typing import Any, Optional

import nats
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

SERVICE = "shipping"
# runtime/store/saga-doc.ts `terminalStatuses`: a saga in one of them runs no more.
TERMINAL_STATUSES = ("completed", "compensated", "failed", "cancelled")
DURABLE = f"svc-{SERVICE}"
UNSERVED_COUNTRIES = {"AQ"}

# ---------------------------------------------------------------------------------------------
# Logging: one JSON line per event on stderr, pino's level numbers.

_LEVELS = {"trace": 10, "debug": 20, "info": 30, "warn": 40, "error": 50, "fatal": 60, "silent": 100}
_log_level = _LEVELS.get(os.environ.get("LOG_LEVEL", "info"), 30)


def log(level: str, msg: str, **fields: Any) -> None:
    if _LEVELS[level] < _log_level:
        return
    line = {"level": _LEVELS[level], "time": now_iso(), "service": SERVICE, **fields, "msg": msg}
    sys.stderr.write(json.dumps(line, default=str) + "\n")
    sys.stderr.flush()


def now_iso() -> str:
    """`new Date().toISOString()`: UTC, milliseconds, `Z`."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------
# Configuration and topology (runtime/messaging/topology.ts).


@dataclass(frozen=True)
class Config:
    nats_url: str
    mongo_url: str
    mongo_db: str
    namespace: str
    ack_wait_ms: int
    max_deliver: int
    retry_base_ms: int
    retry_max_ms: int
    max_ack_pending: int
    max_in_flight: int
    # How long `shipping_processed` records are kept once their saga no longer runs; 0: for ever.
    inbox_retention_ms: int
    purge_interval_ms: int
    purge_batch: int

    @staticmethod
    def from_env(env: dict[str, str]) -> "Config":
        def num(name: str, default: int, minimum: int = 1) -> int:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            value = int(raw)
            if value < minimum:
                raise ValueError(f"{name} must be at least {minimum}")
            return value

        namespace = env.get("JETSAGA_NAMESPACE", "")
        if not re.fullmatch(r"[a-z0-9_-]*", namespace):
            raise ValueError("JETSAGA_NAMESPACE: use lowercase letters, digits, - or _")
        mongo_db = env.get("JETSAGA_MONGO_DB", "jetsaga")
        if not re.fullmatch(r"[A-Za-z0-9_-]+", mongo_db):
            raise ValueError("JETSAGA_MONGO_DB: letters, digits, - or _")
        # As runtime/config.ts: a record may be asked for again until the command it answers has
        # left the stream and the dead-letter stream, so none is purged sooner (0 keeps them all).
        floor = num("JETSAGA_STREAM_MAX_AGE_MS", 7 * 24 * 3600_000) + num("JETSAGA_DLQ_MAX_AGE_MS", 30 * 24 * 3600_000)
        inbox_retention = num("JETSAGA_INBOX_RETENTION_MS", floor, 0)
        if 0 < inbox_retention < floor:
            raise ValueError(
                f"JETSAGA_INBOX_RETENTION_MS must be 0 (keep for ever) or at least {floor} "
                "(JETSAGA_STREAM_MAX_AGE_MS + JETSAGA_DLQ_MAX_AGE_MS): a command can be redelivered "
                "or replayed from the dead letters until then, and its record answers it"
            )
        return Config(
            nats_url=env.get("NATS_URL", "nats://127.0.0.1:4222"),
            mongo_url=env.get("MONGO_URL", "mongodb://127.0.0.1:27017"),
            mongo_db=mongo_db,
            namespace=namespace,
            ack_wait_ms=num("JETSAGA_ACK_WAIT_MS", 30_000),
            max_deliver=num("JETSAGA_MAX_DELIVER", 20, 2),
            retry_base_ms=num("JETSAGA_RETRY_BASE_MS", 200),
            retry_max_ms=num("JETSAGA_RETRY_MAX_MS", 15_000),
            max_ack_pending=num("JETSAGA_MAX_ACK_PENDING", 2048),
            max_in_flight=num("JETSAGA_MAX_IN_FLIGHT", 64),
            inbox_retention_ms=inbox_retention,
            purge_interval_ms=num("JETSAGA_PURGE_INTERVAL_MS", 60_000),
            purge_batch=num("JETSAGA_PURGE_BATCH", 500),
        )


class Topology:
    def __init__(self, namespace: str) -> None:
        self.prefix = f"{namespace}." if namespace else ""
        s = f"{namespace.upper().replace('-', '_')}_" if namespace else ""
        self.cmd_stream = f"{s}SAGA_CMD"
        self.evt_stream = f"{s}SAGA_EVT"
        self.dlq_stream = f"{s}SAGA_DLQ"

    def evt_subject(self, type_: str) -> str:
        return f"{self.prefix}evt.{type_}"

    def dlq_subject(self, consumer: str) -> str:
        return f"{self.prefix}dlq.{consumer}"

    def cmd_filter(self, service: str) -> str:
        return f"{self.prefix}cmd.{service}.>"

    def local(self, subject: str) -> str:
        return subject[len(self.prefix):] if self.prefix and subject.startswith(self.prefix) else subject


# ---------------------------------------------------------------------------------------------
# Errors: what the TS runtime's `classify` tells apart.


class ValidationError(Exception):
    """Terminal: the message can never be handled (dead letter at once)."""

    kind = "validation"


# ---------------------------------------------------------------------------------------------
# The envelope (runtime/wire/envelope.ts), checked as EnvelopeSchema checks it.

_ID = re.compile(r"[A-Za-z0-9_:-]{1,200}")
_DOTTED = re.compile(r"[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+")
# zod's `z.iso.datetime()`: UTC (`Z`), optional fraction, no offset.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z")

HEADERS = {
    "msg_id": "Nats-Msg-Id",
    "saga_id": "saga-id",
    "saga_type": "saga-type",
    "message_type": "message-type",
    "schema_version": "schema-version",
    "correlation_id": "correlation-id",
    "causation_id": "causation-id",
    "traceparent": "traceparent",
}


def _is_int(v: Any) -> bool:
    """A JSON number that is an integer (2 and 2.0 alike, as in JavaScript); never a boolean."""
    if isinstance(v, bool):
        return False
    return isinstance(v, int) or (isinstance(v, float) and v.is_integer())


def _js_len(s: str) -> int:
    """A string's `.length` in JavaScript: UTF-16 code units."""
    return len(s.encode("utf-16-le")) // 2


def check_envelope(raw: Any) -> dict[str, Any]:
    issues: list[str] = []

    def bad(field: str, message: str) -> None:
        issues.append(f"{field}: {message}")

    if not isinstance(raw, dict):
        raise ValidationError("(root): expected object")
    for field, pattern, message in (
        ("id", _ID, "letters, digits, _ : - only, at most 200"),
        ("type", _DOTTED, "dotted lowercase, e.g. inventory.reserve"),
        ("sagaId", _ID, "invalid string"),
    ):
        v = raw.get(field)
        if not isinstance(v, str):
            bad(field, "expected string")
        elif not pattern.fullmatch(v):
            bad(field, message)
    sv = raw.get("schemaVersion")
    if not _is_int(sv) or sv <= 0:
        bad("schemaVersion", "expected a positive integer")
    oa = raw.get("occurredAt")
    if not isinstance(oa, str) or not _ISO.fullmatch(oa):
        bad("occurredAt", "invalid ISO datetime")
    st = raw.get("sagaType")
    if not isinstance(st, str) or _js_len(st) < 1:
        bad("sagaType", "expected a non-empty string")
    cid = raw.get("correlationId")
    if not isinstance(cid, str) or not 1 <= _js_len(cid) <= 200:
        bad("correlationId", "expected a string of 1 to 200 characters")
    if "causationId" not in raw:
        bad("causationId", "expected string or null")
    else:
        cause = raw["causationId"]
        if cause is not None and (not isinstance(cause, str) or _js_len(cause) > 400):
            bad("causationId", "expected string (at most 400) or null")
    if "traceparent" in raw and raw["traceparent"] is not None and not isinstance(raw["traceparent"], str):
        bad("traceparent", "expected string")
    if not isinstance(raw.get("data"), dict):
        bad("data", "expected record")
    if issues:
        raise ValidationError("; ".join(issues))
    env = {
        "id": raw["id"],
        "type": raw["type"],
        "schemaVersion": int(sv),
        "occurredAt": oa,
        "sagaId": raw["sagaId"],
        "sagaType": st,
        "correlationId": cid,
        "causationId": raw["causationId"],
        "data": raw["data"],
    }
    if isinstance(raw.get("traceparent"), str):
        env["traceparent"] = raw["traceparent"]
    return env


def answer_envelope(
    cause: dict[str, Any], id_: str, type_: str, data: dict[str, Any], occurred_at: Optional[str] = None
) -> dict[str, Any]:
    """`answerEnvelope` of answer-inbox.ts: same saga, correlation and trace; caused by `cause`."""
    env = {
        "id": id_,
        "type": type_,
        "schemaVersion": 1,
        "occurredAt": occurred_at or now_iso(),
        "sagaId": cause["sagaId"],
        "sagaType": cause["sagaType"],
        "correlationId": cause["correlationId"],
        "causationId": cause["id"],
        "data": data,
    }
    if "traceparent" in cause:
        env["traceparent"] = cause["traceparent"]
    return env


def envelope_headers(env: dict[str, Any], msg_id: str) -> dict[str, str]:
    """`envelopeHeaders` of bus.ts, plus the message id."""
    h = {
        HEADERS["msg_id"]: msg_id,
        HEADERS["saga_id"]: env["sagaId"],
        HEADERS["saga_type"]: env["sagaType"],
        HEADERS["message_type"]: env["type"],
        HEADERS["schema_version"]: str(env["schemaVersion"]),
        HEADERS["correlation_id"]: env["correlationId"],
    }
    if env.get("causationId"):
        h[HEADERS["causation_id"]] = env["causationId"]
    if env.get("traceparent"):
        h[HEADERS["traceparent"]] = env["traceparent"]
    return h


# ---------------------------------------------------------------------------------------------
# The service: services/shipping/index.ts, the same documents and replies.

_ORDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _invalid(type_: str, issues: list[tuple[str, str]]) -> ValidationError:
    return ValidationError(
        f"{type_}: invalid data: " + "; ".join(f"{field or '(root)'}: {message}" for field, message in issues)
    )


def _check_order_id(data: dict[str, Any], issues: list[tuple[str, str]]) -> None:
    v = data.get("orderId")
    if not isinstance(v, str):
        issues.append(("orderId", "Invalid input: expected string"))
    elif not _ORDER_ID.fullmatch(v):
        issues.append(("orderId", "Invalid string: must match pattern /^[A-Za-z0-9_-]{1,64}$/"))


def parse_create(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    """CreateData: orderId, items [{sku, qty > 0 integer}], address {country: 2 letters, ...}."""
    issues: list[tuple[str, str]] = []
    _check_order_id(data, issues)
    items = data.get("items")
    clean_items: list[dict[str, Any]] = []
    if not isinstance(items, list):
        issues.append(("items", "Invalid input: expected array"))
    else:
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                issues.append((f"items.{i}", "Invalid input: expected object"))
                continue
            if not isinstance(item.get("sku"), str):
                issues.append((f"items.{i}.sku", "Invalid input: expected string"))
            qty = item.get("qty")
            if not _is_int(qty):
                issues.append((f"items.{i}.qty", "Invalid input: expected int"))
            elif qty <= 0:
                issues.append((f"items.{i}.qty", "Too small: expected number to be >0"))
            else:
                # z.object strips unknown keys: a shipment keeps sku and qty only.
                clean_items.append({"sku": item.get("sku"), "qty": int(qty)})
    address = data.get("address")
    if not isinstance(address, dict):
        issues.append(("address", "Invalid input: expected object"))
    else:
        country = address.get("country")
        if not isinstance(country, str):
            issues.append(("address.country", "Invalid input: expected string"))
        elif _js_len(country) != 2:
            issues.append(("address.country", "Too small: expected string to have 2 characters"))
    if issues:
        raise _invalid(type_, issues)
    return {"orderId": data["orderId"], "items": clean_items, "address": address}


def parse_by_order(type_: str, data: dict[str, Any]) -> dict[str, Any]:
    issues: list[tuple[str, str]] = []
    _check_order_id(data, issues)
    if issues:
        raise _invalid(type_, issues)
    return {"orderId": data["orderId"]}


def tracking(order_id: str) -> str:
    return "TRK" + hashlib.sha256(order_id.encode("utf-8")).hexdigest()[:12].upper()


def _now() -> dt.datetime:
    # BSON dates have millisecond precision, as JavaScript's.
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


# Replies kept in the shipment (participant.ts `replyKey`, `replyToStore`, `storedReply`).

_KEY_ESCAPES = {"%": "%25", ".": "%2E", "$": "%24"}


def reply_key(command_id: str) -> str:
    """The command id as a MongoDB field name: `%`, `.` and `$` percent-encoded, as `replyKey`."""
    return "".join(_KEY_ESCAPES.get(c, c) for c in command_id)


@dataclass(frozen=True)
class Ctx:
    command_id: str
    saga_id: str

    @property
    def reply_path(self) -> str:
        return f"replies.{reply_key(self.command_id)}"


def reply_to_store(reply: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    return {"type": reply["type"], "data": reply["data"], "sagaId": ctx.saga_id, "at": now_iso()}


def as_stored(value: dict[str, Any], read_back: bool = False) -> dict[str, Any]:
    """A kept reply as the handler's answer: `read_back` when an earlier run kept it (a replay)."""
    return {"type": value["type"], "data": value["data"], "stored": True, "at": value["at"], "readBack": read_back}


def stored_reply(doc: Optional[dict[str, Any]], ctx: Ctx) -> Optional[dict[str, Any]]:
    value = ((doc or {}).get("replies") or {}).get(reply_key(ctx.command_id))
    return as_stored(value, read_back=True) if value else None


def create_shipment(db: Any, d: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    order_id, country = d["orderId"], d["address"]["country"]
    if country in UNSERVED_COUNTRIES:
        # No shipment to keep it in: recorded by the host (decided by the command's data, every run).
        return {"type": "unavailable", "data": {"orderId": order_id, "reason": f"no carrier serves {country}"}}
    doc = {
        "_id": order_id,
        "status": "created",
        "trackingNumber": tracking(order_id),
        "country": country,
        "items": d["items"],
        "updatedAt": _now(),
    }
    value = reply_to_store(
        {"type": "shipment-created", "data": {"orderId": order_id, "trackingNumber": doc["trackingNumber"]}}, ctx
    )
    try:
        db.shipments.insert_one({**doc, "replies": {reply_key(ctx.command_id): value}})
        return as_stored(value)
    except DuplicateKeyError:
        pass
    # It exists already: created by an earlier run of this command (its reply), by another one, or
    # cancelled before it.
    s = db.shipments.find_one({"_id": order_id})
    mine = stored_reply(s, ctx)
    if mine is not None:
        return mine
    if s is not None and s.get("status") == "created":
        return {"type": "shipment-created", "data": {"orderId": order_id, "trackingNumber": s.get("trackingNumber")}}
    return {"type": "unavailable", "data": {"orderId": order_id, "reason": "shipment cancelled"}}


def cancel_shipment(db: Any, d: dict[str, Any], ctx: Ctx) -> dict[str, Any]:
    # Upsert: a cancel that overtakes its create leaves a tombstone the create respects. It carries the
    # reply, only where this command has none yet: a later run meets the shipment (a duplicate key)
    # and answers that reply.
    attempt = 0
    while True:
        attempt += 1
        value = reply_to_store({"type": "shipment-cancelled", "data": {"orderId": d["orderId"]}}, ctx)
        try:
            db.shipments.update_one(
                {"_id": d["orderId"], ctx.reply_path: {"$exists": False}},
                {
                    "$set": {"status": "cancelled", "updatedAt": _now(), ctx.reply_path: value},
                    "$setOnInsert": {"trackingNumber": None, "country": None, "items": []},
                },
                upsert=True,
            )
            return as_stored(value)
        except DuplicateKeyError:
            # This command's reply is there, or a create inserted the shipment meanwhile (the next
            # attempt updates it).
            if attempt >= 3:
                raise
            mine = stored_reply(db.shipments.find_one({"_id": d["orderId"]}), ctx)
            if mine is not None:
                return mine


COMMANDS = {
    "create-shipment": (parse_create, create_shipment),
    "cancel-shipment": (parse_by_order, cancel_shipment),
}


# ---------------------------------------------------------------------------------------------
# Dead letters (runtime/messaging/dead-letter.ts).

DEFAULT_MAX_PAYLOAD = 1024 * 1024
MAX_ERROR_CHARS = 4096


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def dead_letter_budget(max_payload: int, msg_id: str) -> int:
    header_bytes = len("NATS/1.0\r\n") + len(f"Nats-Msg-Id: {msg_id}\r\n") + 2
    return max_payload - header_bytes - 256


def build_dead_letter(
    *,
    consumer: str,
    stream: str,
    stream_seq: int,
    subject: str,
    headers: dict[str, str],
    data: bytes,
    reason: str,
    error: str,
    attempts: int,
    max_bytes: int,
) -> dict[str, Any]:
    try:
        text: Optional[str] = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    kept: dict[str, str] = {}
    headers_truncated = False
    header_budget = min(64 * 1024, max_bytes // 4)
    header_bytes = 2
    for key, value in headers.items():
        add = _json_bytes(key) + _json_bytes(value) + 2
        if header_bytes + add > header_budget:
            headers_truncated = True
            continue
        kept[key] = value
        header_bytes += add
    # JavaScript counts `.length` in UTF-16 units; close enough for a cap on an error message.
    if len(error) > MAX_ERROR_CHARS:
        error = error[:MAX_ERROR_CHARS] + "…"
    letter: dict[str, Any] = {
        "id": f"{stream}-{stream_seq}:{consumer}",
        "consumer": consumer,
        "stream": stream,
        "streamSeq": stream_seq,
        "subject": subject,
        "headers": kept,
        "payload": "",
        "reason": reason,
        "error": error,
        "attempts": attempts,
        "at": now_iso(),
        "payloadEncoding": "base64" if text is None else "utf8",
        "payloadBytes": len(data),
        "payloadSha256": hashlib.sha256(data).hexdigest(),
        "payloadTruncated": False,
    }
    if headers_truncated:
        letter["headersTruncated"] = True
    budget = max(0, max_bytes - _json_bytes(letter))
    if text is None:
        whole = -(-len(data) // 3) * 4
        if whole <= budget:
            letter["payload"] = base64.b64encode(data).decode("ascii")
        else:
            letter["payload"] = base64.b64encode(data[: budget // 4 * 3]).decode("ascii")
            letter["payloadTruncated"] = True
    else:
        escaped = lambda s: _json_bytes(s) - 2  # noqa: E731
        if escaped(text) <= budget:
            letter["payload"] = text
        else:
            # The longest prefix, cut between characters, whose escaped text fits.
            lo, hi = 0, min(len(text), budget)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if escaped(text[:mid]) <= budget:
                    lo = mid
                else:
                    hi = mid - 1
            letter["payload"] = text[:lo]
            letter["payloadTruncated"] = True
    if _json_bytes(letter) > max_bytes:
        letter.update(headers={}, headersTruncated=True, payload="", payloadTruncated=True)
        letter["error"] = letter["error"][:200]
    return letter


def backoff_ms(attempt: int, base_ms: int, max_ms: int) -> int:
    """Exponential backoff with full jitter, capped (consumer.ts `backoff`)."""
    ceiling = min(max_ms, base_ms * 2 ** min(attempt - 1, 20))
    return round(ceiling / 2 + random.random() * ceiling / 2)


# ---------------------------------------------------------------------------------------------
# The host: durable consumer, inbox, settlement.


class ShippingParticipant:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.topo = Topology(config.namespace)
        self.stopping = asyncio.Event()
        self.in_flight: set[asyncio.Task[None]] = set()
        self.slots = asyncio.Semaphore(config.max_in_flight)
        self.stats = {"handled": 0, "replayed": 0, "deadLettered": 0, "retried": 0, "redelivered": 0, "purged": 0}
        self.purger: Optional[asyncio.Task[None]] = None
        # Where the last full purge round stopped: the next one goes on from there.
        self.purge_after: Optional[dt.datetime] = None
        self.mongo = MongoClient(config.mongo_url, tz_aware=True)
        self.db = self.mongo[config.mongo_db]
        self.processed = self.db[f"{SERVICE}_processed"]

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.nc = await nats.connect(
            self.config.nats_url, name=f"jetsaga-py:{DURABLE}", max_reconnect_attempts=-1
        )
        self.js = self.nc.jetstream()
        await self._provision()
        self.sub = await self.js.pull_subscribe_bind(durable=DURABLE, stream=self.topo.cmd_stream)
        if self.config.inbox_retention_ms > 0:
            self.processed.create_index("at")
            self.purger = asyncio.create_task(self._purge_loop())
        log("info", "service started", consumer=DURABLE, stream=self.topo.cmd_stream,
            filter=self.topo.cmd_filter(SERVICE))

    async def _provision(self) -> None:
        """The durable as `provisionConsumer` makes it; the node's roles create the streams."""
        cfg = ConsumerConfig(
            durable_name=DURABLE,
            filter_subject=self.topo.cmd_filter(SERVICE),
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=self.config.ack_wait_ms / 1000,
            max_deliver=-1,
            max_ack_pending=self.config.max_ack_pending,
        )
        warned = False
        while not self.stopping.is_set():
            try:
                await self.js.stream_info(self.topo.cmd_stream)
                break
            except NotFoundError:
                if not warned:
                    log("warn", "command stream does not exist yet; waiting for it", stream=self.topo.cmd_stream)
                    warned = True
                await asyncio.sleep(0.5)
        try:
            await self.js.consumer_info(self.topo.cmd_stream, DURABLE)
        except NotFoundError:
            await self.js.add_consumer(self.topo.cmd_stream, cfg)
            return
        try:
            # Made before (by this service or the TS one): bring ack wait and limits up to date.
            await self.js.add_consumer(self.topo.cmd_stream, cfg)
        except Exception as err:  # noqa: BLE001 - an existing durable that the server will not update still works
            log("warn", "could not update the existing durable; using it as it is", err=repr(err))

    async def run(self) -> None:
        while not self.stopping.is_set():
            free = max(1, min(128, self.config.max_in_flight - len(self.in_flight)))
            try:
                msgs = await self.sub.fetch(batch=free, timeout=1)
            except NatsTimeoutError:
                continue
            except Exception as err:  # noqa: BLE001 - the loop never dies of a failed pull
                if self.stopping.is_set():
                    break
                log("warn", "fetch failed; retrying", err=repr(err))
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                if self.stopping.is_set():
                    # Not started: let the server redeliver it to whoever runs next.
                    await msg.nak()
                    continue
                await self.slots.acquire()
                task = asyncio.create_task(self._settle(msg))
                self.in_flight.add(task)
                task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.in_flight.discard(task)
        self.slots.release()

    async def stop(self, deadline_s: float = 10.0) -> None:
        self.stopping.set()
        if self.purger:
            self.purger.cancel()
            await asyncio.gather(self.purger, return_exceptions=True)
        if self.in_flight:
            await asyncio.wait(set(self.in_flight), timeout=deadline_s)
        # In-flight replies are published and acked by now: nothing left to drain but the pull
        # subscription, whose drain can wait on a pull the server never answers; bounded, then closed.
        try:
            await asyncio.wait_for(self.sub.unsubscribe(), 2)
        except Exception:  # noqa: BLE001
            pass
        try:
            await asyncio.wait_for(self.nc.flush(), 2)
        except Exception:  # noqa: BLE001
            pass
        await self.nc.close()
        self.mongo.close()
        log("info", "service stopped", **self.stats)

    # -- retention (runtime/participants/inbox-purge.ts) ---------------------------------------

    async def _purge_loop(self) -> None:
        """Rounds of `purge_round`: a full one is followed by the next at once, else by the interval."""
        while not self.stopping.is_set():
            full = False
            try:
                # pymongo blocks: off the event loop, so commands keep flowing during a round.
                deleted, full = await asyncio.to_thread(self.purge_round, _now())
                self.stats["purged"] += deleted
                if deleted:
                    log("info", "purged old records", collection=self.processed.name, deleted=deleted)
            except Exception as err:  # noqa: BLE001 - a failed round is tried again at the next interval
                log("warn", "purge round failed; trying again later", err=repr(err))
            if full:
                continue
            try:
                await asyncio.wait_for(self.stopping.wait(), self.config.purge_interval_ms / 1000)
            except asyncio.TimeoutError:
                pass

    def purge_round(self, now: dt.datetime) -> tuple[int, bool]:
        """
        Deletes up to `purge_batch` records older than the retention whose saga is no longer running
        (ended, or purged itself): nothing can ask for them again. Oldest first, from where the last
        full round stopped, so records of sagas still running are stepped over, not read again and
        again. Returns how many were deleted and whether the round was full.
        """
        before = now - dt.timedelta(milliseconds=self.config.inbox_retention_ms)
        at: dict[str, Any] = {"$lt": before}
        if self.purge_after is not None:
            at["$gt"] = self.purge_after
        old = list(
            self.processed.find({"at": at}, {"_id": 1, "at": 1, "reply.sagaId": 1})
            .sort("at", 1)
            .limit(self.config.purge_batch)
        )
        full = len(old) == self.config.purge_batch
        self.purge_after = old[-1]["at"] if full else None
        saga_of = {r["_id"]: str((r.get("reply") or {}).get("sagaId") or "") for r in old}
        saga_ids = sorted({s for s in saga_of.values() if s})
        running = {
            d["_id"]
            for d in self.db["sagas"].find(
                {"_id": {"$in": saga_ids}, "status": {"$nin": list(TERMINAL_STATUSES)}}, {"_id": 1}
            )
        } if saga_ids else set()
        ids = [rid for rid, saga in saga_of.items() if saga not in running]
        if not ids:
            return 0, full
        return self.processed.delete_many({"_id": {"$in": ids}, "at": {"$lt": before}}).deleted_count, full

    # -- one delivery -------------------------------------------------------------------------

    async def _settle(self, msg: Any) -> None:
        try:
            await self._settle_once(msg)
        except Exception as err:  # noqa: BLE001 - a settlement that failed is redelivered after ack_wait
            log("error", "settling a message failed", err=repr(err))

    async def _settle_once(self, msg: Any) -> None:
        meta = msg.metadata
        attempt = meta.num_delivered
        if attempt > 1:
            self.stats["redelivered"] += 1
        try:
            env = check_envelope(json.loads(msg.data))
        except (ValueError, ValidationError) as err:
            await self._dead_letter(msg, "validation", f"invalid envelope: {err}")
            return
        if attempt > self.config.max_deliver:
            await self._dead_letter(
                msg,
                "exhausted",
                f"delivered {attempt} times without being settled (more than maxDeliver {self.config.max_deliver})",
            )
            return
        try:
            await self._answer(env, attempt)
            await msg.ack()
        except ValidationError as err:
            await self._dead_letter(msg, "validation", str(err))
        except Exception as err:  # noqa: BLE001 - anything else may pass: retry with backoff
            if attempt >= self.config.max_deliver:
                await self._dead_letter(msg, "exhausted", f"gave up after {attempt} attempts: {err}")
                return
            delay = backoff_ms(attempt, self.config.retry_base_ms, self.config.retry_max_ms)
            log("debug", "retrying", err=repr(err), attempt=attempt, delay=delay, msgId=env["id"])
            self.stats["retried"] += 1
            await msg.nak(delay=delay / 1000)

    async def _answer(self, env: dict[str, Any], attempt: int) -> None:
        """AnswerInbox.record + publish: the reply recorded (or kept in the shipment) first is THE reply."""
        service, _, name = env["type"].partition(".")
        handler = COMMANDS.get(name) if service == SERVICE else None
        if handler is None:
            raise ValidationError(
                f'service {SERVICE} has no command "{env["type"]}"; known: {", ".join(COMMANDS)}'
            )
        command_id = env["id"]
        if attempt > 1:
            seen = await asyncio.to_thread(self.processed.find_one, {"_id": command_id})
            if seen is not None:
                await self._replay(seen)
                return
        parse, effect = handler
        try:
            d = parse(env["type"], env["data"])
            reply = await asyncio.to_thread(effect, self.db, d, Ctx(command_id, env["sagaId"]))
        except Exception:
            # A duplicate whose re-run fails still has its answer; anything else fails as it did.
            seen = await asyncio.to_thread(self.processed.find_one, {"_id": command_id})
            if seen is None:
                raise
            await self._replay(seen)
            return
        reply_env = answer_envelope(
            env,
            f"{command_id}:reply",
            f"{SERVICE}.{reply['type']}",
            reply["data"],
            reply.get("at") if reply.get("stored") else None,
        )
        if reply.get("stored"):
            # Kept in the shipment with its effect: nothing to record, published as it is (again,
            # when an earlier run kept it).
            await self._publish(reply_env)
            self.stats["replayed" if reply.get("readBack") else "handled"] += 1
            return
        record = {"_id": command_id, "reply": reply_env, "at": _now()}
        try:
            await asyncio.to_thread(self.processed.insert_one, record)
        except DuplicateKeyError:
            seen = await asyncio.to_thread(self.processed.find_one, {"_id": command_id})
            if seen is None:
                raise RuntimeError(f"inbox record {command_id}: duplicate key, but no record found")
            await self._replay(seen)
            return
        await self._publish(reply_env)
        self.stats["handled"] += 1

    async def _replay(self, seen: dict[str, Any]) -> None:
        self.stats["replayed"] += 1
        await self._publish(seen["reply"])

    async def _publish(self, env: dict[str, Any]) -> None:
        payload = json.dumps(env, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        await self.js.publish(self.topo.evt_subject(env["type"]), payload, headers=envelope_headers(env, env["id"]))

    async def _dead_letter(self, msg: Any, reason: str, error: str) -> None:
        """Keeps the original, then terms it, only once the DLQ stream acked the dead letter."""
        meta = msg.metadata
        stream, seq, attempt = meta.stream, meta.sequence.stream, meta.num_delivered
        letter_id = f"{stream}-{seq}:{DURABLE}"
        try:
            max_payload = getattr(self.nc, "max_payload", None) or DEFAULT_MAX_PAYLOAD
            letter = build_dead_letter(
                consumer=DURABLE,
                stream=stream,
                stream_seq=seq,
                subject=self.topo.local(msg.subject),
                headers={k: (v if isinstance(v, str) else str(v)) for k, v in (msg.headers or {}).items()},
                data=bytes(msg.data),
                reason=reason,
                error=error,
                attempts=attempt,
                max_bytes=dead_letter_budget(max_payload, letter_id),
            )
            await self.js.publish(
                self.topo.dlq_subject(DURABLE),
                json.dumps(letter, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                headers={HEADERS["msg_id"]: letter_id},
            )
            await msg.term()
            self.stats["deadLettered"] += 1
            log("warn", "dead-lettered", dlq=letter_id, reason=reason, error=letter["error"],
                subject=letter["subject"], streamSeq=seq)
        except Exception as err:  # noqa: BLE001 - the message stays unacked; its dead letter is retried
            delay = backoff_ms(attempt, self.config.retry_base_ms, self.config.retry_max_ms)
            log("error", "dead letter publish failed; retrying", err=repr(err), streamSeq=seq, retryInMs=delay)
            await msg.nak(delay=delay / 1000)


async def main() -> int:
    try:
        config = Config.from_env(dict(os.environ))
    except ValueError as err:
        log("fatal", f"invalid configuration: {err}")
        return 2
    participant = ShippingParticipant(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, participant.stopping.set)
    await participant.start()
    runner = asyncio.create_task(participant.run())
    await participant.stopping.wait()
    log("info", "stopping")
    # The loop notices within one fetch (1 s); a fetch stuck longer is cancelled.
    try:
        await asyncio.wait_for(runner, 5)
    except (asyncio.TimeoutError, asyncio.CancelledError):
        pass
    await participant.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
