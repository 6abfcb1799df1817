"""Entry script for the bundled `workbench` command (installer/workbench.spec).

In a source checkout the command comes from ``[project.scripts]`` in
pyproject.toml; in the PyInstaller bundle it is this script, built as a second,
console executable next to the app.
"""

import sys

from workbench.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
