"""saferboard: analysis and reporting for Community Safety Partnerships.

Layers, each importing only those below it (pyproject.toml's import-linter contracts,
docs/architecture.md): core < store < sources < measures < present < report < web < cli.
"""

__version__ = "0.1.0"
