"""metrics-server: scrapes every kubelet's /metrics/resource and serves metrics.k8s.io/v1beta1 (NodeMetrics,
PodMetrics) to the apiserver's aggregation layer, as kubernetes-sigs/metrics-server does.

    scrape.py    the kubelets' resource metrics: one HTTPS scrape per node, parsed into samples
    storage.py   the last two samples of every node and container; CPU as the rate between them
    api.py       the metrics.k8s.io/v1beta1 endpoints, behind auth.py
    auth.py      who is asking (requestheader, from the apiserver's front-proxy certificate only) and whether they
                 may (a SubjectAccessReview)
    publish.py   the kube-system/metrics-server Service and its EndpointSlice, kept by this process
"""
