"""The aggregation layer (kube-aggregator inside kube-apiserver): an apiregistration.k8s.io/v1 APIService with a
`spec.service` hands its group and version to another server, and this apiserver proxies every request for them
there, after it has authenticated and authorized the user itself.

    registry.py   which APIServices are registered, the groups they add to discovery
    resolve.py    APIService -> Service -> EndpointSlice -> an address, and the TLS to reach it
    proxy.py      the request, forwarded with the front-proxy client certificate and X-Remote-* headers
    available.py  the availability check that keeps each APIService's Available condition
"""
