"""The test bed's real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager
built from source, see devtools/controlplane) and the process kubelet that runs its pods."""
