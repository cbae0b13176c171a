"""`python -m bot` is the `canhgac` command."""

import sys

from bot.cli import main

sys.exit(main())
