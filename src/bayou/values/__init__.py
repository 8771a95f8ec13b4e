"""Convex values in Python: the representation, JSON encodings, sort keys, ids, limits and
validators everything else in Bayou stands on.

    model       Int64, UNDEFINED, COMMIT_TS, Value, type_name, to_value
    json        to_json / from_json, dumps / loads, clean and export formats
    sort_key    the byte encoding of Convex's total order (index keys)
    ids         document ids (encode_id, decode_id, new_internal_id)
    limits      value_size, check_value, check_document, check_identifier
    validators  Validator and the args / returns / document-type helpers
    display     values as Convex's messages print them
"""

from bayou.values.ids import decode_id, encode_id, is_valid_id, new_internal_id
from bayou.values.json import dumps, from_json, loads, to_json
from bayou.values.limits import check_document, check_identifier, check_value, value_size
from bayou.values.model import (
    COMMIT_TS,
    INT64_MAX,
    INT64_MIN,
    UNDEFINED,
    CommitTsPlaceholder,
    Int64,
    Undefined,
    Value,
    to_value,
    type_name,
)
from bayou.values.sort_key import compare
from bayou.values.validators import (
    ObjectValidator,
    Validator,
    args_validator_from_json,
    check_args,
    check_returns,
    document_validator_from_json,
    returns_validator_from_json,
)

__all__ = [
    "COMMIT_TS",
    "INT64_MAX",
    "INT64_MIN",
    "UNDEFINED",
    "CommitTsPlaceholder",
    "Int64",
    "ObjectValidator",
    "Undefined",
    "Validator",
    "Value",
    "args_validator_from_json",
    "check_args",
    "check_document",
    "check_identifier",
    "check_returns",
    "check_value",
    "compare",
    "decode_id",
    "document_validator_from_json",
    "dumps",
    "encode_id",
    "from_json",
    "is_valid_id",
    "loads",
    "new_internal_id",
    "returns_validator_from_json",
    "to_json",
    "to_value",
    "type_name",
    "value_size",
]
