// Placeholder replaced by the Kubernetes discovery backend (issue 4).
