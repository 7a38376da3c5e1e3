"""transport-access: public transport accessibility for rural England.

Build multimodal networks from official open data, compute door-to-door travel times from
every neighbourhood (LSOA) to schools, colleges, GP surgeries and jobs, summarise them by
deprivation, and score community transport scenarios.

Importing the package is cheap: it never touches the network, never starts a JVM and never
compiles numba kernels. Submodules are imported on first use.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
