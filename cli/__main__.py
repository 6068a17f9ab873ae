"""`python -m cli`: the hybrid command (what torchrun starts for `--nproc`)."""

from cli.main import main

main()
