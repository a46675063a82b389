"""Remember recently validated kubeconfigs: agents send the same one with every request.

Keyed by the SHA-256 of the encoded text, so a hit is exactly the same input under the same
`KubeconfigPolicy` (fixed for the life of a server); only successful loads are kept, so a refused
kubeconfig is checked again every time. Bounded: at most `size` entries stay in memory.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from k8s_mcp_server.kubeconfig.loader import load_kubeconfig
from k8s_mcp_server.kubeconfig.model import Kubeconfig, KubeconfigPolicy


class KubeconfigCache:
    def __init__(self, policy: KubeconfigPolicy, *, size: int = 64) -> None:
        self.policy = policy
        self._size = size
        self._entries: OrderedDict[bytes, Kubeconfig] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, encoded: str) -> Kubeconfig:
        """`load_kubeconfig(encoded, policy)`, answered from memory for a recently seen input."""
        key = hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            hit = self._entries.get(key)
            if hit is not None:
                self._entries.move_to_end(key)
                return hit
        loaded = load_kubeconfig(encoded, self.policy)
        with self._lock:
            self._entries[key] = loaded
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return loaded
