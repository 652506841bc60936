"""describeGlobal and describe replies, built from the schema."""

from __future__ import annotations

from typing import Any

from sandbox.salesforce.ids import KEY_PREFIXES
from sandbox.salesforce.schema import OBJECTS, Field, SObject

_SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "int": "xsd:int",
    "datetime": "xsd:dateTime",
}


def _urls(version: str, spec: SObject) -> dict[str, str]:
    base = f"/services/data/{version}/sobjects/{spec.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _summary(version: str, spec: SObject) -> dict[str, Any]:
    return {
        "name": spec.name,
        "label": spec.label,
        "labelPlural": spec.label_plural or spec.label + "s",
        "keyPrefix": KEY_PREFIXES.get(spec.name),
        "custom": False,
        "createable": spec.createable,
        "updateable": spec.updateable,
        "deletable": spec.deletable,
        "queryable": True,
        "retrieveable": True,
        "searchable": False,
        "layoutable": spec.name == "User",
        "urls": _urls(version, spec),
    }


def describe_global(version: str) -> dict[str, Any]:
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [_summary(version, s) for s in OBJECTS.values()]}


def _field(fld: Field) -> dict[str, Any]:
    return {
        "name": fld.name,
        "label": fld.name,
        "type": fld.type,
        "length": fld.length if fld.type != "boolean" else 0,
        "createable": fld.create,
        "updateable": fld.update,
        "nillable": not fld.required and fld.type != "boolean",
        "defaultedOnCreate": fld.type == "boolean" or fld.name in ("Id", "CreatedDate", "LastModifiedDate"),
        "filterable": True,
        "sortable": True,
        "unique": fld.name == "Username",
        "idLookup": fld.name in ("Id", "Username"),
        "referenceTo": [fld.ref] if fld.ref else [],
        "relationshipName": fld.rel,
        "soapType": _SOAP_TYPES.get(fld.type, "xsd:string"),
        "custom": False,
        "calculated": False,
        "picklistValues": [],
    }


def describe(version: str, spec: SObject) -> dict[str, Any]:
    return {
        **_summary(version, spec),
        "fields": [_field(f) for f in spec.fields],
        "childRelationships": [],
        "recordTypeInfos": [],
    }


def basic(version: str, spec: SObject) -> dict[str, Any]:
    return {"objectDescribe": _summary(version, spec), "recentItems": []}
