"""``python -m codelens.server``: the detached background server (``codelens.server.daemon.main``)."""

import sys

from codelens.server.daemon import main

sys.exit(main())
