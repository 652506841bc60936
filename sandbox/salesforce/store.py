"""Records of every object, keyed by Id, and the field checks every insert and update go through."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sandbox.salesforce.errors import SfError, not_found
from sandbox.salesforce.ids import IdFactory, normalize
from sandbox.salesforce.schema import OBJECTS, Field, SObject, sobject

Record = dict[str, Any]
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def now_iso() -> str:
    """Salesforce's datetime format: ``2024-05-01T12:00:00.000+0000``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def spec_of(name: str) -> SObject:
    spec = sobject(name)
    if spec is None:
        raise not_found()
    return spec


class Store:
    """Tables of records; each record holds every field of its object (absent values are ``None``)."""

    def __init__(self, ids: IdFactory) -> None:
        self.ids = ids
        self.tables: dict[str, dict[str, Record]] = {o.name: {} for o in OBJECTS.values()}

    # -- reading --------------------------------------------------------------------------
    def all(self, name: str) -> list[Record]:
        return list(self.tables[spec_of(name).name].values())

    def get(self, name: str, record_id: str | None) -> Record | None:
        if not record_id:
            return None
        full = normalize(record_id)
        return self.tables[spec_of(name).name].get(full) if full else None

    def require(self, name: str, record_id: str) -> Record:
        record = self.get(name, record_id)
        if record is None:
            raise not_found()
        return record

    def find(self, name: str, **values: Any) -> list[Record]:
        return [r for r in self.all(name) if all(r.get(k) == v for k, v in values.items())]

    def first(self, name: str, **values: Any) -> Record | None:
        found = self.find(name, **values)
        return found[0] if found else None

    # -- writing (no business rules here; see rules.py) -----------------------------------
    def put(self, name: str, values: Record) -> Record:
        """Store a record as is (seeding and internal rows), filling Id and audit fields."""
        spec = spec_of(name)
        record: Record = {f.name: None for f in spec.fields}
        record.update(values)
        record["Id"] = record.get("Id") or self.ids.new(spec.name)
        stamp = now_iso()
        for audit in ("CreatedDate", "LastModifiedDate"):
            if audit in record and record[audit] is None:
                record[audit] = stamp
        self.tables[spec.name][record["Id"]] = record
        return record

    def remove(self, name: str, record_id: str) -> None:
        self.tables[spec_of(name).name].pop(record_id, None)

    def clean(self, spec: SObject, values: Any, *, creating: bool) -> Record:
        """Check a REST body against the object's fields; returns it with canonical field names."""
        if not isinstance(values, dict):
            raise SfError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object of field values")
        out: Record = {}
        for key, value in values.items():
            if key == "attributes":
                continue
            fld = spec.field(str(key))
            if fld is None:
                raise SfError(400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {spec.name}")
            if not (fld.create if creating else fld.update):
                raise SfError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {fld.name}. Please check the security settings of "
                    f"this field and verify that it is read/write for your profile or permission set.",
                    [fld.name],
                )
            out[fld.name] = self._coerce(spec, fld, value)
        if creating:
            missing = [f.name for f in spec.fields if f.required and out.get(f.name) in (None, "")]
            if missing:
                raise SfError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing
                )
        else:
            blanked = [f.name for f in spec.fields if f.required and f.name in out and out[f.name] in (None, "")]
            if blanked:
                raise SfError(
                    400, "REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(blanked)}]", blanked
                )
        return out

    def _coerce(self, spec: SObject, fld: Field, value: Any) -> Any:
        if value is None:
            return None
        if fld.type == "boolean":
            if not isinstance(value, bool):
                raise SfError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of boolean from {type(value).__name__} value {value!r} "
                    f"at [line:1, column:1]",
                    [fld.name],
                )
            return value
        if fld.type == "int":
            if isinstance(value, bool) or not isinstance(value, int):
                raise SfError(400, "JSON_PARSER_ERROR", f"Cannot deserialize instance of int from {value!r}")
            return value
        if not isinstance(value, str):
            raise SfError(
                400,
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {fld.type} from {type(value).__name__} value {value!r}",
                [fld.name],
            )
        if fld.type == "reference":
            return self._reference(fld, value)
        if len(value) > fld.length:
            raise SfError(
                400,
                "STRING_TOO_LONG",
                f"{fld.name}: data value too large: {value} (max length={fld.length})",
                [fld.name],
            )
        if fld.type == "email" and not _EMAIL_RE.match(value):
            raise SfError(400, "INVALID_EMAIL_ADDRESS", f"{fld.name}: invalid email address: {value}", [fld.name])
        return value

    def _reference(self, fld: Field, value: str) -> str | None:
        if value == "":
            return None
        full = normalize(value)
        if full is None:
            raise SfError(400, "MALFORMED_ID", f"{fld.name}: id value of incorrect type: {value}", [fld.name])
        if fld.ref and self.get(fld.ref, full) is None:
            raise SfError(400, "INVALID_CROSS_REFERENCE_KEY", f"{fld.name}: invalid cross reference id", [fld.name])
        return full
