"""`python -m server.cli …`: the same as the `livethread` command."""

import sys

from server.cli.parser import main

sys.exit(main())
