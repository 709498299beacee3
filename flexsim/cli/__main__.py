"""`python -m flexsim.cli`: the `flexsim` command."""

import sys

from flexsim.cli.app import main

sys.exit(main())
