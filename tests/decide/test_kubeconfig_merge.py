from terway_stack.decide.kubeconfig_merge import kubeconfig_paths, merge_kubeconfigs


def doc(current=None, clusters=(), users=(), contexts=()):
    d = {"clusters": [{"name": n, "cluster": {"server": s}} for n, s in clusters],
         "users": [{"name": n, "user": {"token": t}} for n, t in users],
         "contexts": [{"name": n, "context": {"cluster": c, "user": u}} for n, c, u in contexts]}
    if current is not None:
        d["current-context"] = current
    return d


def test_first_definition_of_each_name_wins_and_current_context_comes_from_the_first_file_that_sets_it():
    first = doc(None, clusters=[("ack-prod", "https://prod-1")], users=[("admin", "t1")],
                contexts=[("prod", "ack-prod", "admin")])
    second = doc("staging", clusters=[("ack-prod", "https://prod-2"), ("ack-staging", "https://stg")],
                 users=[("admin", "t2")], contexts=[("staging", "ack-staging", "admin")])
    third = doc("prod")
    merged = merge_kubeconfigs([("/a/one", first), ("/b/two", second), ("/c/three", third)])
    assert merged["current-context"] == "staging"  # the first file sets none
    assert [(c["name"], c["cluster"]["server"]) for c in merged["clusters"]] == [("ack-prod", "https://prod-1"), ("ack-staging", "https://stg")]
    assert [(u["name"], u["user"]["token"]) for u in merged["users"]] == [("admin", "t1")]
    assert [c["name"] for c in merged["contexts"]] == ["prod", "staging"]


def test_relative_file_paths_are_relative_to_their_own_file():
    one = {"clusters": [{"name": "c", "cluster": {"server": "s", "certificate-authority": "pki/ca.crt"}}],
           "users": [{"name": "u", "user": {"client-key": "/abs/key.pem", "client-certificate": "u.crt", "tokenFile": "tok"}}]}
    merged = merge_kubeconfigs([("/home/me/.kube/one", one)])
    assert merged["clusters"][0]["cluster"]["certificate-authority"] == "/home/me/.kube/pki/ca.crt"
    user = merged["users"][0]["user"]
    assert user == {"client-key": "/abs/key.pem", "client-certificate": "/home/me/.kube/u.crt", "tokenFile": "/home/me/.kube/tok"}


def test_the_kubeconfig_list_drops_empty_entries_and_repeats():
    assert kubeconfig_paths("/a::/b:/a:", ":") == ["/a", "/b"]
    assert kubeconfig_paths("", ":") == []
