"""Health check of a compose service: `probe.py URL` exits 0 when GET URL answers 2xx within 3 s.

HTTPS is checked against the cluster CA when /pki/ca.crt exists (else unverified: the probe asks only "is it up").
"""

import os
import ssl
import sys
import urllib.request

url = sys.argv[1]
ca = "/pki/ca.crt"
ctx = ssl.create_default_context(cafile=ca) if os.path.exists(ca) else ssl._create_unverified_context()
try:
    with urllib.request.urlopen(url, timeout=3, context=ctx if url.startswith("https") else None) as resp:
        sys.exit(0 if 200 <= resp.status < 300 else 1)
except Exception as exc:
    print(f"{url}: {exc}", file=sys.stderr)
    sys.exit(1)
