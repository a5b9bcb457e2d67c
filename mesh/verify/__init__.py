"""``python -m mesh.verify STACK`` (:mod:`mesh.verify.cli`): checks that a deployed mesh works.

:mod:`mesh.verify.checks` holds pure verdicts over fetched objects; :mod:`mesh.verify.sources` reads stack
outputs and talks to clusters through the official kubernetes client, behind one protocol so tests use a
fake. May import: :mod:`mesh.logic`, the kubernetes client. Never Pulumi.
"""
