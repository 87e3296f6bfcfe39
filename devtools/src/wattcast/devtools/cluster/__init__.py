"""The test bed's cluster: a real control plane and the process kubelet (dev-only)."""
