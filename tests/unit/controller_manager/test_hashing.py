from controller_manager.hashing import HASH_LABEL, compute_hash, safe_encode, templates_equal


def template(image="nginx:1"):
    return {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": image}]}}


def test_hash_is_stable_and_safe():
    h = compute_hash(template())
    assert h == compute_hash(template())
    assert set(h) <= set("bcdfghjklmnpqrstvwxz2456789")
    assert 1 <= len(h) <= 10


def test_hash_ignores_key_order_and_hash_label():
    t = template()
    reordered = {"spec": t["spec"], "metadata": {"labels": {"app": "web"}}}
    labelled = template()
    labelled["metadata"]["labels"][HASH_LABEL] = "abc"
    assert compute_hash(t) == compute_hash(reordered) == compute_hash(labelled)


def test_hash_changes_with_template_and_collision_count():
    assert compute_hash(template("a")) != compute_hash(template("b"))
    assert compute_hash(template(), 1) != compute_hash(template())


def test_safe_encode_matches_kubernetes_alphabet():
    # Kubernetes: alphanums[int(b) % len(alphanums)]; '0' is byte 48 -> 48 % 27 = 21 -> '4'
    assert safe_encode("0") == "4"
    assert safe_encode("9") == "f"


def test_templates_equal_ignores_hash_label():
    a, b = template(), template()
    b["metadata"]["labels"][HASH_LABEL] = "xyz"
    assert templates_equal(a, b)
    assert not templates_equal(a, template("other"))
