import pytest

from controller_manager import revisions
from controller_manager.hashing import HASH_LABEL
from tests.unit.controller_manager.factories import deployment, rs


def with_template(r, image, hash_="h"):
    r["spec"]["template"] = {
        "metadata": {"labels": {"app": "web", HASH_LABEL: hash_}},
        "spec": {"containers": [{"name": "c", "image": image}]},
    }
    return r


def test_new_rs_object_names_labels_and_owns():
    d = deployment(3)
    new = revisions.new_rs_object(d, "abc12", 1, 4)
    assert new["metadata"]["name"] == "web-abc12"
    assert new["spec"]["template"]["metadata"]["labels"] == {"app": "web", HASH_LABEL: "abc12"}
    assert new["spec"]["selector"]["matchLabels"] == {"app": "web", HASH_LABEL: "abc12"}
    assert new["metadata"]["annotations"][revisions.REVISION] == "4"
    ref = new["metadata"]["ownerReferences"][0]
    assert ref["controller"] and ref["blockOwnerDeletion"] and ref["uid"] == "d-uid"
    assert (
        "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]
    )  # the deployment is not changed


def test_reused_rs_gets_next_revision_and_history():
    d = deployment(3)
    ann = {revisions.REVISION: "1"}
    assert revisions.new_rs_annotations(d, ann, 3, exists=True)
    assert ann[revisions.REVISION] == "3" and ann[revisions.REVISION_HISTORY] == "1"
    assert revisions.new_rs_annotations(d, ann, 5, exists=True)
    assert ann[revisions.REVISION_HISTORY] == "1,3"
    assert not revisions.new_rs_annotations(d, ann, 5, exists=True)


def test_deployment_annotations_are_copied_except_bookkeeping():
    d = deployment(3)
    d["metadata"]["annotations"] = {"team": "a", revisions.LAST_APPLIED: "{}", revisions.REVISION: "9"}
    ann: dict[str, str] = {}
    revisions.new_rs_annotations(d, ann, 1, exists=True)
    assert ann == {"team": "a", revisions.REVISION: "1"}


def test_find_new_rs_ignores_hash_label():
    d = deployment(3)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    a, b = with_template(rs("a", 1), "v1"), with_template(rs("b", 1), "v2")
    assert revisions.find_new_rs(d, [a, b]) is b


def test_history_to_delete_keeps_limit_and_skips_busy():
    d = deployment(3, revisionHistoryLimit=1)
    old = [rs("r1", 0, revision=1), rs("r2", 1, revision=2), rs("r3", 0, revision=3), rs("r4", 0, revision=4)]
    # 4 old, limit 1: the 3 lowest revisions are candidates, r2 still has a replica
    assert [r["metadata"]["name"] for r in revisions.history_to_delete(d, old)] == ["r1", "r3"]


def test_rollback_patch_restores_previous_template():
    d = deployment(3)
    d["spec"]["template"]["spec"]["containers"][0]["image"] = "v2"
    d["metadata"]["annotations"] = {revisions.REVISION: "2"}
    r1 = with_template(rs("r1", 0, revision=1), "v1")
    r2 = with_template(rs("r2", 3, revision=2), "v2")
    patch = revisions.rollback_patch(d, [r1, r2])
    assert patch[0]["path"] == "/spec/template"
    assert patch[0]["value"]["spec"]["containers"][0]["image"] == "v1"
    assert HASH_LABEL not in patch[0]["value"]["metadata"]["labels"]
    assert patch[1]["value"] == {revisions.REVISION: "2"}
    # already at revision 2's template: nothing to do
    assert revisions.rollback_patch(d, [r1, r2], to_revision=2) is None
    with pytest.raises(revisions.RollbackError):
        revisions.rollback_patch(d, [r1, r2], to_revision=7)
