"""``python -m accelsim.export …`` = ``accelsim export …``."""

import sys

from accelsim.export.export import export_main

sys.exit(export_main())
