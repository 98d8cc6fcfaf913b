"""The protobuf form of `/openapi/v2` (`application/com.github.proto-openapi.spec.v2[@.]v1.0+protobuf`).

client-go's `DiscoveryClient.OpenAPISchema()` (helm's client-side validation) asks for this form only: a gnostic
`openapi.v2.Document` message. The messages come from gnostic's published `OpenAPIv2.proto` (Apache-2.0, vendored
verbatim in `third_party/gnostic/`), compiled once per process with grpcio-tools' protoc into descriptors, from
which protobuf's message factory builds the classes: nothing here encodes a field by hand.

`document_message` maps the JSON document onto the messages the way gnostic's own reader does
(`openapi_v2.NewDocument`): camelCase keys to snake_case fields, `$ref` to `_ref`, `x-*` keys to
`vendor_extension` entries whose value carries the YAML text (kube-openapi reads
`x-kubernetes-group-version-kind` from that YAML), JSON maps to repeated `Named*` pairs, and gnostic's `oneof`
wrappers (a parameter's kind by its `in`, a `$ref` or a value, a schema or `true`) chosen from the JSON's shape.
A key the messages have no field for is an error: the JSON is then not Swagger 2.0, and the bug is ours.
"""

from __future__ import annotations

import re
import tempfile
from functools import cache
from importlib import resources as importlib_resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

# protobuf is imported with the first /openapi/v2 protobuf request (_classes), not with the apiserver (~2.4 MiB of
# its memory, bench/idle_memory.py).
if TYPE_CHECKING:
    from google.protobuf.descriptor import FieldDescriptor
    from google.protobuf.message import Message

# client-go asks for the `@` form; kube-openapi accepts both and answers with the `.` one, as Go's mime parser
# refuses an `@` in a Content-Type (kubectl explain --output=plaintext-openapiv2 fails on it).
MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
ASKED_MEDIA_TYPE = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
PROTO_FILE = Path(__file__).parent / "third_party" / "gnostic" / "OpenAPIv2.proto"
PACKAGE = "openapi.v2"


class NotSwagger(ValueError):
    """The JSON has a key or a shape that Swagger 2.0 (gnostic's messages) does not."""


@cache
def _classes() -> dict[str, type[Message]]:
    """The message classes of gnostic's OpenAPIv2.proto by full name (`openapi.v2.Document`)."""
    from google.protobuf import descriptor_pb2, message_factory
    from grpc_tools import protoc  # imported on first use: only a /openapi/v2 protobuf request needs it

    well_known = importlib_resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "openapiv2.desc"
        args = [
            "protoc",
            f"--proto_path={PROTO_FILE.parent}",
            f"--proto_path={well_known}",
            "--include_imports",
            f"--descriptor_set_out={out}",
            PROTO_FILE.name,
        ]
        if protoc.main(args) != 0:
            raise RuntimeError(f"protoc could not compile {PROTO_FILE}")
        files = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return message_factory.GetMessages(list(files.file))


def message_class(name: str) -> type[Message]:
    return _classes()[f"{PACKAGE}.{name}"]


def document_message(document: dict[str, Any]) -> Message:
    """The gnostic `Document` of a Swagger 2.0 JSON document; NotSwagger for what Swagger 2.0 cannot hold."""
    message = message_class("Document")()
    _fill(message, document, "#")
    return message


def encode(document: dict[str, Any]) -> bytes:
    return document_message(document).SerializeToString(deterministic=True)


def _snake(key: str) -> str:
    return "_ref" if key == "$ref" else re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _fill(message: Message, value: Any, where: str) -> None:
    """Set `message` from the JSON `value` (the reader of gnostic's generated `New<Message>` functions)."""
    name = message.DESCRIPTOR.name
    special = _SHAPES.get(name)
    if special is not None:
        special(message, value, where)
        return
    if not isinstance(value, dict):
        raise NotSwagger(f"{where}: a {name} must be an object")
    fields = message.DESCRIPTOR.fields_by_name
    named_map = fields.get("additional_properties")
    if named_map is not None and len(fields) == 1:  # Definitions, Properties, Headers ...: a JSON map
        for key, item in value.items():
            _named(message.additional_properties.add(), key, item, f"{where}/{key}")  # type: ignore[attr-defined]
        return
    for key, item in value.items():
        if key.startswith("x-") and "vendor_extension" in fields:
            _named(message.vendor_extension.add(), key, item, f"{where}/{key}")  # type: ignore[attr-defined]
        elif name == "Paths" and key.startswith("/"):
            _named(message.path.add(), key, item, f"{where}/{key}")  # type: ignore[attr-defined]
        elif name == "Responses":
            _named(message.response_code.add(), key, item, f"{where}/{key}")  # type: ignore[attr-defined]
        else:
            field = fields.get(_snake(key))
            if field is None:
                raise NotSwagger(f"{where}: {name} has no field {key!r}")
            _set(message, field, item, f"{where}/{key}")


def _named(pair: Message, key: str, item: Any, where: str) -> None:
    pair.name = key  # type: ignore[attr-defined]
    value_field = pair.DESCRIPTOR.fields_by_name["value"]
    if value_field.type == value_field.TYPE_STRING:
        pair.value = item  # type: ignore[attr-defined]
    else:
        _fill(pair.value, item, where)  # type: ignore[attr-defined]


def _set(message: Message, field: FieldDescriptor, item: Any, where: str) -> None:
    repeated = field.is_repeated
    if field.type != field.TYPE_MESSAGE:
        if repeated:
            getattr(message, field.name).extend(item)
        else:
            setattr(message, field.name, item)
        return
    if repeated:
        if not isinstance(item, list):
            raise NotSwagger(f"{where}: must be an array")
        for index, element in enumerate(item):
            _fill(getattr(message, field.name).add(), element, f"{where}/{index}")
    else:
        _fill(getattr(message, field.name), item, where)


def _any(message: Message, value: Any, _where: str) -> None:
    """gnostic's `Any`: the value as YAML text (what kube-openapi and gnostic read back)."""
    message.yaml = yaml.safe_dump(value, default_flow_style=False, sort_keys=False)  # type: ignore[attr-defined]


def _type_item(message: Message, value: Any, _where: str) -> None:
    message.value.extend([value] if isinstance(value, str) else value)  # type: ignore[attr-defined]


def _items_item(message: Message, value: Any, where: str) -> None:
    for index, schema in enumerate(value if isinstance(value, list) else [value]):
        _fill(message.schema.add(), schema, f"{where}/{index}")  # type: ignore[attr-defined]


def _additional_properties(message: Message, value: Any, where: str) -> None:
    if isinstance(value, bool):
        message.boolean = value  # type: ignore[attr-defined]
    else:
        _fill(message.schema, value, where)  # type: ignore[attr-defined]


def _ref_or(field: str) -> Any:
    def choose(message: Message, value: Any, where: str) -> None:
        if isinstance(value, dict) and "$ref" in value:
            _fill(message.json_reference, value, where)  # type: ignore[attr-defined]
        else:
            _fill(getattr(message, field), value, where)

    return choose


def _parameter(message: Message, value: Any, where: str) -> None:
    if isinstance(value, dict) and value.get("in") == "body":
        _fill(message.body_parameter, value, where)  # type: ignore[attr-defined]
    else:
        _fill(message.non_body_parameter, value, where)  # type: ignore[attr-defined]


_NON_BODY = {
    "header": "header_parameter_sub_schema",
    "formData": "form_data_parameter_sub_schema",
    "query": "query_parameter_sub_schema",
    "path": "path_parameter_sub_schema",
}


def _non_body(message: Message, value: Any, where: str) -> None:
    field = _NON_BODY.get(value.get("in") if isinstance(value, dict) else None)  # type: ignore[arg-type]
    if field is None:
        raise NotSwagger(f"{where}: a parameter's `in` must be body, {', '.join(_NON_BODY)}")
    _fill(getattr(message, field), value, where)


def _schema_item(message: Message, value: Any, where: str) -> None:
    kind = "file_schema" if isinstance(value, dict) and value.get("type") == "file" else "schema"
    _fill(getattr(message, kind), value, where)


def _security_item(message: Message, value: Any, where: str) -> None:
    kinds = {"apiKey": "api_key_security", "basic": "basic_authentication_security"}
    kind = kinds.get(value.get("type") if isinstance(value, dict) else None)  # type: ignore[arg-type]
    if kind is None:
        raise NotSwagger(f"{where}: only apiKey and basic security definitions are written here")
    _fill(getattr(message, kind), value, where)


def _string_array(message: Message, value: Any, _where: str) -> None:
    message.value.extend(value)  # type: ignore[attr-defined]


_SHAPES = {
    "Any": _any,
    "TypeItem": _type_item,
    "ItemsItem": _items_item,
    "AdditionalPropertiesItem": _additional_properties,
    "ParametersItem": _ref_or("parameter"),
    "ResponseValue": _ref_or("response"),
    "Parameter": _parameter,
    "NonBodyParameter": _non_body,
    "SchemaItem": _schema_item,
    "SecurityDefinitionsItem": _security_item,
    "StringArray": _string_array,
}
