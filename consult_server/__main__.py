import sys

from consult_server.cli import main

sys.exit(main())
