"""kube-netpol: the network policy agent, one per node (one per network namespace, like kube-proxy).

It reads NetworkPolicies, Pods and Namespaces from the apiserver and programs this node's filter table so that the
pods on this node send and receive only what the policies selecting them allow (kube-router's firewall design:
a chain per isolated pod and per policy, ipsets of the peers' addresses).

    policy      a NetworkPolicy object -> a typed policy, every value validated again (bad entries skipped)
    selection   pods and namespaces -> who a policy selects, its peers' addresses, named ports per pod
    plan        policies + pods + namespaces -> the chains, rules and sets this node needs (pure)
    rules       a plan -> `iptables-restore` and `ipset restore` input; names by hashing (pure)
    iptables    running iptables-restore, reading the FORWARD chain, cleanup
    ipset       running ipset restore, listing and destroying our sets
    dataplane   applies plans: one ipset restore and one iptables-restore per sync, only what changed
    agent       informers -> one rate-limited sync -> data plane; Events for skipped entries; /healthz, /metrics
"""
