"""Exports: a trained network as files other tools read (npz, safetensors, ONNX) and as
standalone PyTorch / Keras / JAX scripts, with a manifest, samples and a README.

One module per format; `bundle` puts the chosen ones together and writes them.
"""

from cnnviz.io.export.bundle import FORMATS, ExportError, export_files, export_model
from cnnviz.io.export.manifest import Trained

__all__ = ["FORMATS", "ExportError", "Trained", "export_files", "export_model"]
