"""The REST query resource: run SOQL, shape records as Salesforce does, page with query locators."""

from __future__ import annotations

import secrets
from typing import Any

from sandbox.salesforce import access, soql
from sandbox.salesforce.errors import SfError
from sandbox.salesforce.org import Org
from sandbox.salesforce.schema import SObject, sobject
from sandbox.salesforce.store import Record


def attributes(version: str, spec_name: str, record_id: str | None) -> dict[str, str]:
    if record_id is None:  # OauthToken: no usable Id, so no record URL
        return {"type": spec_name}
    return {"type": spec_name, "url": f"/services/data/{version}/sobjects/{spec_name}/{record_id}"}


def shape(org: Org, version: str, spec: SObject, record: Record, paths: list[str]) -> Record:
    """A query record: attributes, then the selected fields; relationship fields nest as objects."""
    out: Record = {"attributes": attributes(version, spec.name, record["Id"])}
    for path in paths:
        head, _, tail = path.partition(".")
        if not tail:
            out[head] = record.get(head)
            continue
        rel = spec.relationships[head.lower()]
        related = org.store.get(rel.ref or "", record.get(rel.name))
        if related is None:
            out[head] = None
            continue
        nested = out.get(head)
        if not isinstance(nested, dict):
            nested = {"attributes": attributes(version, rel.ref or "", related["Id"])}
            out[head] = nested
        nested[tail] = related.get(tail)
    return out


def run_query(org: Org, version: str, text: str, user: Record | None = None) -> dict[str, Any]:
    """Run *text* as *user* (what they may see: ``access.visible``)."""
    query = soql.parse(text)
    with org.world.lock:
        source = access.visible(org, query.spec.name, [dict(r) for r in org.store.all(query.spec.name)], user)
        rows = soql.run(query, source, lambda name, rid: org.store.get(name, rid) if sobject(name) else None)
        if query.count:
            return {"totalSize": len(rows), "done": True, "records": []}
        shaped = [shape(org, version, query.spec, r, query.fields) for r in rows]
        return page(org, version, shaped, 0, len(shaped), None)


def page(org: Org, version: str, records: list[Record], start: int, total: int, locator: str | None) -> dict[str, Any]:
    size = org.query_batch_size
    batch = records[start : start + size]
    body: dict[str, Any] = {"totalSize": total, "done": start + size >= len(records), "records": batch}
    if not body["done"]:
        if locator is None:
            locator = "01gHn" + secrets.token_hex(5).upper()[:10] + "IAW"
            org.cursors[locator] = records
        body["nextRecordsUrl"] = f"/services/data/{version}/query/{locator}-{start + size}"
    return body


def more(org: Org, version: str, ident: str) -> dict[str, Any]:
    locator, _, offset = ident.rpartition("-")
    with org.world.lock:
        records = org.cursors.get(locator)
        if records is None or not offset.isdigit() or int(offset) >= len(records):
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        body = page(org, version, records, int(offset), len(records), locator)
        if body["done"]:
            org.cursors.pop(locator, None)
        return body
