"""Decoding Kubernetes protobuf request bodies: bodies captured from kubectl 1.32 and hand-built ones."""

from __future__ import annotations

import base64

import pytest

from apimachinery.errors import StatusError
from apiserver import protobuf_schema
from apiserver.protobuf import decode

# ---- a tiny encoder, enough to build test messages ---------------------------------------------------------------


def varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative numbers as 64-bit two's complement, as Go writes int32/int64
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def num(field: int, value: int) -> bytes:
    return varint(field << 3) + varint(value)


def msg(field: int, *parts: bytes | str) -> bytes:
    """A length-delimited field: a string, raw bytes, or a nested message made of `parts`."""
    payload = b"".join(p.encode() if isinstance(p, str) else p for p in parts)
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def entry(field: int, key: str, value: bytes | str) -> bytes:
    """One map entry (key=1, value=2)."""
    return msg(field, msg(1, key), msg(2, value))


def envelope(api_version: str, kind: str, raw: bytes) -> bytes:
    return b"k8s\x00" + msg(1, msg(1, api_version), msg(2, kind)) + msg(2, raw) + msg(3, "") + msg(4, "")


def hexlines(*lines: str) -> bytes:
    return bytes.fromhex("".join(lines))


# ---- bodies captured from `kubectl create ...` (kubectl 1.32.4) ------------------------------------------------

# kubectl -n z create deployment d3 --image=kubelite/busybox:1 --replicas=2 --port=80
DEPLOYMENT = hexlines(
    "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412c4010a1e0a02643312001a017a22002a003200380042",
    "005a090a03617070120264331293010802120b0a090a03617070120264331a7a0a1b0a0012001a0022002a00320038004200",
    "5a090a0361707012026433125b123d0a0762757379626f7812126b7562656c6974652f62757379626f783a312a00320a0a00",
    "1000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a01",
    "00c2010022020a00280038001a0c0800100018002000280038001a002200",
)

# kubectl -n z create secret generic s --from-literal=k=v --type=Opaque
SECRET = hexlines(
    "6b3873000a0c0a027631120653656372657412240a120a017312001a017a22002a0032003800420012060a016b1201761a06",
    "4f70617175651a002200",
)

# kubectl -n z create configmap bin --from-file=bin.dat (64 random bytes) --from-file=t.txt
CONFIGMAP = hexlines(
    "6b3873000a0f0a0276311209436f6e6669674d617012720a140a0362696e12001a017a22002a00320038004200120d0a0574",
    "2e7478741204783d310a1a4b0a0762696e2e646174124002944e33c04a5fc04a4bdb7cd8912184623b70e162b7e64c4af01f",
    "515ac388ece192c7f21900115804bc52db997d61ed91599661edafff4301ae82fabb9a5fa51a002200",
)


def test_captured_deployment_decodes_as_kubectl_131_sends_it_in_json() -> None:
    # The JSON body kubectl 1.31 sends for the same command, apiVersion/kind aside.
    assert decode(DEPLOYMENT) == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d3", "namespace": "z", "creationTimestamp": None, "labels": {"app": "d3"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "d3"}},
            "template": {
                "metadata": {"creationTimestamp": None, "labels": {"app": "d3"}},
                "spec": {
                    "containers": [
                        {
                            "name": "busybox",
                            "image": "kubelite/busybox:1",
                            "ports": [{"containerPort": 80}],
                            "resources": {},
                        }
                    ]
                },
            },
            "strategy": {},
        },
        "status": {},
    }


def test_captured_secret_data_is_base64_as_in_json() -> None:
    obj = decode(SECRET)
    assert obj == {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "s", "namespace": "z", "creationTimestamp": None},
        "data": {"k": "dg=="},
        "type": "Opaque",
    }
    assert base64.b64decode(obj["data"]["k"]) == b"v"


def test_captured_configmap_binary_data() -> None:
    obj = decode(CONFIGMAP)
    assert obj["data"] == {"t.txt": "x=1\n"}
    raw = base64.b64decode(obj["binaryData"]["bin.dat"])
    assert len(raw) == 64 and raw.startswith(bytes.fromhex("02944e33"))


# ---- hand-built messages ---------------------------------------------------------------------------------------


def test_pod_fields_defaults_and_well_known_types() -> None:
    meta = msg(1, msg(1, "p"), msg(2, ""), num(7, 0), msg(8, num(1, 1700000000)), entry(12, "a", "b"))
    container = msg(
        2,
        msg(1, "app"),
        msg(2, "img:1"),
        msg(3, "sh"),
        msg(3, "-c"),
        msg(8, entry(1, "cpu", msg(1, "500m")), entry(2, "memory", msg(1, "64Mi"))),
        msg(11, msg(1, msg(2, msg(1, "/healthz"), msg(2, num(1, 1), msg(3, "http")))), num(2, 0), num(4, 5)),
        msg(10, msg(1, msg(3, msg(1, num(1, 0), num(2, 8080))))),  # livenessProbe.tcpSocket.port = 8080
        num(16, 0),  # stdin=false: a non-pointer bool, omitted
        msg(15, num(4, 0), num(5, 0)),  # securityContext runAsUser=0, runAsNonRoot=false: pointers, kept
    )
    volume = msg(1, msg(1, "cfg"), msg(2, msg(19, msg(1, msg(1, "settings")), num(3, 420))))
    spec = msg(
        2,
        volume,
        container,
        num(4, 0),  # terminationGracePeriodSeconds=0 (pointer): kept
        msg(6, ""),  # dnsPolicy="": dropped
        num(11, 0),  # hostNetwork=false: dropped
        num(25, -5),  # priority, negative (10-byte varint)
        msg(22, msg(1, "k"), msg(2, "Exists"), msg(4, "NoExecute"), num(5, 30)),
    )
    obj = decode(envelope("v1", "Pod", meta + spec + msg(3)))
    assert obj == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "creationTimestamp": "2023-11-14T22:13:20Z", "annotations": {"a": "b"}},
        "spec": {
            "volumes": [{"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}}],
            "containers": [
                {
                    "name": "app",
                    "image": "img:1",
                    "command": ["sh", "-c"],
                    "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 5},
                    "livenessProbe": {"tcpSocket": {"port": 8080}},
                    "securityContext": {"runAsUser": 0, "runAsNonRoot": False},
                }
            ],
            "terminationGracePeriodSeconds": 0,
            "priority": -5,
            "tolerations": [
                {"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}
            ],
        },
        "status": {},
    }


def test_deployment_zero_replicas_and_rolling_update() -> None:
    rolling = msg(2, msg(1, num(1, 1), msg(3, "25%")), msg(2, num(1, 0), num(2, 1)))
    spec = msg(2, num(1, 0), msg(4, msg(1, "RollingUpdate"), rolling), num(6, 10), num(7, 0))
    obj = decode(envelope("apps/v1", "Deployment", msg(1, msg(1, "d")) + spec))
    assert obj["spec"] == {
        "replicas": 0,
        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": 1}},
        "revisionHistoryLimit": 10,
    }


def test_lease_micro_time_and_pointer_zero() -> None:
    spec = msg(2, msg(1, "me"), num(2, 15), msg(4, num(1, 1700000000), num(2, 123456789)), num(5, 0))
    obj = decode(envelope("coordination.k8s.io/v1", "Lease", msg(1, msg(1, "l")) + spec))
    assert obj["spec"] == {
        "holderIdentity": "me",
        "leaseDurationSeconds": 15,
        "renewTime": "2023-11-14T22:13:20.123456Z",
        "leaseTransitions": 0,
    }


def test_packed_repeated_ints_and_owner_references() -> None:
    packed = msg(4, varint(1000) + varint(2000))
    spec = msg(2, msg(2, msg(1, "c")), msg(14, packed, num(4, 3000)))
    owner = msg(13, msg(1, "ReplicaSet"), msg(3, "rs"), msg(4, "u-1"), msg(5, "apps/v1"), num(6, 1))
    obj = decode(envelope("v1", "Pod", msg(1, msg(1, "p"), owner) + spec))
    assert obj["spec"]["securityContext"] == {"supplementalGroups": [1000, 2000, 3000]}
    assert obj["metadata"]["ownerReferences"] == [
        {"kind": "ReplicaSet", "name": "rs", "uid": "u-1", "apiVersion": "apps/v1", "controller": True}
    ]


def test_unknown_fields_of_every_wire_type_are_skipped() -> None:
    fixed64 = varint(90 << 3 | 1) + (7).to_bytes(8, "little")
    fixed32 = varint(91 << 3 | 5) + (7).to_bytes(4, "little")
    meta = msg(1, msg(1, "n"), num(99, 5), msg(98, "future"), fixed64, fixed32)
    body = envelope("v1", "Namespace", meta + msg(77, msg(1, "x")) + msg(2, msg(1, "kubernetes")))
    assert decode(body) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "n"},
        "spec": {"finalizers": ["kubernetes"]},
    }


def test_service_and_managed_fields_json() -> None:
    managed = msg(
        17, msg(1, "kubectl"), msg(2, "Update"), msg(6, "FieldsV1"), msg(7, msg(1, '{"f:data":{}}'))
    )
    port = msg(1, msg(1, "web"), msg(2, "TCP"), num(3, 80), msg(4, num(1, 0), num(2, 8080)), num(5, 0))
    spec = msg(2, port, entry(2, "app", "web"), msg(4, "NodePort"), num(20, 0))
    obj = decode(envelope("v1", "Service", msg(1, msg(1, "s"), managed) + spec))
    assert obj["metadata"]["managedFields"] == [
        {"manager": "kubectl", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {}}}
    ]
    assert obj["spec"] == {
        "ports": [{"name": "web", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        "selector": {"app": "web"},
        "type": "NodePort",
        "allocateLoadBalancerNodePorts": False,
    }


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b'{"kind":"Namespace"}',
        b"k8s\x00\x0a\x05\x0a\x02",  # a length past the end
        b"k8s\x00\x0a",  # a truncated key
        b"k8s\x00" + b"\xff" * 11,  # a varint longer than 10 bytes
        b"k8s\x00\x0b",  # wire type 3 (groups) is not supported
        envelope("v1", "ConfigMap", msg(2, msg(1, b"\xff\xfe"))),  # a map key that is not UTF-8
        envelope("v1", "ConfigMap", msg(1, num(1, 5))),  # a number where a string belongs
    ],
)
def test_malformed_bodies_are_bad_requests(body: bytes) -> None:
    with pytest.raises(StatusError) as caught:
        decode(body)
    assert caught.value.code == 400
    assert caught.value.status()["reason"] == "BadRequest"


def test_content_encoding_is_refused() -> None:
    body = b"k8s\x00" + msg(1, msg(1, "v1"), msg(2, "Namespace")) + msg(2, b"") + msg(3, "gzip")
    with pytest.raises(StatusError) as caught:
        decode(body)
    assert caught.value.code == 400


def test_unknown_kind_is_unsupported() -> None:
    with pytest.raises(StatusError) as caught:
        decode(envelope("example.com/v1", "Widget", msg(1, msg(1, "j"))))
    assert caught.value.code == 415


def test_schema_table_is_consistent() -> None:
    assert protobuf_schema.check() == []
