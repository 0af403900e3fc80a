import sys

from leaky_app.cli import main

sys.exit(main())
