"""Test protocols: pinned TOML files and their loader (imported as `stfbench.protocols`)."""
