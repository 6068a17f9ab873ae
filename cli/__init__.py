"""The `hybrid` command-line application (Click), a thin layer over the hybrid library."""
