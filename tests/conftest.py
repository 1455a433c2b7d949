import os

# Qt tests run without a display; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# The engine sets XLA's CPU flags before JAX starts; a test module that imports jax first
# would otherwise run (and time) without them.
import cnnviz.engine  # noqa: E402, F401
