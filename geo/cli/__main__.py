"""``python -m geo.cli``: the same as the ``yizhan`` command."""

import sys

from geo.cli.commands import main

sys.exit(main())
