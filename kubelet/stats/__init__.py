"""Node, pod and container resource usage (cgroups, /proc), collected on an interval for the kubelet API."""
