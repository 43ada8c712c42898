"""stfbench: benchmark and evaluation toolkit for audio-driven talking-face generation."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("stfbench")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
