"""cilium-mesh: VPCs, peering, EKS, the CNI takeover, Cilium and the Cluster Mesh, in one `pulumi up`.

Reads and validates the stack config once, builds the mesh (:mod:`mesh.components.program`), exports
the outputs. Nothing else lives here.
"""

from __future__ import annotations

import pulumi

from mesh.components.live_checks import check_live
from mesh.components.program import build_mesh, check_transition, export_outputs, load_config
from mesh.logic.config import ConfigError

try:
    cfg = load_config()
except ConfigError as err:
    # A clean error under `pulumi up/preview`, every problem listed, before any resource exists.
    raise pulumi.RunError(str(err)) from None

# In a real run, asks AWS and the host what only they know (zones, offerings, account, aws CLI): RunError.
check_live(cfg)

# Refuses unsafe changes against what is deployed (RunError) before any resource is registered.
transition = check_transition(cfg)
export_outputs(cfg, build_mesh(cfg, transition))
