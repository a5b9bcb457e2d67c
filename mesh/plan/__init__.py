"""The offline plan (``python -m mesh.plan STACK``, :mod:`mesh.plan.cli`): evaluates the real program under
Pulumi's mock runtime (:mod:`mesh.plan.harness`) with deterministic placeholders
(:mod:`mesh.plan.placeholders`), renders the real Cilium chart (:mod:`mesh.plan.render`), and builds
synthetic N-cluster stacks (:mod:`mesh.plan.synthetic`).

May import: :mod:`mesh.logic`, the Pulumi SDK's runtime, helm-python-sdk. It never imports
:mod:`mesh.components` directly: it runs ``__main__.py`` like the Pulumi CLI would.

Importing it installs :mod:`mesh.plan.sdk_imports` (the generated SDKs compiled with postponed annotations)
before anything imports them; ``pulumi up`` never imports this package.
"""

from mesh.plan import sdk_imports

sdk_imports.install()
