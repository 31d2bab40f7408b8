"""Classification helpers shared by the CLI and the benchmark."""
