"""Pure network logic: subnet planning and overlaps (:mod:`.cidr`), the mesh security table (:mod:`.rules`).

May import: the standard library only. Never Pulumi.
"""
