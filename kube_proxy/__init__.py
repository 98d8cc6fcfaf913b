"""kube-proxy: Services and Endpoints from the apiserver -> the node's data plane.

servicemap          Service/Endpoints objects -> proxy table (service ports with their ready endpoints)
rules               proxy table -> iptables-restore input (pure; chains named as kube-proxy names them)
iptables            runs iptables-restore/-save, jump rules, cleanup
netif               guard device and routes for the service CIDR and LB pool, userspace addresses
iptables_proxier    iptables mode (the default)
userspace           userspace mode: asyncio TCP proxy, round robin
syncrunner          at most one sync per min-sync-period, at least one per sync-period
server              informers -> sync runner -> proxier; /healthz and /metrics
"""
