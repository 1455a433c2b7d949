import os

# Qt tests run without a display; set before any Qt import.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# The tests read English text whatever the machine's locale (the CLI follows LANGUAGE
# first, as gettext does, and so do the CLI processes a test starts); a test of another
# language installs it, or sets LANGUAGE for its process, itself.
os.environ["LANGUAGE"] = "en"

# The engine sets XLA's CPU flags before JAX starts; a test module that imports jax first
# would otherwise run (and time) without them.
import cnnviz.engine  # noqa: E402, F401
