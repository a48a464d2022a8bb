"""simstudy: the library behind a reproducible, parallel, seeded simulation study.

The Snakemake workflow at the repository root calls into these modules; every function
here is pure in the sense that it takes data or paths and never touches Snakemake.
"""

__version__ = "0.1.0"
