"""A one-line JSON log formatter (LOG_FORMAT=json), so log shippers need no parsing rules."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        # Structured fields passed with `extra=` land on the record as attributes.
        payload.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and k != "message"})
        if record.exc_info:
            payload["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)
