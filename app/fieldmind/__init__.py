"""Fieldmind: answers from your manuals, with the page they came from, on your own machine.

Importing this package is cheap on purpose: the model runtime, the embedder and the vector store are
imported only where they are used, so the terminal app paints before any of them load.
"""

__version__ = "0.1.0"
