// LatticeManifests: every Kubernetes object the control plane needs, rendered from install values
// (`lattice install`), kept identical to `charts/lattice-control-plane`. Layer 0: pure, no NIO.
