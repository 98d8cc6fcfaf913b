"""kube-dns: the cluster's DNS server (`kube-dns`, `python -m kube_dns`).

    records     the cluster.local zone, read from the informer caches: what a name is (pure, no I/O)
    server      asyncio UDP and TCP listeners: wire format in, answer or forward, wire format out
    forward     names outside the cluster to the resolvers of the node's resolv.conf
    publish     the kube-dns Service and its EndpointSlice/Endpoints, kept by this process
    metrics     CoreDNS-named Prometheus metrics

The package is `kube_dns`, not `dns`: `dns` is dnspython's own top-level package, which this one uses.
"""

import dns._features

# kube-dns asks upstream servers over UDP and TCP only. Left on, importing dnspython's query modules brings its
# DNS-over-HTTPS client (httpx2, httpcore2: ~2.5 MiB of kube-dns's memory, bench/idle_memory.py).
dns._features.force("doh", False)
