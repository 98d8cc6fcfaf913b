from kubelet.runtime.docker import container_info, split_image_ref


def test_container_info_from_inspect_body() -> None:
    attrs = {
        "Id": "abc",
        "Name": "/k8s_c_p_ns_uid_2",
        "Created": "2026-01-01T00:00:00.5Z",
        "Image": "sha256:img",
        "State": {"Status": "exited", "ExitCode": 137, "Pid": 0, "OOMKilled": True,
                  "StartedAt": "2026-01-01T00:00:01.250000000Z", "FinishedAt": "2026-01-01T00:00:03.75Z"},
        "Config": {"Image": "busybox", "Labels": {"io.kubelite.container.restart-count": "2",
                                                  "io.kubelite.container.name": "c"}, "Env": ["A=1"]},
        "NetworkSettings": {"Networks": {"n": {"IPAddress": "10.244.1.9"}}},
    }  # fmt: skip
    info = container_info(attrs)
    assert info.name == "k8s_c_p_ns_uid_2" and info.exited and not info.running
    assert (
        info.restart_count == 2 and info.container_name == "c" and info.oom_killed and info.exit_code == 137
    )
    assert info.started_at == "2026-01-01T00:00:01Z" and info.finished_at == "2026-01-01T00:00:03Z"
    assert info.finished_epoch - info.started_epoch == 2.5
    assert info.ip_address == "10.244.1.9"
    never = container_info({"Id": "x", "State": {"Status": "created", "StartedAt": "0001-01-01T00:00:00Z"}})
    assert never.started_at is None and never.started_epoch == 0.0 and never.status == "created"


def test_split_image_ref() -> None:
    assert split_image_ref("busybox") == ("busybox", "latest")
    assert split_image_ref("kubelite/busybox:1") == ("kubelite/busybox", "1")
    assert split_image_ref("localhost:5000/app") == ("localhost:5000/app", "latest")
    assert split_image_ref("localhost:5000/app:v2") == ("localhost:5000/app", "v2")
    assert split_image_ref("app@sha256:00") == ("app@sha256:00", "")
